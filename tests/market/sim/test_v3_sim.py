"""The simulated market with V3 pools: ticks, two fee tiers, swaps on both kinds, mixed
trades executed on paper exactly to the unit."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter

from engine.config import SimSection
from engine.market.model import Pool
from engine.market.sim import competitors, swap
from engine.market.sim.chain import SimChain
from engine.market.sim.world import V3_DEX, build_world
from engine.market.v3 import pool as v3pool
from engine.market.venue import ArbOrder, SwapHop
from tests.market.sim.drive import comparable, make_rig, run, search_for, sim_section
from tests.market.sim.test_chain import QUIET
from tests.market.sim.test_paper import booked_change, wallet_change


def test_every_pair_gets_a_v3_pool_with_several_positions_and_native_pairs_two_tiers() -> None:
    world = build_world(SimSection(seed=5))
    market = world.market
    v3 = [p for p in market.pools.values() if p.kind == "v3"]
    v2_pairs = {(p.token0, p.token1) for p in market.pools.values() if p.kind == "v2"}
    tiers: dict[tuple[str, str], set[int]] = {}
    for pool in v3:
        assert pool.v3 is not None and pool.dex == V3_DEX
        assert len(pool.v3.ticks.initialized()) >= 6  # positions across several ranges
        assert pool.v3.liquidity > 0 and pool.reserve0 > 0 and pool.reserve1 > 0
        tiers.setdefault((pool.token0, pool.token1), set()).add(pool.fee_pips)
    native_pairs = {pair for pair in tiers if market.native in pair}
    assert native_pairs and all(tiers[pair] == {500, 3000} for pair in native_pairs)
    assert set(tiers) <= v2_pairs


def test_v3_pools_leave_the_v2_pairs_of_a_seed_as_they_were() -> None:
    with_v3 = build_world(SimSection(seed=5)).market
    without = build_world(SimSection(seed=5, v3_pools=False)).market
    v2 = {a: (p.reserve0, p.reserve1) for a, p in with_v3.pools.items() if p.kind == "v2"}
    assert v2 == {a: (p.reserve0, p.reserve1) for a, p in without.pools.items()}


def test_noise_traders_swap_v3_pools_through_their_exact_swap() -> None:
    chain = SimChain(SimSection(seed=3, noise_swaps_per_block=30))
    start = {
        a: (p.v3.sqrt_price_x96, p.reserve0, p.reserve1)
        for a, p in chain.market.pools.items()
        if p.v3 is not None
    }
    for _ in range(20):
        chain.mine(now=0.0)
    moved = [
        a
        for a, p in chain.market.pools.items()
        if p.v3 is not None and (p.v3.sqrt_price_x96, p.reserve0, p.reserve1) != start[a]
    ]
    assert moved


async def test_mixed_v2_v3_trades_execute_on_paper_exactly_to_the_unit() -> None:
    rig = make_rig(sim_section(seed=13, v3_pools=True))
    rig = await run(rig, last_block=150)
    kinds = Counter(
        "mixed" if len({h["kind"] for h in t.route}) == 2 else t.route[0]["kind"]
        for t in rig.trades
        if t.status == "success"
    )
    assert kinds["mixed"] > 0, kinds
    assert wallet_change(rig) == booked_change(rig.trades, rig.venue.market.native)


async def test_a_seeded_run_with_v3_pools_replays_identically() -> None:
    first = await run(make_rig(sim_section(seed=21, v3_pools=True)), last_block=60)
    second = await run(make_rig(sim_section(seed=21, v3_pools=True)), last_block=60)
    assert [comparable(t) for t in first.trades] == [comparable(t) for t in second.trades]
    assert first.trades


# --- rivals on V3 pools ----------------------------------------------------------------------
def v3_dislocated_chain(seed: int = 4, **sim: object) -> tuple[SimChain, Pool, Pool]:
    """A quiet chain where a whale just sold a quarter of the native/quote V3 pool's native
    balance into it (0.05 % tier): its price sits well below the V2 pair's."""
    chain = SimChain(dataclasses.replace(SimSection(seed=seed), **{**QUIET, **sim}))  # type: ignore[arg-type]
    market = chain.market
    pair = {market.native, market.quote}
    v3 = next(
        p for p in market.pools.values() if {p.token0, p.token1} == pair and p.fee_pips == 500
    )
    v2 = next(p for p in market.pools.values() if {p.token0, p.token1} == pair and p.kind == "v2")
    swap.swap(v3, market.native, v3.reserves_for(market.native)[0] // 4)
    return chain, v3, v2


def spread_bps(first: Pool, second: Pool) -> float:
    return abs(mid(first) / mid(second) - 1) * 10_000


def mid(pool: Pool) -> float:
    if pool.v3 is not None:
        return (pool.v3.sqrt_price_x96 / 2**96) ** 2
    return pool.reserve1 / pool.reserve0


def test_a_background_searcher_takes_a_wide_v2_v3_spread_first_with_the_exact_v3_swap() -> None:
    chain, v3, v2 = v3_dislocated_chain()
    chain.background = competitors.BackgroundArbs(random.Random(1), probability=1.0)
    wide = spread_bps(v3, v2)
    assert wide > competitors.BACKGROUND_THRESHOLD_BPS + 60
    assert v3.v3 is not None
    before, reserves = v3.v3.copy(), (v3.reserve0, v3.reserve1)

    mined = chain.mine(now=1.0)  # the next block, before any order of ours could land

    assert chain.background.sweeps == 1 and {v3.address, v2.address} <= mined.changed_pools
    assert spread_bps(v3, v2) < wide / 2
    # the rival bought the cheap native on V3, and the pool moved as its own swap moves it
    native_is_0 = v3.token0 == chain.market.native
    sold = (v3.reserve1 - reserves[1]) if native_is_0 else (v3.reserve0 - reserves[0])
    result = v3pool.swap(before, not native_is_0, sold)
    paid = -(result.amount0 if native_is_0 else result.amount1)
    assert sold > 0 and paid == (
        reserves[0] - v3.reserve0 if native_is_0 else reserves[1] - v3.reserve1
    )
    assert (v3.v3.sqrt_price_x96, v3.v3.tick, v3.v3.liquidity) == (
        result.sqrt_price_x96,
        result.tick,
        result.liquidity,
    )


def test_a_faster_rival_takes_a_v3_dislocation_before_our_order() -> None:
    chain, v3, _ = v3_dislocated_chain(competitor_probability=1.0)
    order = v3_order(chain, v3)
    chain.submit(order, now=0.0)

    (receipt,) = chain.mine(now=1.0).receipts  # the rival bids, we do not: it goes first

    assert (chain.rivals.front_runs, chain.rivals.outbid) == (1, 0)
    assert chain.rivals.last_bid > 0
    assert receipt.status == "reverted"


def v3_order(chain: SimChain, pool: Pool) -> ArbOrder:
    """Buy the cheap native on the dislocated V3 pool with quote, sell it back on the
    V2 pair: the search's best V3 opportunity, as an order bounded by its own quotes."""
    search = search_for(chain.market)
    genesis = chain.genesis(now=0.0).block
    found = [
        o
        for o in search.rescan(genesis, chain.gas.price)
        if pool.address in {hop.pool for hop in o.route}
    ]
    assert found, "the dislocation should be an opportunity"
    best = found[0]
    hops = []
    amount = best.amount_in
    for hop in best.route:
        amount = sim_swap_quote(chain, hop.pool, hop.token_in, amount)
        hops.append(SwapHop(hop.pool, hop.token_in, hop.token_out, amount))
    return ArbOrder(
        order_id=best.id,
        token=best.token,
        amount_in=best.amount_in,
        hops=tuple(hops),
        min_profit=1,
        flash_fee=0,
        gas_limit=1_000_000,
        gas_price=chain.gas.price,
    )


def sim_swap_quote(chain: SimChain, address: str, token_in: str, amount: int) -> int:
    return swap.quote(chain.market.pools[address], token_in, amount)


def test_the_background_s_v3_input_is_next_to_the_exact_peak() -> None:
    _, v3, v2 = v3_dislocated_chain()
    for first, second in ((v3, v2), (v2, v3)):
        if competitors._edge(first, second)[0] <= competitors._edge(first, second)[1]:
            continue  # this direction loses
        chosen = competitors._exact_peak(first, second)
        low, high = 0, 4 * (first.reserve0 + second.reserve0)  # to the unit, the slow way
        while high - low > 2:
            left, right = low + (high - low) // 3, high - (high - low) // 3
            if competitors._cycle_profit(first, second, left) < competitors._cycle_profit(
                first, second, right
            ):
                low = left + 1
            else:
                high = right
        peak = max(range(low, high + 1), key=lambda x: competitors._cycle_profit(first, second, x))
        best = competitors._cycle_profit(first, second, peak)
        assert best > 0 and abs(chosen - peak) <= peak // 10**5 + 8
        assert competitors._cycle_profit(first, second, chosen) >= best * (1 - 1e-9)
