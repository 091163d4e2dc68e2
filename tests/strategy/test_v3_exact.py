"""The exact optimum of routes mixing V2 and V3 hops, against brute force on small pools."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.market.v3.pool import amount_out, swap
from engine.strategy import v3_hops
from engine.strategy.v3_hops import Leg, V3Leg
from tests.strategy.v3_markets import random_layout, v3_pool

CAP = 3_000


def small_route(seed: int) -> list[Leg]:
    """2-3 hops over tokens near parity, V3 pools of liquidity 10^5-10^6.5 with random tick
    layouts (ticks crossed within the brute-force range), V2 pairs of 10^4-10^6."""
    rng = random.Random(seed)
    route: list[Leg] = []
    hops = rng.choice([2, 3])
    for n in range(hops):
        skew = rng.randint(-400, 400) + (300 if n == 0 else 0)
        if n == 0 or rng.random() < 0.5:
            sqrt_price, spacing, positions = random_layout(rng, skew, (5.0, 6.5), background=True)
            fee = rng.choice([100, 500, 3000, 10000])
            pool = v3_pool(f"0xp{n}", "0xa", "0xb", sqrt_price, fee, spacing, positions)
            assert pool.v3 is not None
            zero_for_one = rng.random() < 0.5
            route.append(V3Leg(pool.v3, zero_for_one, 10**30))
        else:
            depth = 10 ** rng.uniform(4.0, 6.0)
            route.append((int(depth), int(depth * 1.0001**skew), rng.choice([25, 30])))
    return route


def brute_force(route: list[Leg], flash_fee_bps: int) -> int:
    profit = v3_hops.profit_function(route, flash_fee_bps)
    return max(0, max(profit(x) for x in range(1, CAP + 1)))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**64 - 1), flash_fee_bps=st.sampled_from([0, 9]))
def test_the_mixed_route_optimum_is_within_a_unit_per_hop_of_the_brute_force_maximum(
    seed: int, flash_fee_bps: int
) -> None:
    """Near, not always equal: on pools this small a unit of rounding is a visible share
    of the profit, and a golden comparison between two probes within the rounding can
    keep the wrong side (engine.strategy.v3_hops). Measured on 300 seeds: 268 equal, 30
    one unit short, 2 two units short; the bound asserted is one unit per hop."""
    route = small_route(seed)
    found = v3_hops.walk(route, flash_fee_bps, CAP)
    best = brute_force(route, flash_fee_bps)
    profit = v3_hops.profit_function(route, flash_fee_bps)
    if found.amount_in:
        assert found.profit == profit(found.amount_in)  # exact, to the unit
        assert 1 <= found.amount_in <= CAP
    assert found.proven
    assert best - len(route) <= found.profit <= best


def test_a_v3_hop_prices_exactly_as_the_pool_swap_including_ticks_crossed() -> None:
    pool = v3_pool("0xp", "0xa", "0xb", 2**96, 3000, 10, [(-100, 100, 10**6), (-30, 20, 5 * 10**6)])
    assert pool.v3 is not None
    leg = V3Leg(pool.v3, True, pool.reserve1)
    crossed = 0
    for amount in (1, 10, 1_000, 9_000, 12_000):
        assert v3_hops.leg_output(leg, amount) == amount_out(pool.v3, True, amount)
        crossed = max(crossed, swap(pool.v3, True, amount).ticks_crossed)
    assert crossed >= 1


def test_a_hop_the_pool_could_not_fill_or_pay_outputs_nothing() -> None:
    pool = v3_pool("0xp", "0xa", "0xb", 2**96, 3000, 10, [(-100, 100, 10**6)])
    assert pool.v3 is not None
    # past the last initialised tick the price runs to the limit with input left over
    assert v3_hops.leg_output(V3Leg(pool.v3, True, 10**30), 10**20) == 0
    # a pool never pays more than it holds
    assert v3_hops.leg_output(V3Leg(pool.v3, True, 10), 1_000) == 0


def test_a_memoised_walk_is_recomputed_when_a_position_moves_a_tick_it_crosses() -> None:
    pool = v3_pool("0xp", "0xa", "0xb", 2**96, 500, 10, [(-2_000, 2_000, 10**21)])
    assert pool.v3 is not None
    route: list[Leg] = [V3Leg(pool.v3, True, 10**40), (10**21, 10**21 * 103 // 100, 30)]
    before = v3_hops.walk(route)
    # a position just below the price (no change to the active liquidity or the price)
    pool.v3.ticks.update(-20, 10**22, upper=False)
    pool.v3.ticks.update(-10, 10**22, upper=True)
    after = v3_hops.walk(route)
    assert after == v3_hops._walk(route, 0, None)  # the unmemoised walk
    assert after != before
