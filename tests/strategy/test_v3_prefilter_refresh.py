"""The V3 pre-filter's refresh (every changed pool at once, tick walks cached per table)
gives exactly `side_views` of each pool, and a change of a pool's ticks is never missed."""

from __future__ import annotations

import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.market.evm.v3_pools import install_words
from engine.market.model import Pool
from engine.market.v3.pool import apply_burn, apply_mint, apply_swap, swap
from engine.market.v3.tick_math import sqrt_ratio_at_tick
from engine.market.v3.ticks import TickInfo
from engine.strategy import kernel, v3_hops
from tests.strategy.v3_markets import random_layout, v3_pool


def random_pools(seed: int) -> list[Pool]:
    """2-12 pools: V3 ones on random layouts (gaps, one-sided ranges, some empty at the
    price, some with no ticks at all) and V2 ones between them."""
    rng = random.Random(seed)
    pools = []
    for n in range(rng.randint(2, 12)):
        if n and rng.random() < 0.25:
            pools.append(Pool("univ2", f"0x{n}", "0xa", "0xb", 10**21, 2 * 10**21, 30))
            continue
        sqrt_price, spacing, positions = random_layout(
            rng, rng.randint(-5000, 5000), (12.0, 24.0), rng.random() < 0.5
        )
        if rng.random() < 0.1:
            positions = []
        pools.append(v3_pool(f"0x{n}", "0xa", "0xb", sqrt_price, 500, spacing, positions))
    return pools


def prefilter(pools: list[Pool]) -> tuple[kernel.HopCoefficients, v3_hops.V3Prefilter]:
    coefficients = kernel.HopCoefficients(pools)
    coefficients.refresh_all()
    found = v3_hops.V3Prefilter.of(pools, coefficients)
    assert found is not None
    found.refresh_all()
    return coefficients, found


def assert_views_are_side_views(
    pools: list[Pool], coefficients: kernel.HopCoefficients, v3: v3_hops.V3Prefilter
) -> None:
    for index, pool in enumerate(pools):
        if pool.v3 is None:
            continue
        for side, view in zip((2 * index, 2 * index + 1), v3_hops.side_views(pool.v3), strict=True):
            got = (
                coefficients.a[side],
                coefficients.b[side],
                v3.a_hi[side],
                v3.b_hi[side],
                v3.cap[side],
            )
            assert [float(x).hex() for x in got] == [float(x).hex() for x in view], (index, side)


def move(pool: Pool, rng: random.Random) -> None:
    state = pool.v3
    assert state is not None and state.ticks.sorted_ticks()
    down = rng.random() < 0.5
    target = int(state.sqrt_price_x96 * math.exp(rng.uniform(-0.03, 0.03)))
    target = (
        min(target, state.sqrt_price_x96 - 1) if down else max(target, state.sqrt_price_x96 + 1)
    )
    result = swap(state, down, 1 << 200, target)
    apply_swap(state, result.sqrt_price_x96, result.tick, result.liquidity)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**64 - 1))
def test_the_refresh_of_all_pools_at_once_is_bit_for_bit_side_views_of_each(seed: int) -> None:
    pools = random_pools(seed)
    coefficients, v3 = prefilter(pools)
    assert_views_are_side_views(pools, coefficients, v3)
    rng = random.Random(seed)
    for _ in range(3):  # prices move (ticks crossed), the cached tick summaries are reused
        moved = [i for i, p in enumerate(pools) if p.v3 and p.v3.ticks.sorted_ticks()]
        moved = rng.sample(moved, rng.randint(0, len(moved)))
        for index in moved:
            move(pools[index], rng)
        coefficients.refresh(moved)
        v3.refresh(moved)
        assert_views_are_side_views(pools, coefficients, v3)


def narrow_pool() -> Pool:
    """At tick 0 in [-600, 600), nothing else: the next ticks are ±600 and L_max is L."""
    return v3_pool("0x1", "0xa", "0xb", sqrt_ratio_at_tick(0), 500, 60, [(-600, 600, 10**20)])


def test_a_mint_or_burn_after_a_refresh_is_seen_by_the_next_refresh() -> None:
    pools = [narrow_pool()]
    coefficients, v3 = prefilter(pools)
    state = pools[0].v3
    assert state is not None
    steps = [
        lambda: apply_mint(state, 600, 1200, 10**22),  # more liquidity above: a_hi, b_hi
        lambda: apply_mint(state, -120, 120, 10**19),  # nearer ticks: the caps
        lambda: apply_burn(state, -120, 120, 10**19),  # and back
        lambda: apply_burn(state, 600, 1200, 10**22),
    ]
    for step in steps:
        before = v3_hops.side_views(state)
        step()
        assert v3_hops.side_views(state) != before  # the step changes what the filter sees
        coefficients.refresh([0])
        v3.refresh([0])
        assert_views_are_side_views(pools, coefficients, v3)


def test_ticks_loaded_from_the_chain_or_a_replaced_table_are_seen_by_the_next_refresh() -> None:
    pools = [narrow_pool()]
    coefficients, v3 = prefilter(pools)
    state = pools[0].v3
    assert state is not None
    before = v3_hops.side_views(state)
    ticks = dict(state.ticks.info)
    ticks[-60], ticks[60] = TickInfo(10**21, 10**21), TickInfo(10**21, -(10**21))
    install_words(state.ticks, [-1, 0], ticks)  # a word load writes `info` directly
    assert v3_hops.side_views(state) != before
    v3.refresh([0])
    assert_views_are_side_views(pools, coefficients, v3)
    before = v3_hops.side_views(state)
    fresh = state.ticks.copy()
    fresh.update(-60, -(10**21), upper=False)  # a snapshot installs another table object
    state.ticks = fresh
    assert v3_hops.side_views(state) != before
    v3.refresh([0])
    assert_views_are_side_views(pools, coefficients, v3)
