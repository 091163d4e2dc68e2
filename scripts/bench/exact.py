"""Benchmark of the exact re-check: old and new `exact.walk` side by side on the same routes.

    .venv/bin/python scripts/bench/exact.py [--pools 10000] [--blocks 100] [--old b4b8bed]
        [--old-budget 64]

The routes are the ones the search really re-checks: `tests.support.synthetic_market` (the
search benchmark's markets) moved by `MarketMover` for `--blocks` blocks at each of 1 %, 5 %
and 20 % of pools changed, recording every call the search makes to `exact.walk` (route,
flash fee, cap). Each recorded call is then timed with the old walk (the module at git
revision `--old`, with the daemon's budget of that revision, `--old-budget`: 64 steps at
b4b8bed, `exact.SAFETY_STEPS` since) and the new one (the
daemon's budget now, `exact.SAFETY_STEPS`), interleaved call by call, CPU time of this
thread (the machine is shared: wall clock would measure the neighbours). Every new answer
is checked against the old walk run without a budget (a proof, only slow), and the
search's whole re-check (`ArbitrageSearch._recheck`: every start of a cycle, costs,
opportunity) is timed per candidate for the new code.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.market.model import Block
from engine.strategy import exact
from engine.strategy.search import ArbitrageSearch, SearchConfig
from tests.support.synthetic_market import MarketMover, synthetic_market

GAS_PRICE = 20 * 10**9
CHANGED = (0.01, 0.05, 0.20)
OLD_BUDGET = 64
Call = tuple[list[tuple[int, int, int]], int, int | None]


def old_module(revision: str) -> ModuleType:
    """`engine/strategy/exact.py` as it was at `revision`, imported under another name."""
    root = Path(__file__).resolve().parents[2]
    source = subprocess.run(
        ["git", "-C", str(root), "show", f"{revision}:engine/strategy/exact.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "old_exact.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_exact", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_exact"] = module
    spec.loader.exec_module(module)
    return module


def record_calls(n_pools: int, blocks: int) -> tuple[list[Call], list[float]]:
    """Every exact.walk call of the search over the blocks, and each re-check's CPU time."""
    market = synthetic_market(n_pools)
    bases = tuple(t.address for t in market.tokens.values() if t.address.startswith("0xb"))
    search = ArbitrageSearch(market, SearchConfig(base_tokens=bases))
    mover = MarketMover(market, seed=n_pools)
    calls: list[Call] = []
    recheck_cpu: list[float] = []
    walk, recheck = exact.walk, search._recheck

    def recording_walk(route: Any, fee: int, cap: int | None, steps: int | None) -> Any:
        calls.append((list(route), fee, cap))
        return walk(route, fee, cap, steps)

    def timed_recheck(*args: Any) -> Any:
        start = time.thread_time()
        result = recheck(*args)
        recheck_cpu.append(time.thread_time() - start)
        return result

    exact.walk = recording_walk  # type: ignore[assignment]
    search._recheck = timed_recheck  # type: ignore[method-assign]
    try:
        number = 0
        for fraction in CHANGED:
            for _ in range(blocks):
                changed = mover.move(fraction)
                block = Block(number=number, timestamp=float(number), base_fee=GAS_PRICE)
                search.on_block(block, changed, GAS_PRICE)
                number += 1
    finally:
        exact.walk = walk  # type: ignore[assignment]
    return calls, recheck_cpu


def time_walks(calls: list[Call], old: ModuleType, old_budget: int) -> dict[str, Any]:
    old_cpu, new_cpu, old_proven, new_steps, new_jumps = [], [], 0, [], 0
    wrong = cut_short = 0
    for route, fee, cap in calls:
        start = time.thread_time()
        before = old.walk(route, fee, cap, old_budget)
        middle = time.thread_time()
        after = exact.walk(route, fee, cap, exact.SAFETY_STEPS)
        end = time.thread_time()
        old_cpu.append(middle - start)
        new_cpu.append(end - middle)
        old_proven += before.proven
        cut_short += not after.proven
        new_steps.append(after.steps)
        new_jumps += after.jumps > 0
    missed = 0
    for route, fee, cap in calls:  # the old walk unbudgeted: slow, but a proof
        truth = old.walk(route, fee, cap)
        after = exact.walk(route, fee, cap, exact.SAFETY_STEPS)
        capped = old.walk(route, fee, cap, old_budget)
        wrong += (after.amount_in, after.profit) != (truth.amount_in, truth.profit)
        missed += capped.profit < truth.profit or capped.amount_in != truth.amount_in
    return {
        "old": old_cpu,
        "new": new_cpu,
        "old_proven": old_proven,
        "old_missed": missed,
        "new_cut_short": cut_short,
        "new_wrong": wrong,
        "new_steps": new_steps,
        "new_jumped": new_jumps,
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def us(values: list[float]) -> str:
    mean = statistics.fmean(values) * 1e6
    return f"{mean:.1f} / {pct(values, 0.5) * 1e6:.1f} / {pct(values, 0.99) * 1e6:.0f}"


def machine() -> str:
    cpu = platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(ln.split(":", 1)[1].strip() for ln in info if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{cpu}, {os.cpu_count()} cores, load average {load}; Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", default="10000", help="comma-separated market sizes")
    parser.add_argument("--blocks", type=int, default=100, help="blocks per changed fraction")
    parser.add_argument("--old", default="b4b8bed", help="git revision of the old exact.py")
    parser.add_argument("--old-budget", type=int, default=OLD_BUDGET, help="its steps per walk")
    args = parser.parse_args()
    old = old_module(args.old)
    print(f"before: {machine()}")
    rows = []
    for size in (int(s) for s in args.pools.split(",")):
        print(f"... {size:,} pools", file=sys.stderr, flush=True)
        calls, recheck_cpu = record_calls(size, args.blocks)
        r = time_walks(calls, old, args.old_budget)
        n = len(calls)
        steps = r["new_steps"]
        rows += [
            (f"{size:,} pools: walks timed (routes re-checked)", f"{n:,}", f"{n:,}"),
            ("walk CPU µs, mean / p50 / p99", us(r["old"]), us(r["new"])),
            (
                "walk CPU, total (new / old)",
                f"{sum(r['old']) * 1e3:.1f} ms",
                f"{sum(r['new']) * 1e3:.1f} ms ({sum(r['new']) / sum(r['old']):.2f}x)",
            ),
            (
                "proven optimal",
                f"{r['old_proven'] / n:.1%}",
                f"{1 - r['new_cut_short'] / n:.1%} (cut short: {r['new_cut_short']})",
            ),
            (
                "not the exact argmax (vs the unbudgeted proof)",
                f"{r['old_missed']}",
                f"{r['new_wrong']}",
            ),
            (
                "new: evaluations per walk, p50 / p99 / max; walks that jumped",
                "",
                f"{pct(steps, 0.5)} / {pct(steps, 0.99)} / {max(steps)}; {r['new_jumped']:,}",
            ),
            ("new: whole re-check per candidate CPU µs, mean / p50 / p99", "", us(recheck_cpu)),
        ]
    print(f"after:  {machine()}")
    width = max(len(r[0]) for r in rows)
    print(f"| {'metric'.ljust(width)} | old (budget {args.old_budget}) | new |")
    print(f"|{'-' * (width + 2)}|---|---|")
    for name, before, after in rows:
        print(f"| {name.ljust(width)} | {before} | {after} |")


if __name__ == "__main__":
    main()
