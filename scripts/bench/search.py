"""Benchmark of the arbitrage search: enumeration, kernel throughput, per-block latency.

    .venv/bin/python scripts/bench/search.py [--pools 1000,10000,50000] [--blocks 200]

Markets come from `engine.strategy.synthetic` (a few base tokens, many tokens listed
against them on two or three dexes with different fees). A block moves the reserves of a
random 1 %, 5 % or 20 % of pools and times `on_block` to its ranked, exactly re-checked
opportunities; moving reserves is not timed.
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.market.model import Block, Market
from engine.strategy import kernel, oracle
from engine.strategy.search import ArbitrageSearch, SearchConfig
from engine.strategy.synthetic import perturb, synthetic_market

GAS_PRICE = 20 * 10**9
CHANGED = (0.01, 0.05, 0.20)


@dataclass
class Figures:
    pools: int
    two_pool: int
    three_hop: int
    build_s: float
    kernel_rate: float
    rescan_ms: float
    latency: dict[float, tuple[float, float, float]]  # changed -> (p50, p99, opps per block)
    oracle_speedup: float
    scalar_float_speedup: float


def _kernel_rate(search: ArbitrageSearch) -> float:
    table = search.table
    three = np.flatnonzero(table.hops == 3).astype(np.int32)
    columns = [row.take(three) for row in table.sides]
    best = math.inf
    for _ in range(7):
        start = time.perf_counter()
        kernel.evaluate(search._coefficients, columns)
        best = min(best, time.perf_counter() - start)
    return len(three) / best


def _scalar_float(route: list[tuple[int, int, int]]) -> float:
    """The closed form one cycle at a time in plain Python: what the kernel vectorises."""
    a, b = 1.0, 0.0
    for r_in, r_out, fee in route:
        gamma = (10_000 - fee) / 10_000
        b += gamma / r_in * a
        a *= gamma * r_out / r_in
    root = math.sqrt(a) - 1.0
    return max(root, 0.0) / b


def _speedups(search: ArbitrageSearch, kernel_rate: float, rng: random.Random) -> tuple:
    table = search.table
    three = np.flatnonzero(table.hops == 3)
    sample = [int(c) for c in rng.sample(list(three), min(300, len(three)))]
    routes = [table.reserves(c) for c in sample]
    start = time.perf_counter()
    for route in routes:
        oracle.optimal_input(route)
    oracle_rate = len(routes) / (time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(20):
        for route in routes:
            _scalar_float(route)
    float_rate = 20 * len(routes) / (time.perf_counter() - start)
    return kernel_rate / oracle_rate, kernel_rate / float_rate


def _latency(
    search: ArbitrageSearch, market: Market, fraction: float, blocks: int, rng: random.Random
) -> tuple[float, float, float]:
    pools = list(market.pools.values())
    count = max(1, int(len(pools) * fraction))
    times, found = [], 0
    for n in range(blocks):
        changed = perturb(rng.sample(pools, count), rng)
        block = Block(number=n + 1, timestamp=float(n), base_fee=GAS_PRICE)
        start = time.perf_counter()
        opportunities = search.on_block(block, changed, GAS_PRICE)
        times.append(time.perf_counter() - start)
        found += len(opportunities)
    times.sort()
    p99 = times[min(len(times) - 1, math.ceil(0.99 * len(times)) - 1)]
    return statistics.median(times) * 1e3, p99 * 1e3, found / blocks


def run(n_pools: int, blocks: int) -> Figures:
    rng = random.Random(n_pools)
    market = synthetic_market(n_pools)
    config = SearchConfig(base_tokens=tuple(t.address for t in market.tokens.values())[:4])
    start = time.perf_counter()
    search = ArbitrageSearch(market, config)
    build_s = time.perf_counter() - start
    hops = search.table.hops
    kernel_rate = _kernel_rate(search)
    block = Block(number=0, timestamp=0.0, base_fee=GAS_PRICE)
    rescans = []
    for _ in range(5):
        start = time.perf_counter()
        search.rescan(block, GAS_PRICE)
        rescans.append(time.perf_counter() - start)
    latency = {f: _latency(search, market, f, blocks, rng) for f in CHANGED}
    oracle_speedup, float_speedup = _speedups(search, kernel_rate, rng)
    return Figures(
        pools=len(market.pools),
        two_pool=int((hops == 2).sum()),
        three_hop=int((hops == 3).sum()),
        build_s=build_s,
        kernel_rate=kernel_rate,
        rescan_ms=statistics.median(rescans) * 1e3,
        latency=latency,
        oracle_speedup=oracle_speedup,
        scalar_float_speedup=float_speedup,
    )


def _table(rows: list[Figures]) -> str:
    head = ["metric"] + [f"{f.pools:,} pools" for f in rows]
    lines = [
        ["2-pool cycles"] + [f"{f.two_pool:,}" for f in rows],
        ["3-hop cycles"] + [f"{f.three_hop:,}" for f in rows],
        ["build (enumerate + first eval)"] + [f"{f.build_s:.2f} s" for f in rows],
        ["kernel, 3-hop evals/s"] + [f"{f.kernel_rate / 1e6:.1f} M" for f in rows],
        ["full rescan"] + [f"{f.rescan_ms:.1f} ms" for f in rows],
    ]
    for fraction in CHANGED:
        label = f"{fraction:.0%} changed"
        lines.append(
            [f"block, {label}: p50 / p99"]
            + [f"{f.latency[fraction][0]:.2f} / {f.latency[fraction][1]:.2f} ms" for f in rows]
        )
        lines.append(
            [f"  opportunities per block ({label})"]
            + [f"{f.latency[fraction][2]:.1f}" for f in rows]
        )
    lines.append(["speed-up vs exact scalar oracle"] + [f"{f.oracle_speedup:,.0f}x" for f in rows])
    lines.append(
        ["speed-up vs scalar float closed form"] + [f"{f.scalar_float_speedup:,.0f}x" for f in rows]
    )
    widths = [max(len(r[i]) for r in [head, *lines]) for i in range(len(head))]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |"]
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in lines:
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", default="1000,10000,50000")
    parser.add_argument("--blocks", type=int, default=200, help="blocks per latency series")
    args = parser.parse_args()
    sizes = [int(s) for s in args.pools.split(",")]
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    rows = []
    for size in sizes:
        print(f"... {size:,} pools", file=sys.stderr, flush=True)
        rows.append(run(size, args.blocks))
    print(_table(rows))


if __name__ == "__main__":
    main()
