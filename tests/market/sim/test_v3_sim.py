"""The simulated market with V3 pools: ticks, two fee tiers, swaps on both kinds, mixed
trades executed on paper exactly to the unit."""

from __future__ import annotations

from collections import Counter

from engine.config import SimSection
from engine.market.sim.chain import SimChain
from engine.market.sim.world import V3_DEX, build_world
from tests.market.sim.drive import comparable, make_rig, run, sim_section
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
