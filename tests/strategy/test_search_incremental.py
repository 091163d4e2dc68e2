"""Incremental evaluation: a block re-reads only the pools it is told about, yet decides
exactly as a full rescan would."""

from __future__ import annotations

import dataclasses
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.market.model import Block, Market, Pool
from engine.strategy.opportunity import Opportunity
from engine.strategy.search import ArbitrageSearch, SearchConfig
from tests.support.synthetic_market import address, perturb, synthetic_market

GAS_PRICE = 20 * 10**9


def config_for(market: Market, top_n: int = 25) -> SearchConfig:
    bases = tuple(t.address for t in market.tokens.values() if t.address.startswith("0xb"))
    return SearchConfig(base_tokens=bases, top_n=top_n)


def comparable(found: list[Opportunity]) -> list[Opportunity]:
    """Everything but the wall-clock detection time."""
    return [dataclasses.replace(o, detected_at=0.0) for o in found]


def token_zero_pools(market: Market) -> list[Pool]:
    """The first listed token's WETH pools: at least two dexes, so a two-pool cycle exists."""
    weth, token = address("b", 0), address("t", 0)
    return [p for p in market.pools.values() if (p.token0, p.token1) == (token, weth)]


def block(number: int) -> Block:
    return Block(number=number, timestamp=float(number), base_fee=GAS_PRICE)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    fraction=st.sampled_from([0.01, 0.05, 0.2, 1.0]),
    gas_prices=st.lists(st.sampled_from([0, 10**9, 20 * 10**9, 300 * 10**9]), min_size=4),
)
def test_on_block_returns_what_a_full_rescan_returns(
    seed: int, fraction: float, gas_prices: list[int]
) -> None:
    rng = random.Random(seed)
    market = synthetic_market(150, seed=seed, price_noise=0.006)
    incremental = ArbitrageSearch(market, config_for(market))
    reference = ArbitrageSearch(market, config_for(market))
    pools = list(market.pools.values())
    for number, gas_price in enumerate(gas_prices, start=1):
        changed = perturb(rng.sample(pools, max(1, int(fraction * len(pools)))), rng, 0.01)
        got = incremental.on_block(block(number), changed, gas_price)
        assert comparable(got) == comparable(reference.rescan(block(number), gas_price))


def test_a_pool_reported_unchanged_keeps_its_old_reserves_until_rescan() -> None:
    market = synthetic_market(150, seed=3, price_noise=0.0)
    search = ArbitrageSearch(market, config_for(market))
    assert search.on_block(block(1), set(), GAS_PRICE) == []
    pool = token_zero_pools(market)[0]
    pool.reserve0 //= 2  # token 0 now costs twice as much here as on the other dexes
    assert search.on_block(block(2), set(), GAS_PRICE) == []
    assert search.rescan(block(2), GAS_PRICE) != []


def test_a_reported_change_is_seen_without_a_rescan() -> None:
    market = synthetic_market(150, seed=3, price_noise=0.0)
    search = ArbitrageSearch(market, config_for(market))
    pool = token_zero_pools(market)[0]
    pool.reserve0 //= 2
    found = search.on_block(block(1), {pool.address}, GAS_PRICE)
    assert any(pool.address in {hop.pool for hop in o.route} for o in found)


def test_unknown_pools_in_a_block_are_ignored() -> None:
    market = synthetic_market(150, seed=4)
    search = ArbitrageSearch(market, config_for(market))
    before = comparable(search.rescan(block(1), GAS_PRICE))
    after = search.on_block(block(1), {"0xnot-a-pool"}, GAS_PRICE)
    assert comparable(after) == before


def test_a_quiet_block_repeats_the_previous_decision_under_a_new_id() -> None:
    market = synthetic_market(150, seed=5, price_noise=0.01)
    search = ArbitrageSearch(market, config_for(market))
    first = search.rescan(block(1), GAS_PRICE)
    second = search.on_block(block(2), set(), GAS_PRICE)
    assert first, "the noisy market should offer something"
    assert [o.id.split("-", 1)[1] for o in first] == [o.id.split("-", 1)[1] for o in second]
    assert all(o.id.startswith("2-") for o in second)
