"""Scaling table of the per-block decision: pools x fraction changed, CPU and wall, by stage.

    .venv/bin/python scripts/bench/scale.py [--pools 10000,50000,100000] [--blocks 100]
        [--kernel numba,numpy] [--old /tmp/old]

`--old` runs the same blocks on another checkout first (as kernel "old"; its stage columns
are empty): `git archive <old-ref> engine tests | tar -x -C /tmp/old`.

Each market size and kernel runs in its own process (so its peak RSS is its own; numba
and LLVM alone add about 120 MB); the markets and blocks are seeded, so every process
sees the same blocks. Markets come from
`tests.support.synthetic_market`; a block re-draws the price of a random 1 %, 5 % or 20 % of
pools (`MarketMover`, not timed) and times `ArbitrageSearch.on_block` up to its ranked,
exactly re-checked opportunities. Times are this thread's CPU time (what the search costs,
whatever the neighbours do) and wall clock; the stage columns are medians of the search's
own `BlockStats` (CPU): refresh (take the reserve log's entries, read unlogged changed
pools), touch (de-duplicate the cycles through them), evaluate (float kernel), cand
(candidate set update), rank, recheck (exact). "write µs/pool" is the mover's CPU per
changed pool (the venue's side, not in the search's time: with the reserve log it
includes logging the floats). The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

# `--old TREE` runs the same harness on another checkout's engine (git archive of it):
# the subprocess for it puts TREE first on the path before anything of the engine loads.
_TREE = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--tree=")), None)
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
if _TREE:
    sys.path.insert(0, _TREE)

from engine.market.model import Block  # noqa: E402
from engine.strategy import kernel  # noqa: E402
from engine.strategy.search import ArbitrageSearch, SearchConfig  # noqa: E402
from tests.support.synthetic_market import MarketMover, synthetic_market  # noqa: E402

GAS_PRICE = 20 * 10**9
CHANGED = (0.01, 0.05, 0.20)
WARM_UP_BLOCKS = 30
STAGES = ("refresh_s", "touch_s", "evaluate_s", "candidates_s", "rank_s", "recheck_s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def use_kernel(name: str) -> None:
    if name == "old":
        return
    kernel._COMPILED.clear()
    kernel._COMPILED.append(None if name == "numpy" else kernel._import_compiled())
    if kernel.backend() != name:
        raise SystemExit(f"kernel {name} is not available")


def series(search: ArbitrageSearch, mover: MarketMover, fraction: float, blocks: int) -> dict:
    cpu, wall, full = [], [], 0
    stages: dict[str, list[float]] = {s: [] for s in STAGES}
    per_recheck: list[float] = []
    each: list[float] = []  # CPU of every exact re-check of a timed block
    recheck = search._recheck
    timed = [False]

    def timed_recheck(*args: object) -> object:
        start = time.thread_time()
        found = recheck(*args)  # type: ignore[arg-type]
        if timed[0]:
            each.append(time.thread_time() - start)
        return found

    search._recheck = timed_recheck  # type: ignore[method-assign]
    touched: list[int] = []
    writes: list[float] = []  # CPU per pool of the venue's writes (the mover's), not in cpu
    for number in range(WARM_UP_BLOCKS + blocks):
        c = time.thread_time()
        changed = mover.move(fraction)
        writes.append((time.thread_time() - c) / max(1, len(changed)))
        block = Block(number=number, timestamp=float(number), base_fee=GAS_PRICE)
        timed[0] = number >= WARM_UP_BLOCKS
        w, c = time.perf_counter(), time.thread_time()
        search.on_block(block, changed, GAS_PRICE)
        c, w = time.thread_time() - c, time.perf_counter() - w
        if number < WARM_UP_BLOCKS:
            continue
        cpu.append(c)
        wall.append(w)
        stats = getattr(search, "stats", None)  # absent in the old code
        if stats is None:
            continue
        full += stats.full_pass
        touched.append(stats.touched_cycles)
        for stage in STAGES:
            stages[stage].append(getattr(stats, stage))
        if stats.rechecks:
            per_recheck.append(stats.recheck_s / stats.rechecks)
    del search._recheck
    return {
        "each_recheck_p50": statistics.median(each) if each else 0.0,
        "each_recheck_p99": percentile(each, 0.99) if each else 0.0,
        "cpu_p50": statistics.median(cpu),
        "cpu_p99": percentile(cpu, 0.99),
        "wall_p50": statistics.median(wall),
        "wall_p99": percentile(wall, 0.99),
        "full_share": full / blocks,
        "touched": statistics.median(touched) if touched else 0,
        "stages": {s: statistics.median(v) if v else 0.0 for s, v in stages.items()},
        "recheck_median": statistics.median(per_recheck) if per_recheck else 0.0,
        "write_per_pool": statistics.median(writes[WARM_UP_BLOCKS:]),
    }


def one_size(n_pools: int, blocks: int, kernels: list[str]) -> dict:
    market = synthetic_market(n_pools)
    bases = tuple(t.address for t in market.tokens.values() if t.address.startswith("0xb"))
    use_kernel(kernels[0])
    start = time.perf_counter()
    search = ArbitrageSearch(market, SearchConfig(base_tokens=bases))
    build_s = time.perf_counter() - start
    gc.collect()  # as the pipeline does before its loop (engine.pipeline.run): the market
    gc.freeze()  # and the table are out of the cyclic collector, whose full pass over
    # them would land in one timed block (~10 ms at 10k pools) and say nothing of the engine
    rows = {}
    for name in kernels:
        use_kernel(name)
        full = []
        for _ in range(5):
            c = time.thread_time()
            search.rescan(Block(0, 0.0, GAS_PRICE), GAS_PRICE)
            full.append(time.thread_time() - c)
        mover = MarketMover(market, seed=n_pools)  # the same blocks for every kernel
        rows[name] = {
            "rescan": statistics.median(full),
            **{str(f): series(search, mover, f, blocks) for f in CHANGED},
        }
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "pools": len(market.pools),
        "cycles": search.cycle_count,
        "build_s": build_s,
        "rss_mb": rss_mb,
        "kernels": rows,
    }


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def render(results: list[dict], kernels: list[str]) -> str:
    head = (
        "| pools | cycles | RSS MB | kernel | changed | touched | full pass | CPU p50 / p99 ms "
        "| wall p50 / p99 ms | refresh / touch / evaluate / cand / rank / recheck ms (p50) "
        "| re-check µs: p50 / p99 of all / p50 of block means | write µs/pool |"
    )
    lines = [head, "|" + "---|" * 12]
    for r in results:
        for name in kernels:
            row = r["kernels"][name]
            for f in CHANGED:
                s = row[str(f)]
                stages = " / ".join(ms(s["stages"][k]) for k in STAGES)
                lines.append(
                    f"| {r['pools']:,} | {r['cycles']:,} | {r['rss_by_kernel'][name]:.0f} "
                    f"| {name} | {f:.0%} "
                    f"| {s['touched']:,.0f} | {s['full_share']:.0%} "
                    f"| {ms(s['cpu_p50'])} / **{ms(s['cpu_p99'])}** "
                    f"| {ms(s['wall_p50'])} / {ms(s['wall_p99'])} | {stages} "
                    f"| {s.get('each_recheck_p50', 0.0) * 1e6:.1f} "
                    f"/ {s.get('each_recheck_p99', 0.0) * 1e6:.0f} "
                    f"/ {s['recheck_median'] * 1e6:.1f} "
                    f"| {s.get('write_per_pool', 0.0) * 1e6:.2f} |"
                )
    lines.append("")
    lines.append("| pools | kernel | full rescan CPU ms (median of 5) | build s |")
    lines.append("|---|---|---|---|")
    for r in results:
        for name in kernels:
            rescan = ms(r["kernels"][name]["rescan"])
            build = r["build_by_kernel"][name]
            lines.append(f"| {r['pools']:,} | {name} | {rescan} | {build:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", default="10000,50000,100000")
    parser.add_argument("--blocks", type=int, default=100)
    parser.add_argument("--kernel", default="numba,numpy", help="backends, in this order")
    parser.add_argument("--old", help="another checkout's tree, run first as kernel 'old'")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    args = parser.parse_args()
    kernels = args.kernel.split(",")
    if args.one:
        print(json.dumps(one_size(args.one, args.blocks, kernels)))
        return
    # here only: it puts this checkout first on the path, before a `--tree`'s test support
    from scripts.bench.search import machine

    print(f"before: {machine()}")
    results = []
    for size in (int(s) for s in args.pools.split(",")):
        print(f"... {size:,} pools", file=sys.stderr, flush=True)
        command = [sys.executable, __file__, "--one", str(size), "--blocks", str(args.blocks)]
        runs = [(name, []) for name in kernels]
        if args.old:
            runs.insert(0, ("old", [f"--tree={args.old}"]))
        merged: dict = {}
        for name, extra in runs:
            out = subprocess.run(
                [*command, "--kernel", name, *extra], check=True, capture_output=True, text=True
            )
            found = json.loads(out.stdout.strip().splitlines()[-1])
            found["rss_by_kernel"] = {name: found["rss_mb"]}
            found["build_by_kernel"] = {name: found["build_s"]}
            if merged:
                for key in ("kernels", "rss_by_kernel", "build_by_kernel"):
                    merged[key].update(found[key])
            else:
                merged = found
        results.append(merged)
    print(f"after:  {machine()}")
    print(render(results, (["old"] if args.old else []) + kernels))


if __name__ == "__main__":
    main()
