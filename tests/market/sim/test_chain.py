"""The simulated chain, stepped synchronously: noise, gas, contract semantics."""

from __future__ import annotations

import dataclasses
import itertools
import random

from engine.config import SimSection
from engine.market.amm import get_amounts_out
from engine.market.model import Market
from engine.market.sim import competitors, contract, swap
from engine.market.sim.chain import SimChain
from engine.market.sim.gas import GWEI
from engine.market.venue import ArbOrder, SwapHop
from tests.market.sim.drive import search_for

QUIET = {"noise_swaps_per_block": 0, "competitor_probability": 0.0}


def reserves(market: Market) -> dict[str, tuple[int, int]]:
    return {a: (p.reserve0, p.reserve1) for a, p in market.pools.items()}


def test_noise_keeps_every_pools_k_non_decreasing() -> None:
    chain = SimChain(
        SimSection(v3_pools=False, seed=3, noise_swaps_per_block=20, noise_tail_alpha=1.1)
    )
    before = reserves(chain.market)
    for _ in range(300):
        chain.mine(now=0.0)
        after = reserves(chain.market)
        for address, (r0, r1) in after.items():
            b0, b1 = before[address]
            assert r0 > 0 and r1 > 0
            assert r0 * r1 >= b0 * b1, address
        before = after


def test_changed_pools_are_exactly_the_pools_that_changed() -> None:
    chain = SimChain(SimSection(v3_pools=False, seed=5))
    seen_changes = 0
    for _ in range(100):
        before = reserves(chain.market)
        mined = chain.mine(now=0.0)
        after = reserves(chain.market)
        assert mined.changed_pools == {a for a in after if after[a] != before[a]}
        seen_changes += len(mined.changed_pools)
    assert seen_changes > 100


def test_genesis_reports_every_pool() -> None:
    chain = SimChain(SimSection(v3_pools=False))
    assert chain.genesis(now=0.0).changed_pools == set(chain.market.pools)


def test_same_seed_same_chain() -> None:
    a, b = (
        SimChain(SimSection(v3_pools=False, seed=9)),
        SimChain(SimSection(v3_pools=False, seed=9)),
    )
    for _ in range(50):
        mined_a, mined_b = a.mine(now=1.0), b.mine(now=1.0)
        assert mined_a == mined_b
    assert reserves(a.market) == reserves(b.market)
    assert a.gas.price == b.gas.price


def test_gas_drifts_around_its_base_and_spikes() -> None:
    chain = SimChain(
        SimSection(v3_pools=False, seed=2, gas_base_gwei=20.0, gas_spike_probability=0.05)
    )
    base_fees, spikes = [], 0
    for _ in range(1000):
        mined = chain.mine(now=0.0)
        base_fees.append(mined.block.base_fee)
        spikes += chain.gas.spiking
    assert len(set(base_fees)) > 500
    assert 10 * GWEI < sum(base_fees) // len(base_fees) < 40 * GWEI
    for previous, current in itertools.pairwise(base_fees):
        assert abs(current - previous) * 8 <= previous + 8  # EIP-1559 bound: 1/8 per block
    assert spikes > 0
    assert chain.gas.price == chain.gas.base_fee + chain.gas.priority_fee


