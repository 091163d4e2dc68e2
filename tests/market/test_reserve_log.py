"""Every venue writes V2 reserves through the market's reserve log, and the log stays
truthful and bounded: only a market's own pool objects log, each once with the last
reserves its object holds."""

from __future__ import annotations

import copy
import dataclasses
import random

from engine.market.evm.pools import PoolBook
from engine.market.model import Market, Pool
from engine.market.sim import contract, swap
from engine.market.sim.noise import NoiseTraders
from tests.support.synthetic_market import MarketMover, synthetic_market


def logged(market: Market) -> list[tuple[int, float, float, str]]:
    """(slot, reserve0, reserve1, address) of each pool the log holds, by slot."""
    by_slot = {p.slot: p.address for p in market.pools.values()}
    entries = market.reserve_log.take()
    return [
        (slot, r0, r1, by_slot[slot])
        for slot, r0, r1 in zip(
            entries.slots.tolist(),
            entries.reserve0.tolist(),
            entries.reserve1.tolist(),
            strict=True,
        )
    ]


def entry_of(pool: Pool) -> tuple[int, float, float, str]:
    return (pool.slot, float(pool.reserve0), float(pool.reserve1), pool.address)


def test_pools_get_the_slots_of_the_order_they_were_added_in() -> None:
    market = synthetic_market(50)
    assert [p.slot for p in market.pools.values()] == list(range(len(market.pools)))
    assert all(market.reserve_log.owns(p) for p in market.pools.values())


def test_a_write_sets_the_pool_and_logs_its_slot_and_float_reserves() -> None:
    market = synthetic_market(50)
    pool = list(market.pools.values())[7]
    pool.set_reserves(3 * 10**30 + 1, 5)
    assert (pool.reserve0, pool.reserve1) == (3 * 10**30 + 1, 5)
    assert logged(market) == [(7, float(3 * 10**30 + 1), 5.0, pool.address)]
    assert logged(market) == []  # taken once


def test_a_copy_of_a_pool_writes_its_own_reserves_and_logs_nothing() -> None:
    market = synthetic_market(50)
    pool = next(iter(market.pools.values()))
    copies = (copy.copy(pool), copy.deepcopy(pool), dataclasses.replace(pool))
    for twin in copies:  # a planner's scratch copy
        twin.set_reserves(1, 2)
        assert (twin.reserve0, twin.reserve1) == (1, 2)
        assert twin == dataclasses.replace(pool, reserve0=1, reserve1=2)
    assert (pool.reserve0, pool.reserve1) != (1, 2)
    assert logged(market) == []


def test_a_pool_replaced_in_the_market_logs_no_more() -> None:
    market = synthetic_market(50)
    old = next(iter(market.pools.values()))
    new = Pool(old.dex, old.address, old.token0, old.token1, 10, 20, old.fee_bps)
    market.add_pool(new)
    old.set_reserves(1, 1)
    new.set_reserves(11, 21)
    assert (old.reserve0, old.reserve1) == (1, 1)
    assert logged(market) == [(len(market.pools), 11.0, 21.0, old.address)]


def test_a_log_nobody_reads_holds_each_pool_once_with_its_last_reserves() -> None:
    market = synthetic_market(50)
    pools = list(market.pools.values())
    for n in range(20 * len(pools) + 7):
        pools[n % len(pools)].set_reserves(n + 1, n + 2)
    assert len(market.reserve_log) == len(pools)
    assert logged(market) == [entry_of(p) for p in pools]
    assert len(market.reserve_log) == 0


def test_a_sync_applied_by_the_evm_venue_is_logged_unless_it_changes_nothing() -> None:
    market = synthetic_market(50)
    moved, same = list(market.pools.values())[3:5]
    changed = PoolBook(market).apply(
        {moved.address: (123, 456), same.address: (same.reserve0, same.reserve1)}
    )
    assert changed == {moved.address}
    assert logged(market) == [entry_of(moved)]


def test_the_simulated_swaps_are_logged_with_the_reserves_they_leave() -> None:
    market = synthetic_market(200)
    changed = NoiseTraders(30, 1.5, random.Random(4)).trade(market)
    assert logged(market) == sorted(entry_of(market.pools[a]) for a in changed)


def test_a_committed_contract_call_is_logged() -> None:
    market = synthetic_market(50)
    first, second = list(market.pools.values())[:2]
    staged = {first.address: (first.reserve0 + 5, first.reserve1 - 4), second.address: (9, 8)}
    execution = contract.Execution("success", "", 100_000, staged=staged)
    touched = contract.commit(market, execution)
    assert (second.reserve0, second.reserve1) == (9, 8)
    assert sorted(logged(market)) == sorted(entry_of(market.pools[a]) for a in touched)


def test_the_benchmark_mover_writes_as_a_venue_does() -> None:
    market = synthetic_market(200)
    changed = MarketMover(market, seed=1).move(0.1)
    assert {a for *_, a in logged(market)} == changed
    pool = next(iter(market.pools.values()))
    swap.swap(pool, pool.token0, pool.reserve0 // 100)
    assert logged(market) == [entry_of(pool)]
