"""The incremental search (candidate set, kept exact walks) on markets with V3 pools.

A V3 pool's walk depends on its price, tick, liquidity and ticks, which its balances do
not show; a block that moves only those must still be re-evaluated and re-walked. Both
the incremental path and the full pass must leave the numbers a fresh search computes.
"""

from __future__ import annotations

import dataclasses
import random

import numpy as np

from engine.market.model import Block, Market
from engine.market.v3.pool import apply_swap, swap
from engine.strategy import v3_hops
from engine.strategy.opportunity import Opportunity
from engine.strategy.search import ArbitrageSearch, SearchConfig
from tests.strategy.v3_markets import mixed
from tests.support.synthetic_market import synthetic_market

GAS_PRICE = 20 * 10**9


def block(number: int) -> Block:
    return Block(number=number, timestamp=float(number), base_fee=GAS_PRICE)


def mixed_market(seed: int) -> tuple[Market, SearchConfig]:
    market = mixed(synthetic_market(400, seed=seed, price_noise=0.01), 0.5, seed)
    bases = tuple(t.address for t in market.tokens.values() if t.address.startswith("0xb"))
    return market, SearchConfig(base_tokens=bases, top_n=8, plan_candidates=8)


def move_price_only(market: Market, address: str, sqrt_ratio: float) -> None:
    """Swap a V3 pool's state to a new price and leave its balances as they were."""
    state = market.pools[address].v3
    assert state is not None
    target = int(state.sqrt_price_x96 * sqrt_ratio)
    result = swap(state, target < state.sqrt_price_x96, 1 << 200, target)
    apply_swap(state, result.sqrt_price_x96, result.tick, result.liquidity)


def comparable(found: list[Opportunity]) -> list[Opportunity]:
    return [dataclasses.replace(o, detected_at=0.0) for o in found]


def test_a_v3_price_move_that_leaves_the_balances_alone_is_re_walked() -> None:
    market, config = mixed_market(5)
    search = ArbitrageSearch(market, config)
    first = search.on_block(block(1), set(), GAS_PRICE)
    v3_route = next(o for o in first if v3_hops.has_v3(o.route))
    pool = next(h.pool for h in v3_route.route if h.kind == "v3")
    move_price_only(market, pool, 1.004)
    found = search.on_block(block(2), {pool}, GAS_PRICE)
    assert not search.stats.full_pass
    fresh = ArbitrageSearch(market, config).rescan(block(2), GAS_PRICE)
    assert comparable(found) == comparable(fresh)
    for opportunity in found:
        amounts = v3_hops.outputs(v3_hops.legs(market, opportunity.route), opportunity.amount_in)
        assert amounts is not None and amounts[-1] == opportunity.amount_out


def test_incremental_blocks_on_a_mixed_market_agree_with_a_fresh_search() -> None:
    market, config = mixed_market(3)
    search = ArbitrageSearch(market, config)
    rng = random.Random(3)
    v3_pools = [p.address for p in market.pools.values() if p.v3 is not None]
    for number, fraction in enumerate((0.01, 0.05, 0.5, 0.02), start=2):
        changed = set(rng.sample(v3_pools, max(1, int(fraction * len(v3_pools)))))
        for address in changed:
            move_price_only(market, address, 1.0 + rng.gauss(0.0, 0.003))
        found = search.on_block(block(number), changed, GAS_PRICE)
        fresh = ArbitrageSearch(market, config)
        assert np.array_equal(search._gross, fresh._gross)
        assert comparable(found) == comparable(fresh.rescan(block(number), GAS_PRICE))


def test_v2_pairs_moved_through_the_reserve_log_on_a_mixed_market_agree_with_a_fresh_search() -> (
    None
):
    """V2 writes arrive through the reserve log (vectorised, no Pool object visited); on a
    market with V3 pools the pre-filter's optimistic copy of every side must follow them."""
    market, config = mixed_market(4)
    search = ArbitrageSearch(market, config)
    rng = random.Random(4)
    v2_pools = [p for p in market.pools.values() if p.v3 is None]
    for number in range(2, 6):
        for pool in rng.sample(v2_pools, max(1, len(v2_pools) // 10)):
            scale = 1.0 + rng.gauss(0.0, 0.02)
            pool.set_reserves(int(pool.reserve0 * scale), pool.reserve1)
        found = search.on_block(block(number), set(), GAS_PRICE)  # nothing reported
        fresh = ArbitrageSearch(market, config)
        assert np.array_equal(search._gross, fresh._gross)
        assert comparable(found) == comparable(fresh.rescan(block(number), GAS_PRICE))
