"""The per-block decision reads what changed, not the whole market, and decides as before.

The reference here is the old per-block path written out: every cycle evaluated from
scratch, every gross-positive cycle ranked. The search keeps its numbers incrementally,
ranks only its candidate set's members, takes reserves from the market's reserve log
(and reads the pools reported without a log entry from their objects) and reuses exact
walks of unchanged routes; over random blocks (small and large changes, each pool
delivered through the log, reported, or both; gas prices, gas-model updates, re-check
depths small enough that the candidate thresholds refill and trim) it must agree exactly.
"""

from __future__ import annotations

import dataclasses
import random
from unittest import mock

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.market.model import Block, Market, Pool
from engine.strategy import candidates, kernel
from engine.strategy.gas_model import GasModel
from engine.strategy.opportunity import Opportunity
from engine.strategy.pricing import BlockCosts
from engine.strategy.search import ArbitrageSearch, SearchConfig
from tests.support.synthetic_market import address, synthetic_market

GAS_PRICE = 20 * 10**9


def config_for(market: Market, max_rechecks: int) -> SearchConfig:
    bases = tuple(t.address for t in market.tokens.values() if t.address.startswith("0xb"))
    return SearchConfig(
        base_tokens=bases, top_n=5, max_rechecks=max_rechecks, plan_candidates=max_rechecks
    )


def block(number: int) -> Block:
    return Block(number=number, timestamp=float(number), base_fee=GAS_PRICE)


def comparable(found: list[Opportunity]) -> list[Opportunity]:
    return [dataclasses.replace(o, detected_at=0.0) for o in found]


def scratch_gross(search: ArbitrageSearch) -> npt.NDArray[np.float64]:
    """Every cycle evaluated from the live pools, with a fresh set of coefficients."""
    table = search.table
    coefficients = kernel.HopCoefficients(table.pools)
    coefficients.refresh_all()
    _, gross = kernel.evaluate(coefficients, list(table.sides), search._cost_factor, search._cap)
    return gross


def old_ranking(search: ArbitrageSearch, costs: BlockCosts) -> list[int]:
    """The ranking before the candidate set: every gross-positive cycle, best value first."""
    table, gross_all = search.table, scratch_gross(search)
    candidates = np.flatnonzero(gross_all > 0.0)
    token = table.token[candidates]
    gross = gross_all[candidates]
    gas = search._units_float[search._shape_of[candidates]] * costs.gas_per_unit_float[token]
    net = gross - gas
    keep = net > -(4.0 + 1e-9 * (gross + gas))
    candidates, net = candidates[keep], net[keep]
    value = net * costs.to_quote_float[token[keep]]
    priced = np.isfinite(value)
    candidates, value = candidates[priced], value[priced]
    order = np.lexsort((candidates, -value))[: search.config.max_rechecks]
    return candidates[order].tolist()


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    max_rechecks=st.sampled_from([1, 3, 8, 64]),
    headroom=st.sampled_from([1, 3]),  # 1: every lost member makes its group re-read
    steps=st.lists(
        st.tuples(
            st.sampled_from([0.0, 0.01, 0.05, 0.2, 0.5, 1.0]),
            st.sampled_from([0, 10**9, 20 * 10**9, 300 * 10**9]),
            st.integers(0, 3),  # receipts fed to the gas model before the block
        ),
        min_size=3,
        max_size=8,
    ),
)
def test_random_blocks_rank_and_decide_exactly_as_the_old_full_path(
    seed: int, max_rechecks: int, headroom: int, steps: list[tuple[float, int, int]]
) -> None:
    with mock.patch.object(candidates, "_TARGET", headroom):
        run_random_blocks(seed, max_rechecks, steps)


def test_random_blocks_evaluated_in_small_kernel_chunks_decide_as_the_old_full_path() -> None:
    steps = [(0.01, GAS_PRICE, 0), (0.2, GAS_PRICE, 1), (1.0, 10**9, 0), (0.05, GAS_PRICE, 2)]
    with mock.patch.object(kernel, "_CHUNK", 97):  # divides neither the table nor a block
        run_random_blocks(11, 8, steps)


def test_groups_that_lose_their_members_re_read_their_cycles_and_still_agree() -> None:
    steps = [(0.2, GAS_PRICE, 0)] * 4
    with mock.patch.object(candidates, "_TARGET", 1):
        assert run_random_blocks(7, 1, steps) > 0


