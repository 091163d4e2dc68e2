"""The price-impact guard on a V3 hop: the exact swap (crossing ticks) against the pool's
marginal price `sqrtPriceX96`, never against its token balances.

The reference: within one tick range a V3 pool is a constant-product pool on virtual
reserves x = L/√P, y = L·√P, so its impact equals a V2 pair's on those reserves with the
same fee (to the rounding of the two integer swaps); across initialised ticks the
liquidity thins and the impact can only be larger."""

from __future__ import annotations

from engine.guards.rules import price_impact_bps
from engine.market.model import Pool
from engine.market.v3 import pool as v3pool
from engine.market.v3.tick_math import sqrt_ratio_at_tick
from engine.market.v3.ticks import TickTable
from engine.strategy.opportunity import Hop
from tests.guards.build import USDC, WETH, opportunity

Q96 = 1 << 96
L = 10**22


def v3_pool(narrow: bool) -> Pool:
    table = TickTable(60)
    table.update(-887220, L, upper=False)
    table.update(887220, L, upper=True)
    if narrow:  # extra liquidity just around the price: a big swap leaves it
        table.update(-600, 3 * L, upper=False)
        table.update(600, 3 * L, upper=True)
    liquidity = L * (4 if narrow else 1)
    state = v3pool.V3PoolState(sqrt_ratio_at_tick(0), 0, liquidity, 3_000, table)
    token0, token1 = WETH, USDC  # the order is only a convention here
    # balances unrelated to the price: the guard must not read them as reserves
    return Pool("uniswap-v3", "0xv3", token0, token1, 10**30, 1, 30, "v3", state)


def virtual_v2(pool: Pool) -> Pool:
    assert pool.v3 is not None
    x = pool.v3.liquidity * Q96 // pool.v3.sqrt_price_x96
    y = pool.v3.liquidity * pool.v3.sqrt_price_x96 // Q96
    return Pool("uniswap", "0xv2", pool.token0, pool.token1, x, y, 30)


def test_a_v3_hop_within_its_range_costs_what_its_virtual_constant_product_pool_costs() -> None:
    pool = v3_pool(narrow=False)
    twin = virtual_v2(pool)
    for amount in (10**15, 10**19, 10**21):
        v3 = opportunity(
            route=(Hop("0xv3", pool.token0, pool.token1, "v3", 3_000),), amount_in=amount
        )
        v2 = opportunity(route=(Hop("0xv2", pool.token0, pool.token1),), amount_in=amount)
        assert abs(price_impact_bps(v3, {"0xv3": pool}) - price_impact_bps(v2, {"0xv2": twin})) <= 1
        back = opportunity(
            route=(Hop("0xv3", pool.token1, pool.token0, "v3", 3_000),), amount_in=amount
        )
        back_v2 = opportunity(route=(Hop("0xv2", pool.token1, pool.token0),), amount_in=amount)
        assert (
            abs(price_impact_bps(back, {"0xv3": pool}) - price_impact_bps(back_v2, {"0xv2": twin}))
            <= 1
        )


def test_a_v3_swap_that_leaves_a_narrow_range_costs_more_than_staying_in_it_would() -> None:
    pool = v3_pool(narrow=True)
    deep_everywhere = virtual_v2(pool)  # as if the narrow liquidity reached all prices
    amount = 5 * 10**21  # enough to walk out of the ±600-tick range
    v3 = opportunity(route=(Hop("0xv3", pool.token0, pool.token1, "v3", 3_000),), amount_in=amount)
    v2 = opportunity(route=(Hop("0xv2", pool.token0, pool.token1),), amount_in=amount)
    assert (
        price_impact_bps(v3, {"0xv3": pool}) > price_impact_bps(v2, {"0xv2": deep_everywhere}) + 1
    )
    tiny = opportunity(route=v3.route, amount_in=10**12)
    assert price_impact_bps(tiny, {"0xv3": pool}) <= 1
