"""A block's reserves reach the kernel through the market's reserve log, not the Pool
objects, and leave exactly the coefficients a refresh from the objects would.

Pools reported changed without a log entry, and logged pools whose coefficients do not
come from reserve0/1 (any kind but a V2 pair), are still read from their objects.
"""

from __future__ import annotations

import numpy as np

from engine.market.model import Block, Market
from engine.strategy import kernel
from engine.strategy.search import ArbitrageSearch, SearchConfig
from tests.support.synthetic_market import MarketMover, synthetic_market

GAS_PRICE = 20 * 10**9


def config_for(market: Market) -> SearchConfig:
    bases = tuple(t.address for t in market.tokens.values() if t.address.startswith("0xb"))
    return SearchConfig(base_tokens=bases)


def block(number: int) -> Block:
    return Block(number=number, timestamp=float(number), base_fee=GAS_PRICE)


def assert_coefficients_as_read_from_the_objects(search: ArbitrageSearch) -> None:
    fresh = kernel.HopCoefficients(search.table.pools)
    fresh.refresh_all()
    assert np.array_equal(search._coefficients.a, fresh.a)
    assert np.array_equal(search._coefficients.b, fresh.b)


def test_a_blocks_changes_arrive_through_the_log_with_the_objects_coefficients() -> None:
    market = synthetic_market(400, seed=2, price_noise=0.006)
    search = ArbitrageSearch(market, config_for(market))
    mover = MarketMover(market, seed=3, sigma=0.01)
    for number, fraction in enumerate((0.01, 0.05, 0.2, 0.05), start=1):
        moved = mover.move(fraction)
        search.on_block(block(number), set(), GAS_PRICE)  # nothing reported: only the log
        assert search.stats.logged_pools == search.stats.changed_pools == len(moved)
        assert search.stats.object_pools == 0
        assert_coefficients_as_read_from_the_objects(search)
        reference = ArbitrageSearch(market, config_for(market))
        assert np.array_equal(search._gross, reference._gross)


def test_reported_pools_with_a_log_entry_are_not_read_again() -> None:
    market = synthetic_market(400, seed=2)
    search = ArbitrageSearch(market, config_for(market))
    moved = MarketMover(market, seed=3).move(0.05)
    search.on_block(block(1), moved, GAS_PRICE)
    assert search.stats.logged_pools == len(moved)
    assert search.stats.object_pools == 0


def test_a_pool_logged_twice_in_a_block_gets_its_last_reserves() -> None:
    market = synthetic_market(400, seed=2)
    search = ArbitrageSearch(market, config_for(market))
    pool = next(iter(market.pools.values()))
    pool.set_reserves(pool.reserve0 * 2, pool.reserve1)
    pool.set_reserves(pool.reserve0, pool.reserve1 * 3)
    search.on_block(block(1), set(), GAS_PRICE)
    assert search.stats.logged_pools == 1
    assert_coefficients_as_read_from_the_objects(search)


def test_a_reported_pool_written_without_the_log_is_read_from_its_object() -> None:
    market = synthetic_market(400, seed=2)
    search = ArbitrageSearch(market, config_for(market))
    logged, direct = list(market.pools.values())[:2]
    logged.set_reserves(logged.reserve0 * 2, logged.reserve1)
    direct.reserve0 *= 3  # a writer that does not log, like a V3 pool's
    search.on_block(block(1), {logged.address, direct.address}, GAS_PRICE)
    assert (search.stats.logged_pools, search.stats.object_pools) == (1, 1)
    assert_coefficients_as_read_from_the_objects(search)


def test_a_logged_pool_that_is_not_a_v2_pair_is_read_from_its_object() -> None:
    market = synthetic_market(400, seed=2)
    pool = list(market.pools.values())[5]
    pool.kind = "v3"  # its coefficients come from its object (its state), never the log
    search = ArbitrageSearch(market, config_for(market))
    pool.set_reserves(pool.reserve0 * 2, pool.reserve1)
    search.on_block(block(1), set(), GAS_PRICE)
    assert (search.stats.logged_pools, search.stats.object_pools) == (0, 1)
    assert_coefficients_as_read_from_the_objects(search)


def test_blocks_nobody_searched_arrive_with_each_pools_last_reserves() -> None:
    market = synthetic_market(400, seed=2)
    search = ArbitrageSearch(market, config_for(market))
    mover = MarketMover(market, seed=3)
    moved = set().union(*(mover.move(0.2) for _ in range(30)))
    search.on_block(block(1), set(), GAS_PRICE)
    assert search.stats.logged_pools == len(moved)
    assert_coefficients_as_read_from_the_objects(search)


def test_pools_added_after_the_table_was_built_are_ignored_until_a_rebuild() -> None:
    market = synthetic_market(400, seed=2)
    search = ArbitrageSearch(market, config_for(market))
    before = dict(market.pools)
    grown = synthetic_market(420, seed=2)
    for token in grown.tokens.values():
        market.add_token(token)
    for address, pool in grown.pools.items():
        if address not in before:
            market.add_pool(pool)
            pool.set_reserves(pool.reserve0 * 2, pool.reserve1)
    search.on_block(block(1), set(), GAS_PRICE)
    assert search.stats.changed_pools == 0
