"""A block takes the full pass or the incremental path by their estimated CPU, not a ratio.

The estimate is per touched cycle (incremental, counted with repeats) against per cycle of
the table (full pass), each learnt from the CPU the search measured for that path; either
path leaves the same numbers, so the choice may only change the time a block takes, never
what it decides.
"""

from __future__ import annotations

import dataclasses

from engine.market.model import Block, Market
from engine.strategy.pass_cost import PassCosts
from engine.strategy.search import ArbitrageSearch, SearchConfig
from tests.support.synthetic_market import synthetic_market

GAS_PRICE = 20 * 10**9


def config_for(market: Market) -> SearchConfig:
    bases = tuple(t.address for t in market.tokens.values() if t.address.startswith("0xb"))
    return SearchConfig(base_tokens=bases, top_n=5)


def test_the_full_pass_is_taken_when_touching_the_cycles_would_cost_more() -> None:
    costs = PassCosts(per_touch=30e-9, per_cycle=10e-9)
    assert costs.full_pass_cheaper(touches=400_000, cycles=1_000_000)
    assert not costs.full_pass_cheaper(touches=300_000, cycles=1_000_000)


def test_a_block_touching_nothing_never_takes_a_full_pass() -> None:
    costs = PassCosts(per_touch=1.0, per_cycle=0.0)
    assert not costs.full_pass_cheaper(touches=0, cycles=10)


def test_measured_costs_move_the_choice() -> None:
    costs = PassCosts(per_touch=30e-9, per_cycle=10e-9)
    assert costs.full_pass_cheaper(touches=400_000, cycles=1_000_000)
    for _ in range(50):  # full passes measured at 15 ns a cycle
        costs = costs.observed_full(cycles=1_000_000, seconds=0.015)
    assert not costs.full_pass_cheaper(touches=400_000, cycles=1_000_000)
    for _ in range(50):  # and touched cycles at 20 ns
        costs = costs.observed_incremental(touches=100_000, cycles=1_000_000, seconds=0.002)
    assert costs.full_pass_cheaper(touches=800_000, cycles=1_000_000)
    assert not costs.full_pass_cheaper(touches=700_000, cycles=1_000_000)


def test_one_outlying_measurement_moves_an_estimate_only_a_little() -> None:
    costs = PassCosts(per_touch=30e-9, per_cycle=10e-9)
    slow = costs.observed_full(cycles=1_000_000, seconds=1.0)  # a descheduled pass
    assert slow.per_cycle < 2 * costs.per_cycle
    empty = costs.observed_incremental(touches=0, cycles=1_000_000, seconds=0.001)
    assert empty == costs


def test_a_run_of_slow_measurements_keeps_an_estimate_near_its_prior() -> None:
    costs = PassCosts()
    for _ in range(200):
        costs = costs.observed_incremental(touches=100_000, cycles=1_000_000, seconds=1.0)
        costs = costs.observed_full(cycles=1_000_000, seconds=1e-9)
    assert costs.per_touch == 2 * PassCosts().per_touch
    assert costs.per_cycle == PassCosts().per_cycle / 2


def test_a_block_touching_a_small_share_of_the_table_teaches_nothing() -> None:
    """Its time is mostly fixed costs: as a per-cycle figure it would say a touched cycle
    costs ten times what it does, and push every larger block into full passes."""
    costs = PassCosts()
    learnt = costs.observed_incremental(touches=2_000, cycles=100_000, seconds=0.001)
    assert learnt == costs


def decide(search: ArbitrageSearch, number: int, changed: set[str]) -> list[object]:
    found = search.on_block(Block(number, float(number), GAS_PRICE), changed, GAS_PRICE)
    return [dataclasses.replace(o, detected_at=0.0) for o in found]


def test_the_search_takes_whichever_path_its_estimates_say_and_decides_the_same() -> None:
    market = synthetic_market(300, seed=9, price_noise=0.01)
    config = config_for(market)
    search = ArbitrageSearch(market, config)
    pools = list(market.pools.values())
    for number, (costs, expect_full) in enumerate(
        [
            (PassCosts(per_touch=1.0, per_cycle=1e-9), True),  # touching is dear
            (PassCosts(per_touch=1e-9, per_cycle=1.0), False),  # the full pass is dear
        ],
        start=1,
    ):
        search.pass_costs = costs
        changed = set()
        for pool in pools[number::7]:
            pool.set_reserves(pool.reserve0 + pool.reserve0 // 50, pool.reserve1)
            changed.add(pool.address)
        got = decide(search, number, changed)
        assert search.stats.full_pass is expect_full
        fresh = ArbitrageSearch(market, config)
        expected = fresh.rescan(Block(number, float(number), GAS_PRICE), GAS_PRICE)
        assert got == [dataclasses.replace(o, detected_at=0.0) for o in expected]


def test_every_pool_changed_still_goes_incremental_when_the_full_pass_is_dearer() -> None:
    market = synthetic_market(300, seed=3)
    search = ArbitrageSearch(market, config_for(market))
    search.pass_costs = PassCosts(per_touch=1e-12, per_cycle=1.0)
    decide(search, 1, set(market.pools))
    assert not search.stats.full_pass
    assert search.stats.touched_cycles == search.cycle_count
