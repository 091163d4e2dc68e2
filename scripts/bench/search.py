"""Benchmark of the arbitrage search: enumeration, kernel throughput, per-block latency.

    .venv/bin/python scripts/bench/search.py [--pools 1000,10000,50000] [--blocks 200]

Markets come from `tests.support.synthetic_market` (four base tokens, many tokens listed against
one to three of them on two or three dexes with 20/25/30 bps fees). A block re-draws the
price of a random 1 %, 5 % or 20 % of pools around their starting price (`MarketMover`) and
times `ArbitrageSearch.on_block` up to its ranked, exactly re-checked opportunities; moving
reserves is not timed. Every time is given as wall clock and as this thread's CPU time:
on a shared machine the wall clock also measures the neighbours, CPU time does not.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.market.model import Block
from engine.strategy import exact, kernel
from engine.strategy.search import ArbitrageSearch, SearchConfig
from tests.support.synthetic_market import MarketMover, synthetic_market

GAS_PRICE = 20 * 10**9
CHANGED = (0.01, 0.05, 0.20)
WARM_UP_BLOCKS = 50
ORACLE_SAMPLE = 300


@dataclass
class Timing:
    """Wall and CPU seconds of repeated runs of one thing."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def run(self, action: Callable[[], object]) -> object:
        wall, cpu = time.perf_counter(), time.thread_time()
        result = action()
        self.cpu.append(time.thread_time() - cpu)
        self.wall.append(time.perf_counter() - wall)
        return result


@dataclass
class Series:
    timing: Timing
    evaluated: float  # cycles re-evaluated per block
    found: float  # opportunities returned per block


@dataclass
class Figures:
    pools: int
    tokens: int
    two_pool: int
    three_hop: int
    build_s: float
    kernel: Timing
    three_hop_batch: int
    rescan: Timing
    blocks: dict[float, Series]
    gross_positive: float
    oracle_s_per_cycle: float
    scalar_float_s_per_cycle: float


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def measure_kernel(search: ArbitrageSearch) -> tuple[Timing, int]:
    """Evaluate every three-hop cycle from scratch, seven times."""
    table = search.table
    three = np.flatnonzero(table.hops == 3).astype(np.int32)
    columns = [row.take(three) for row in table.sides]
    coefficients = kernel.HopCoefficients(table.pools)
    coefficients.refresh_all()
    timing = Timing()
    for _ in range(7):
        timing.run(lambda: kernel.evaluate(coefficients, columns))
    return timing, len(three)


def measure_blocks(
    search: ArbitrageSearch, mover: MarketMover, fraction: float, blocks: int
) -> Series:
    table, timing = search.table, Timing()
    evaluated = found = 0
    for number in range(WARM_UP_BLOCKS + blocks):
        changed = mover.move(fraction)
        block = Block(number=number, timestamp=float(number), base_fee=GAS_PRICE)
        if number < WARM_UP_BLOCKS:  # let the market reach its stationary mispricing
            search.on_block(block, changed, GAS_PRICE)
            continue
        indices = [table.pool_index[a] for a in changed]
        evaluated += len(table.cycles_touching(indices))
        found += len(timing.run(lambda b=block, c=changed: search.on_block(b, c, GAS_PRICE)))
    return Series(timing, evaluated / blocks, found / blocks)


def scalar_float(route: list[tuple[int, int, int]]) -> float:
    """The kernel's closed form one cycle at a time in plain Python."""
    a, b = 1.0, 0.0
    for r_in, r_out, fee in route:
        gamma = (10_000 - fee) / 10_000
        b += gamma / r_in * a
        a *= gamma * r_out / r_in
    return max(math.sqrt(a) - 1.0, 0.0) / b


def measure_scalar(search: ArbitrageSearch, rng: random.Random) -> tuple[float, float]:
    """CPU seconds per three-hop cycle: exact oracle search, and scalar float closed form."""
    table = search.table
    three = np.flatnonzero(table.hops == 3).tolist()
    routes = [table.reserves(c) for c in rng.sample(three, min(ORACLE_SAMPLE, len(three)))]
    start = time.thread_time()
    for route in routes:
        exact.optimal_input(route)
    oracle_s = (time.thread_time() - start) / len(routes)
    start = time.thread_time()
    for _ in range(20):
        for route in routes:
            scalar_float(route)
    return oracle_s, (time.thread_time() - start) / (20 * len(routes))