def run_random_blocks(seed: int, max_rechecks: int, steps: list[tuple[float, int, int]]) -> int:
    rng = random.Random(seed)
    market = synthetic_market(400, seed=seed % 1000, price_noise=0.006)
    config = config_for(market, max_rechecks)
    search = ArbitrageSearch(market, config, GasModel(config.gas_units))
    pools = list(market.pools.values())
    for number, (fraction, gas_price, receipts) in enumerate(steps, start=1):
        changed = write_block(rng.sample(pools, int(fraction * len(pools))), rng)
        for _ in range(receipts):
            shape = rng.choice(search.shapes)
            search.gas_model.observe_receipt(shape, rng.randrange(80_000, 400_000))
        got = search.on_block(block(number), changed, gas_price)
        assert np.array_equal(search._gross, scratch_gross(search))
        costs = search._block_costs(gas_price)
        assert search._ranked_candidates(costs).tolist() == old_ranking(search, costs)
        fresh = ArbitrageSearch(market, config, GasModel(config.gas_units))
        fresh._gas = search.gas_model
        assert comparable(got) == comparable(fresh.rescan(block(number), gas_price))
    return search._candidates.refills


def write_block(pools: list[Pool], rng: random.Random) -> set[str]:
    """Each pool moved one of the three ways a block can deliver it: through the reserve
    log and reported, through the log only, or written directly and reported (the
    object path). Returns the reported pools."""
    reported = set()
    for pool in pools:
        move = 1.0 + rng.gauss(0.0, 0.01)
        reserve0, reserve1 = max(1, int(pool.reserve0 * move)), max(1, int(pool.reserve1 / move))
        how = rng.randrange(3)
        if how < 2:
            pool.set_reserves(reserve0, reserve1)
        else:
            pool.reserve0, pool.reserve1 = reserve0, reserve1
        if how != 1:
            reported.add(pool.address)
    return reported


def test_a_block_re_evaluates_each_touched_cycle_once() -> None:
    market = synthetic_market(400, seed=2)
    search = ArbitrageSearch(market, config_for(market, 64))
    table = search.table
    token_pools = [p for p in market.pools.values() if p.token0 == address("t", 0)]
    pools = [p for p in token_pools if p.token1 == address("b", 0)][:3]
    indices = [table.pool_index[p.address] for p in pools]
    with_repeats = table.cycles_touching(indices)
    assert len(np.unique(with_repeats)) < len(with_repeats), "the pools should share cycles"
    search.on_block(block(1), {p.address for p in pools}, GAS_PRICE)
    assert not search.stats.full_pass
    assert search.stats.touched_cycles == len(np.unique(with_repeats))


def test_a_block_touching_most_cycles_takes_a_full_pass() -> None:
    market = synthetic_market(400, seed=2)
    search = ArbitrageSearch(market, config_for(market, 64))
    search.on_block(block(1), set(market.pools), GAS_PRICE)
    assert search.stats.full_pass
    assert search.stats.touched_cycles == search.cycle_count


def test_the_ranking_reads_its_candidates_not_every_positive_cycle() -> None:
    market = synthetic_market(2000, seed=3, price_noise=0.01)
    search = ArbitrageSearch(market, config_for(market, 1))
    search.on_block(block(1), set(), GAS_PRICE)
    assert search.gross_positive_count > 5 * search.stats.members > 0


def test_an_exact_walk_runs_again_only_when_its_route_changed() -> None:
    market = synthetic_market(400, seed=5, price_noise=0.01)
    search = ArbitrageSearch(market, config_for(market, 16))
    first = search.on_block(block(1), set(), GAS_PRICE)
    assert first and search.stats.walks > 0
    again = search.on_block(block(2), set(), GAS_PRICE)
    assert search.stats.rechecks > 0 and search.stats.walks == 0
    assert [o.id.split("-", 1)[1] for o in again] == [o.id.split("-", 1)[1] for o in first]
    pool = market.pools[first[0].route[0].pool]
    pool.reserve0 += pool.reserve0 // 100
    search.on_block(block(3), {pool.address}, GAS_PRICE)
    assert search.stats.walks > 0
