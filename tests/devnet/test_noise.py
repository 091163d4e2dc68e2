"""The noise trader: it moves prices, and it stops when told."""

from __future__ import annotations

import random
import statistics

import pytest

from engine.devnet import noise
from engine.devnet.batch_call import Call, call_many
from engine.devnet.world import World

pytestmark = pytest.mark.devnet


def _reserves(world: World) -> list[tuple[int, ...]]:
    calls = [
        Call(p.address, "getReserves()", (), ("uint112", "uint112", "uint32")) for p in world.pairs
    ]
    return [result[:2] for result in call_many(world.rpc_url, calls)]


@pytest.mark.usefixtures("clean_chain")
def test_noise_trades_move_pool_reserves(world: World) -> None:
    before = _reserves(world)

    report = noise.run(world, rate=1_000, seconds=30, seed=7, max_trades=20)

    assert (report.trades, report.failed) == (20, 0)
    changed = sum(old != new for old, new in zip(before, _reserves(world), strict=True))
    assert changed >= 5


def _prices(world: World) -> list[int]:
    calls = [Call(p.address, "slot0()", (), ("uint160",)) for p in world.v3_pools]
    return [result[0] for result in call_many(world.rpc_url, calls)]


@pytest.mark.usefixtures("clean_chain")
def test_noise_trades_swap_on_both_v2_pairs_and_v3_pools(world: World) -> None:
    pairs, prices = _reserves(world), _prices(world)

    report = noise.run(world, rate=1_000, seconds=60, seed=11, max_trades=40)

    assert report.failed == 0
    assert report.by_dex.get("uniswap-v3", 0) > 0 and report.by_dex.get("uniswap", 0) > 0
    assert sum(old != new for old, new in zip(prices, _prices(world), strict=True)) >= 2
    assert sum(old != new for old, new in zip(pairs, _reserves(world), strict=True)) >= 2


@pytest.mark.usefixtures("clean_chain")
def test_noise_stops_after_rate_times_seconds_trades(world: World) -> None:
    report = noise.run(world, rate=4, seconds=1, seed=8)

    assert report.trades + report.failed <= 4


def test_trade_sizes_are_heavy_tailed_and_capped() -> None:
    rng = random.Random(9)
    reserve = 10**24

    sizes = [noise.trade_size(reserve, rng) for _ in range(5_000)]

    assert max(sizes) <= reserve * noise.MAX_FRACTION
    assert min(sizes) >= reserve * noise.BASE_FRACTION * 0.999  # Pareto's floor is its scale
    assert max(sizes) > 20 * statistics.median(sizes)