def run(n_pools: int, blocks: int) -> Figures:
    market = synthetic_market(n_pools)
    bases = tuple(t.address for t in market.tokens.values() if t.address.startswith("0xb"))
    start = time.perf_counter()
    search = ArbitrageSearch(market, SearchConfig(base_tokens=bases))
    build_s = time.perf_counter() - start
    kernel_timing, batch = measure_kernel(search)
    rescan = Timing()
    block = Block(number=0, timestamp=0.0, base_fee=GAS_PRICE)
    for _ in range(5):
        rescan.run(lambda: search.rescan(block, GAS_PRICE))
    mover = MarketMover(market, seed=n_pools)
    series = {f: measure_blocks(search, mover, f, blocks) for f in CHANGED}
    positive = search.gross_positive_count / max(1, search.cycle_count)
    oracle_s, float_s = measure_scalar(search, random.Random(n_pools))
    hops = search.table.hops
    return Figures(
        pools=len(market.pools),
        tokens=len(market.tokens),
        two_pool=int((hops == 2).sum()),
        three_hop=int((hops == 3).sum()),
        build_s=build_s,
        kernel=kernel_timing,
        three_hop_batch=batch,
        rescan=rescan,
        blocks=series,
        gross_positive=positive,
        oracle_s_per_cycle=oracle_s,
        scalar_float_s_per_cycle=float_s,
    )


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def p50_p99(values: list[float]) -> str:
    return f"{ms(statistics.median(values))[:-3]} / {ms(percentile(values, 0.99))}"


def rows_for(f: Figures) -> list[tuple[str, str]]:
    kernel_per_cycle = min(f.kernel.cpu) / f.three_hop_batch
    rows = [
        ("tokens / pools", f"{f.tokens:,} / {f.pools:,}"),
        ("2-pool cycles", f"{f.two_pool:,}"),
        ("3-hop cycles", f"{f.three_hop:,}"),
        ("build: enumerate + first evaluation", f"{f.build_s:.2f} s"),
        ("kernel, 3-hop evals/s, wall", f"{f.three_hop_batch / min(f.kernel.wall) / 1e6:.1f} M"),
        ("kernel, 3-hop evals/s, CPU", f"{1 / kernel_per_cycle / 1e6:.1f} M"),
        ("full rescan, median wall", ms(statistics.median(f.rescan.wall))),
        ("full rescan, median CPU", ms(statistics.median(f.rescan.cpu))),
    ]
    for fraction, s in f.blocks.items():
        label = f"{fraction:.0%} changed"
        rows += [
            (f"block, {label}: p50 / p99 wall", p50_p99(s.timing.wall)),
            (f"block, {label}: p50 / p99 CPU", p50_p99(s.timing.cpu)),
            (f"  cycles re-evaluated per block ({label})", f"{s.evaluated:,.0f}"),
            (f"  opportunities returned per block ({label})", f"{s.found:.1f}"),
        ]
    rows += [
        ("cycles with float gross > 0", f"{f.gross_positive:.1%}"),
        ("exact scalar optimiser, CPU per 3-hop cycle", f"{f.oracle_s_per_cycle * 1e6:.0f} µs"),
        (
            "kernel speed-up vs exact scalar optimiser",
            f"{f.oracle_s_per_cycle / kernel_per_cycle:,.0f}x",
        ),
        (
            "kernel speed-up vs scalar float closed form",
            f"{f.scalar_float_s_per_cycle / kernel_per_cycle:,.0f}x",
        ),
    ]
    return rows


def render(figures: list[Figures]) -> str:
    columns = [rows_for(f) for f in figures]
    head = ["metric"] + [f"{f.pools:,} pools" for f in figures]
    body = [[name] + [col[i][1] for col in columns] for i, (name, _) in enumerate(columns[0])]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(head), rule, *(line(row) for row in body)])


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(ln.split(":", 1)[1].strip() for ln in info if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores, load average {load}; "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", default="1000,10000,50000", help="comma-separated sizes")
    parser.add_argument("--blocks", type=int, default=200, help="timed blocks per series")
    args = parser.parse_args()
    print(f"before: {machine()}")
    figures = []
    for size in (int(s) for s in args.pools.split(",")):
        print(f"... {size:,} pools", file=sys.stderr, flush=True)
        figures.append(run(size, args.blocks))
    print(f"after:  {machine()}")
    print(render(figures))


if __name__ == "__main__":
    main()
