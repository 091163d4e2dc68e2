"""Benchmark of the search on a market where half the pools are Uniswap V3: per-block CPU.

    .venv/bin/python scripts/bench/v3_search.py [--pools 10000] [--blocks 200] [--v3-share 0.5]

The market is `tests.support.synthetic_market` with every other pool (`--v3-share`)
turned into a V3 pool at the same price: a wide position (±700 spacings) and three narrow
ones around and beside the price, liquidity such that the in-range virtual reserves are
the pair's reserves. A block moves a random 1 %, 5 % or 20 % of pools around their
starting price: V2 pairs as `MarketMover` does, V3 pools by an exact swap to the new price
(ticks crossed as the pool would). `ArbitrageSearch.on_block` is timed up to its exactly
re-checked opportunities in this thread's CPU time (the market and cycle table frozen out
of the garbage collector, as the pipeline does), side by side with the same market
all V2 (same moves), so the ratio is what V3 costs; with `--per-pool`, also with the
pre-filter refreshing each changed V3 pool by `side_views` alone (the code before the
refresh went vectorised), so before and after are measured in one run; with `--stages`,
the mean CPU ms of each stage `on_block` reports (refresh, evaluate, ..., recheck: the
exact walks). Prints a Markdown table, then a hash of every opportunity found per market
(all but the wall-clock `detected_at`): two trees that print the same hash decided alike.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import hashlib
import math
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.market.model import Block, Market
from engine.market.v3.pool import V3PoolState, apply_swap, swap
from engine.strategy import v3_hops
from engine.strategy.search import ArbitrageSearch, SearchConfig
from tests.strategy.v3_markets import mixed
from tests.support.synthetic_market import synthetic_market

GAS_PRICE = 20 * 10**9
CHANGED = (0.01, 0.05, 0.20)
WARM_UP = 30
Q96 = 1 << 96


class Mover:
    """Re-draws the price of a fraction of pools around their start (V3: by exact swaps)."""

    def __init__(self, market: Market, seed: int, sigma: float = 0.002) -> None:
        self._pools = list(market.pools.values())
        self._anchor = {
            p.address: (p.v3.sqrt_price_x96 if p.v3 else 0, p.reserve0, p.reserve1)
            for p in self._pools
        }
        self._rng = random.Random(seed)
        self._sigma = sigma

    def move(self, fraction: float) -> set[str]:
        changed = set()
        for pool in self._rng.sample(self._pools, max(1, round(fraction * len(self._pools)))):
            sqrt_anchor, r0, r1 = self._anchor[pool.address]
            move = 1.0 + self._rng.gauss(0.0, self._sigma)
            changed.add(pool.address)
            if pool.v3 is None:
                pool.reserve0, pool.reserve1 = max(1, int(r0 * move)), max(1, int(r1 / move))
                continue
            target = int(sqrt_anchor / math.sqrt(move))
            state = pool.v3
            if target == state.sqrt_price_x96:
                continue
            down = target < state.sqrt_price_x96
            result = swap(state, down, 1 << 200, target)
            apply_swap(state, result.sqrt_price_x96, result.tick, result.liquidity)
            d0, d1 = result.amount0, result.amount1
            pool.reserve0, pool.reserve1 = max(1, pool.reserve0 + d0), max(1, pool.reserve1 + d1)
        return changed


def per_pool_columns(
    self: v3_hops.V3Prefilter, indices: list[int], states: list[V3PoolState]
) -> np.ndarray:
    """The refresh before it went vectorised: `side_views` of each pool in turn."""
    views = [view for state in states for view in v3_hops.side_views(state)]
    return np.array(views, dtype=np.float64).T


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


STAGES = ("refresh_s", "touch_s", "evaluate_s", "candidates_s", "rank_s", "recheck_s")


def blocks_cpu(
    search: ArbitrageSearch, mover: Mover, fraction: float, blocks: int, digest: Any
) -> tuple[list[float], int, dict[str, float]]:
    """CPU seconds of each timed block, opportunities found, and the mean CPU ms of each
    stage `on_block` reports (`BlockStats`: refresh, evaluate, ..., recheck); every
    opportunity (but its wall-clock `detected_at`) goes into `digest`, so two trees'
    results can be compared as one hash."""
    cpu, found = [], 0
    stages = dict.fromkeys(STAGES, 0.0)
    for number in range(WARM_UP + blocks):
        changed = mover.move(fraction)
        block = Block(number=number, timestamp=float(number), base_fee=GAS_PRICE)
        start = time.thread_time()
        result = search.on_block(block, changed, GAS_PRICE)
        if number >= WARM_UP:
            cpu.append(time.thread_time() - start)
            found += len(result)
            for opportunity in result:
                digest.update(repr(dataclasses.replace(opportunity, detected_at=0.0)).encode())
            for stage in STAGES:
                stages[stage] += getattr(search.stats, stage) * 1e3 / blocks
    return cpu, found, stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=int, default=10_000)
    parser.add_argument("--blocks", type=int, default=200)
    parser.add_argument("--v3-share", type=float, default=0.5)
    parser.add_argument("--per-pool", action="store_true", help="also the per-pool refresh")
    parser.add_argument("--stages", action="store_true", help="mean CPU ms of each stage")
    args = parser.parse_args()
    digests = {}
    base = synthetic_market(args.pools)
    bases = tuple(t.address for t in base.tokens.values() if t.address.startswith("0xb"))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}")
    print(
        f"{len(base.pools)} pools, V3 share {args.v3_share}, {args.blocks} blocks per row (CPU ms)"
    )
    stage_columns = " | ".join(s.removesuffix("_s") for s in STAGES) if args.stages else ""
    print(
        "| pools changed | market | cycles | p50 | p99 | max | found/block |"
        + (f" {stage_columns} |" if args.stages else "")
    )
    print("|---:|---|---:|---:|---:|---:|---:|" + ("---:|" * len(STAGES) if args.stages else ""))
    for fraction in CHANGED:
        v3_label = f"{args.v3_share:.0%} V3"
        rows = [("all V2", 0.0, False), (v3_label, args.v3_share, False)]
        if args.per_pool:
            rows.insert(1, (f"{v3_label}, per-pool refresh", args.v3_share, True))
        for label, share, per_pool in rows:
            market = mixed(base, share, seed=1)
            search = ArbitrageSearch(market, SearchConfig(base_tokens=bases))
            v3_hops._WALKS.clear()  # memoised V3 walks: a row must not reuse the last row's
            columns = v3_hops.V3Prefilter._columns
            if per_pool:
                v3_hops.V3Prefilter._columns = per_pool_columns  # type: ignore[method-assign]
            gc.collect()  # as the pipeline does before its loop (engine.pipeline.run):
            gc.freeze()  # the market and the table are out of the cyclic collector
            digest = digests.setdefault(label, hashlib.sha256())
            mover = Mover(market, seed=7)
            cpu, found, stages = blocks_cpu(search, mover, fraction, args.blocks, digest)
            v3_hops.V3Prefilter._columns = columns  # type: ignore[method-assign]
            ms = [c * 1e3 for c in cpu]
            print(
                f"| {fraction:.0%} | {label} | {search.cycle_count} | {percentile(ms, 0.5):.2f} "
                f"| {percentile(ms, 0.99):.2f} | {max(ms):.2f} | {found / args.blocks:.2f} |"
                + ("".join(f" {stages[s]:.2f} |" for s in STAGES) if args.stages else "")
            )
    for label, digest in digests.items():
        print(f"opportunities of every row, {label}: sha256 {digest.hexdigest()[:16]}")
    if search.walks_cut_short:
        print(f"walks cut short: {search.walks_cut_short}")


if __name__ == "__main__":
    main()
