"""Benchmark: engine start-up with thousands of Uniswap V3 pools on anvil.

    .venv/bin/python scripts/bench/v3_start.py [--pools 2000] [--repeats 3]
                                               [--radii 0,2,8]

Starts its own devnet (`arbctl devnet up` in a temporary directory) and grows its V3
market: extra tokens, each paired with WETH and with USDC (the search's start tokens) in
a V3 pool on each of the four fee tiers until there are `--pools` pools, each
initialised and given two positions (full range and a narrow one around the price)
through the real NonfungiblePositionManager. Then, for each
tick-word radius in `--radii` (side by side, in one run, on the same chain), median of
`--repeats`:

- venue start: chain checks, V2 pairs, the V3 factory's PoolCreated logs, slot0 +
  liquidity + balances, tick bitmaps within the radius, ticks(), account — wall and
  process CPU seconds, JSON-RPC requests and HTTP round trips;
- first block decided: the search built on that market and its decision on the
  start-up block (every pool is news), wall and CPU seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import evm as bench  # scripts/bench/evm.py: growing a devnet, anvil batching, machine info

from engine.config import Config, TokenEntry, V3FactoryEntry, load
from engine.daemon import build_search, build_venue
from engine.devnet import anvil, lifecycle
from engine.devnet.batch_call import Call, call_many
from engine.devnet.world import World
from engine.market.evm.rpc import RpcClient
from engine.market.evm.venue import EvmVenue

FEES = {100: 1, 500: 10, 3000: 60, 10000: 200}
MAX_TICK = 887272
MINT_CHUNK = 300


# --- growing the V3 market ------------------------------------------------------------------
def tokens_for(pools: int) -> int:
    """New tokens, each paired with WETH and with USDC on all four fee tiers."""
    return math.ceil(pools / (2 * len(FEES)))


def grow_v3(world: World, pools: int) -> list[TokenEntry]:
    assert world.v3 is not None
    count = tokens_for(pools)
    symbols = [f"V{i}" for i in range(count)]
    tokens = bench.deploy_tokens(world, symbols)
    bases = [world.weth, world.token("USDC").address]
    combos = list(itertools.islice(_combos(tokens, bases), pools))
    factory = world.v3.factory
    creates = [
        bench.call_tx(factory, "createPool(address,address,uint24)", (a, b, fee), 6_000_000)
        for a, b, fee in combos
    ]
    for start in range(0, len(creates), MINT_CHUNK):
        bench.transact(world, creates[start : start + MINT_CHUNK])
    lookups = [
        Call(factory, "getPool(address,address,uint24)", (a, b, fee), ("address",))
        for a, b, fee in combos
    ]
    addresses = [row[0] for row in call_many(world.rpc_url, lookups)]
    price = 2**96  # 1:1 in base units: every token has 18 decimals
    bench.transact(
        world,
        [bench.call_tx(p, "initialize(uint160)", (price,), 200_000) for p in addresses],
    )
    supply = 10**30
    positions = world.v3.positions
    funding = [bench.call_tx(t, "mint(address,uint256)", (world.deployer, supply)) for t in tokens]
    funding += [bench.call_tx(bases[1], "mint(address,uint256)", (world.deployer, supply))]
    anvil.rpc(world.rpc_url, "anvil_setBalance", [world.deployer, hex(10**30)])
    funding += [bench.call_tx(world.weth, "deposit()", (), value=10**27)]
    funding += [
        bench.call_tx(t, "approve(address,uint256)", (positions, 2**256 - 1))
        for t in [*tokens, *bases]
    ]
    bench.transact(world, funding)
    mints = [mint for combo in combos for mint in _mints(world, combo)]
    for start in range(0, len(mints), MINT_CHUNK):  # a block anvil mines within its timeout
        bench.transact(world, mints[start : start + MINT_CHUNK])
    return [
        TokenEntry(address, symbol, 18) for address, symbol in zip(tokens, symbols, strict=True)
    ]


def _combos(tokens: list[str], bases: list[str]) -> Iterator[tuple[str, str, int]]:
    """Every new token with each base token (the search's cycle starts) on every tier."""
    for token in tokens:
        for base in bases:
            token0, token1 = sorted((token, base), key=lambda x: int(x, 16))
            for fee in FEES:
                yield token0, token1, fee


def _mints(world: World, combo: tuple[str, str, int]) -> list[dict[str, Any]]:
    assert world.v3 is not None
    token0, token1, fee = combo
    spacing = FEES[fee]
    full = MAX_TICK // spacing * spacing
    narrow = 60 * spacing
    signature = (
        "mint((address,address,uint24,int24,int24,uint256,uint256,uint256,uint256,address,uint256))"
    )
    out = []
    for lower, upper, amount in ((-full, full, 10**21), (-narrow, narrow, 10**20)):
        params = (token0, token1, fee, lower, upper, amount, amount, 0, 0, world.deployer, 2**32)
        out.append(bench.call_tx(world.v3.positions, signature, (params,), 1_000_000))
    return out


# --- measuring ------------------------------------------------------------------------------
class Counting:
    """Counts JSON-RPC requests and HTTP round trips of every RpcClient (patched in)."""

    def __init__(self) -> None:
        self.requests = 0
        self.round_trips = 0
        self._original = RpcClient._exchange

    def __enter__(self) -> Counting:
        counter = self
        original = self._original

        async def counted(client: RpcClient, body: Any, ids: Any, timeout: Any) -> Any:
            counter.round_trips += 1
            counter.requests += len(body) if isinstance(body, list) else 1
            return await original(client, body, ids, timeout)

        RpcClient._exchange = counted  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        RpcClient._exchange = self._original  # type: ignore[method-assign]


def config_for(world: World, extra: list[TokenEntry], radius: int) -> Config:
    assert world.v3 is not None
    config = load(world.config_file)
    config.evm.tokens = [*config.evm.tokens, *extra]
    config.evm.v3_factories = [V3FactoryEntry(world.v3.name, world.v3.factory)]
    config.evm.v3_word_radius = radius
    return config


async def one_start(config: Config) -> dict[str, Any]:
    venue = build_venue(config)
    assert isinstance(venue, EvmVenue)
    with Counting() as counting:
        wall, cpu = time.perf_counter(), time.process_time()
        await venue.start()
        start_wall, start_cpu = time.perf_counter() - wall, time.process_time() - cpu
    try:
        wall2, cpu2 = time.perf_counter(), time.process_time()
        search = build_search(config, venue)
        update = await anext(venue.blocks())
        found = search.on_block(update.block, update.changed_pools, venue.gas_price())
        decide_wall, decide_cpu = time.perf_counter() - wall2, time.process_time() - cpu2
        pools = venue.market.pools.values()
        v3 = [p for p in pools if p.kind == "v3"]
        ticks = sum(len(p.v3.ticks.info) for p in v3 if p.v3 is not None)
    finally:
        await venue.stop()
    return {
        "start_s": start_wall,
        "start_cpu_s": start_cpu,
        "decide_s": decide_wall,
        "decide_cpu_s": decide_cpu,
        "requests": counting.requests,
        "round_trips": counting.round_trips,
        "v3_pools": len(v3),
        "pools": len(pools),
        "ticks": ticks,
        "opportunities": len(found),
    }


async def bench_starts(
    world: World, extra: list[TokenEntry], radii: list[int], repeats: int
) -> dict[int, list[dict[str, Any]]]:
    results: dict[int, list[dict[str, Any]]] = {r: [] for r in radii}
    for _ in range(repeats):  # interleaved: the machine's noise falls on every radius alike
        for radius in radii:
            results[radius].append(await one_start(config_for(world, extra, radius)))
    return results


def report(results: dict[int, list[dict[str, Any]]], setup_s: float) -> None:
    print(
        f"machine: {bench.cpu()}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )
    print(f"anvil: {bench.anvil_version()}; market built in {setup_s:.0f} s\n")
    for radius, runs in results.items():
        first = runs[0]

        def median(key: str, runs: list[dict[str, Any]] = runs) -> float:
            return statistics.median(r[key] for r in runs)

        print(
            f"radius {radius} word(s): {first['v3_pools']} V3 pools of {first['pools']}, "
            f"{first['ticks']} ticks loaded, {first['requests']} requests in "
            f"{first['round_trips']} round trips (median of {len(runs)})"
        )
        print(
            f"  venue start           {median('start_s'):7.3f} s wall  "
            f"{median('start_cpu_s'):7.3f} s CPU"
        )
        print(
            f"  first block decided   {median('decide_s'):7.3f} s wall  "
            f"{median('decide_cpu_s'):7.3f} s CPU  ({first['opportunities']} opportunities)"
        )
        total = median("start_s") + median("decide_s")
        print(f"  start → first block decided  {total:.3f} s\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--radii", default="0,2,8")
    args = parser.parse_args()
    radii = [int(r) for r in args.radii.split(",")]
    with tempfile.TemporaryDirectory(prefix="arbctl-bench-v3-") as state:
        devnet = lifecycle.up(Path(state), progress=lambda _line: None)
        try:
            began = time.monotonic()
            extra = grow_v3(devnet.world, args.pools - len(devnet.world.v3_pools))
            setup = time.monotonic() - began
            results = asyncio.run(bench_starts(devnet.world, extra, radii, args.repeats))
        finally:
            lifecycle.down(Path(state))
    report(results, setup)


if __name__ == "__main__":
    main()
