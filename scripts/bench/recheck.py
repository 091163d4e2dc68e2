"""The exact re-check per candidate, split: a route whose walk is kept vs a fresh walk.

    .venv/bin/python scripts/bench/recheck.py [--pools 10000] [--blocks 60] [--changed 0.05]
        [--old /tmp/old]

Runs `ArbitrageSearch.on_block` on `tests.support.synthetic_market` moved by `MarketMover`
(the search benchmark's markets and blocks) and, for every candidate the search re-checks,
times `ArbitrageSearch._recheck` again twice: with the cycle's kept walks (what a
re-check of an unchanged route costs: reserves, gas and quote conversion, the
Opportunity) and with them dropped (a fresh walk from every start). Each is the least
CPU time of this thread over 5 repeats, so the neighbours on a shared machine add less.
`--old TREE` runs the same on another checkout's engine first (`git archive <ref> engine
tests | tar -x -C TREE`), in its own process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

_TREE = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--tree=")), None)
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
if _TREE:
    sys.path.insert(0, _TREE)

from engine.market.model import Block  # noqa: E402
from engine.strategy.search import ArbitrageSearch, SearchConfig  # noqa: E402
from tests.support.synthetic_market import MarketMover, synthetic_market  # noqa: E402

GAS_PRICE = 20 * 10**9
REPEATS = 5


def measure(pools: int, blocks: int, changed: float) -> dict[str, list[float]]:
    market = synthetic_market(pools)
    bases = tuple(t.address for t in market.tokens.values() if t.address.startswith("0xb"))
    search = ArbitrageSearch(market, SearchConfig(base_tokens=bases))
    mover = MarketMover(market, seed=pools)
    kept: list[float] = []
    fresh: list[float] = []
    recheck = search._recheck

    def timed(*args: object) -> object:
        found = recheck(*args)  # type: ignore[arg-type]
        best_kept = best_fresh = float("inf")
        for _ in range(REPEATS):
            start = time.thread_time()
            recheck(*args)  # type: ignore[arg-type]
            best_kept = min(best_kept, time.thread_time() - start)
            search._walks.clear()
            start = time.thread_time()
            recheck(*args)  # type: ignore[arg-type]
            best_fresh = min(best_fresh, time.thread_time() - start)
        kept.append(best_kept)
        fresh.append(best_fresh)
        return found

    search._recheck = timed  # type: ignore[method-assign]
    for number in range(blocks):
        block = Block(number=number, timestamp=float(number), base_fee=GAS_PRICE)
        search.on_block(block, mover.move(changed), GAS_PRICE)
    return {"kept": kept, "fresh": fresh}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def row(values: list[float]) -> str:
    p50, p90, p99 = (pct(values, q) * 1e6 for q in (0.5, 0.9, 0.99))
    return f"{p50:.2f} / {p90:.1f} / {p99:.0f} (mean {statistics.fmean(values) * 1e6:.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=int, default=10000)
    parser.add_argument("--blocks", type=int, default=60)
    parser.add_argument("--changed", type=float, default=0.05)
    parser.add_argument("--old", help="another checkout's tree, run first")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.pools, args.blocks, args.changed)))
        return
    from scripts.bench.search import machine

    print(f"before: {machine()}")
    runs = [("new", [])]
    if args.old:
        runs.insert(0, ("old", [f"--tree={args.old}"]))
    command = [sys.executable, __file__, "--one", "--pools", str(args.pools)]
    command += ["--blocks", str(args.blocks), "--changed", str(args.changed)]
    results = {}
    for name, extra in runs:
        out = subprocess.run([*command, *extra], check=True, capture_output=True, text=True)
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"after:  {machine()}")
    print(
        "| code | re-checks | kept walk: CPU µs p50 / p90 / p99 "
        "| fresh walks: CPU µs p50 / p90 / p99 |"
    )
    print("|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {len(r['kept']):,} | {row(r['kept'])} | {row(r['fresh'])} |")


if __name__ == "__main__":
    main()