# --- the executor contract ---------------------------------------------------------------
def dislocated_chain() -> SimChain:
    """A quiet chain where a whale just sold WETH into one WETH/USDC pool."""
    chain = SimChain(dataclasses.replace(SimSection(v3_pools=False, seed=4), **QUIET))
    market = chain.market
    pool = next(
        p for p in market.pools.values() if {p.token0, p.token1} == {market.native, market.quote}
    )
    swap.swap(pool, market.native, pool.reserves_for(market.native)[0] // 50)
    return chain


def best_order(chain: SimChain, **changes: object) -> ArbOrder:
    """The search's best opportunity as an order, bounds as the paper executor sets them."""
    search = search_for(chain.market)
    genesis = chain.genesis(now=0.0).block
    opportunity = search.rescan(genesis, chain.gas.price)[0]
    path = []
    for hop in opportunity.route:
        pool = chain.market.pools[hop.pool]
        path.append((*pool.reserves_for(hop.token_in), pool.fee_bps))
    outs = get_amounts_out(opportunity.amount_in, path)[1:]
    order = ArbOrder(
        order_id=opportunity.id,
        token=opportunity.token,
        amount_in=opportunity.amount_in,
        hops=tuple(
            SwapHop(h.pool, h.token_in, h.token_out, out * 9950 // 10000)
            for h, out in zip(opportunity.route, outs, strict=True)
        ),
        min_profit=opportunity.flash_fee + opportunity.gas_cost,
        flash_fee=opportunity.flash_fee,
        gas_limit=opportunity.gas_units,
        gas_price=opportunity.gas_price,
    )
    return dataclasses.replace(order, **changes)  # type: ignore[arg-type]


def test_successful_order_moves_its_pools_and_the_wallet_exactly() -> None:
    chain = dislocated_chain()
    order = best_order(chain)
    balances = dict(chain.balances)
    chain.submit(order, now=0.0)
    mined = chain.mine(now=1.0)
    (receipt,) = mined.receipts
    assert receipt.status == "success" and receipt.revert_reason == ""
    assert mined.changed_pools == {hop.pool for hop in order.hops}
    assert receipt.token_delta == receipt.amount_out - order.amount_in - order.flash_fee > 0
    gas = receipt.gas_used * order.gas_price
    assert 0 < receipt.gas_used <= order.gas_limit
    expected = dict(balances)
    expected[chain.market.native] -= gas
    expected[order.token] = expected.get(order.token, 0) + receipt.token_delta
    assert chain.balances == expected
    # the dislocation closed: the same order no longer pays
    again = contract.run(chain.market, order)
    assert again.status == "reverted"


def assert_reverted_costs_only_gas(order: ArbOrder, reason: str) -> None:
    chain = dislocated_chain()
    balances, pools = dict(chain.balances), reserves(chain.market)
    chain.submit(order, now=0.0)
    mined = chain.mine(now=1.0)
    (receipt,) = mined.receipts
    assert (receipt.status, receipt.revert_reason) == ("reverted", reason)
    assert receipt.amount_out == 0 and receipt.token_delta == 0
    assert 0 < receipt.gas_used <= order.gas_limit
    assert reserves(chain.market) == pools
    assert mined.changed_pools == frozenset()
    expected = dict(balances)
    expected[chain.market.native] -= receipt.gas_used * order.gas_price
    assert chain.balances == expected


def test_hop_below_its_minimum_reverts_with_the_pairs_reason() -> None:
    order = best_order(dislocated_chain())
    first = order.hops[0]
    tight = dataclasses.replace(first, min_out=first.min_out * 2)
    order = dataclasses.replace(order, hops=(tight, *order.hops[1:]))
    assert_reverted_costs_only_gas(order, contract.INSUFFICIENT_OUTPUT)


def test_profit_below_minimum_reverts_after_all_hops() -> None:
    order = best_order(dislocated_chain())
    order = dataclasses.replace(order, min_profit=order.amount_in)
    assert_reverted_costs_only_gas(order, contract.PROFIT_BELOW_MINIMUM)


def test_gas_burnt_grows_with_the_work_done() -> None:
    order = best_order(dislocated_chain())
    first = dataclasses.replace(order.hops[0], min_out=order.hops[0].min_out * 2)
    early = contract.run(
        dislocated_chain().market, dataclasses.replace(order, hops=(first, *order.hops[1:]))
    )
    late = contract.run(
        dislocated_chain().market, dataclasses.replace(order, min_profit=order.amount_in)
    )
    success = contract.run(dislocated_chain().market, order)
    assert early.gas_used < late.gas_used < success.gas_used


def test_out_of_gas_burns_the_whole_limit() -> None:
    order = best_order(dislocated_chain(), gas_limit=50_000)
    assert_reverted_costs_only_gas(order, contract.OUT_OF_GAS)


def test_rival_front_run_makes_our_order_fail_on_the_real_numbers() -> None:
    sim = dataclasses.replace(SimSection(v3_pools=False, seed=4), noise_swaps_per_block=0)
    outcomes = set()
    for seed in range(8):
        chain = SimChain(dataclasses.replace(sim, seed=seed, competitor_probability=1.0))
        market = chain.market
        pool = next(
            p
            for p in market.pools.values()
            if {p.token0, p.token1} == {market.native, market.quote}
        )
        swap.swap(pool, market.native, pool.reserves_for(market.native)[0] // 50)
        order = best_order(chain)
        chain.submit(order, now=0.0)
        (receipt,) = chain.mine(now=1.0).receipts
        assert chain.rivals.front_runs == 1
        outcomes.add(receipt.revert_reason)
    assert outcomes <= {"", contract.INSUFFICIENT_OUTPUT, contract.PROFIT_BELOW_MINIMUM}
    assert outcomes & {contract.INSUFFICIENT_OUTPUT, contract.PROFIT_BELOW_MINIMUM}


def test_unaffordable_gas_is_rejected_at_submission() -> None:
    chain = dislocated_chain()
    order = best_order(chain)
    chain.balances[chain.market.native] = order.gas_limit * order.gas_price - 1
    try:
        chain.submit(order, now=0.0)
    except Exception as exc:
        assert "insufficient funds" in str(exc)
    else:
        raise AssertionError("submission should have been rejected")
    assert chain.pending == []


# --- other searchers ---------------------------------------------------------------------
def spread_bps(market: Market) -> int:
    """Widest gap between the WETH/USDC pools' mid prices, in bps of the lowest."""
    prices = [
        p.reserves_for(market.native)[1] * 10**18 // p.reserves_for(market.native)[0]
        for p in market.pools.values()
        if {p.token0, p.token1} == {market.native, market.quote}
    ]
    return (max(prices) - min(prices)) * 10_000 // min(prices)


def test_background_optimum_is_the_exact_optimum() -> None:
    market = dislocated_chain().market
    pools = [
        p for p in market.pools.values() if {p.token0, p.token1} == {market.native, market.quote}
    ]
    found = competitors._widest(pools, threshold_bps=0)
    assert found is not None
    first, second, amount = found

    def profit(x: int) -> int:
        middle = swap.quote(first, first.token0, x)
        r_in, r_out = second.reserves_for(first.token1)
        return get_amounts_out(middle, [(r_in, r_out, second.fee_bps)])[-1] - x

    assert profit(amount) > 0
    for other in (amount * 99 // 100, amount * 101 // 100):
        assert profit(other) <= profit(amount)


def test_background_searchers_keep_dexes_in_line_when_nobody_else_trades() -> None:
    chain = SimChain(SimSection(v3_pools=False, seed=7))
    for _ in range(20_000):
        chain.mine(now=0.0)
    assert chain.background.sweeps > 0
    assert spread_bps(chain.market) < 1_000


def test_background_searchers_leave_pools_with_pending_orders_alone() -> None:
    market = dislocated_chain().market
    background = competitors.BackgroundArbs(random.Random(1), probability=1.0, threshold_bps=0)
    assert background.sweep(market, reserved=set(market.pools)) == set()
    assert background.sweep(market, reserved=set())
