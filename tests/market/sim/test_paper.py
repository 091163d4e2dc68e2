"""The paper executor: exact books, reverts that cost only gas, the gate and the kill."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from engine.config import StrategySection
from engine.execution.gate import GateClosed
from engine.ledger.records import TradeRecord
from engine.lifecycle import Actor
from engine.market.model import Block
from engine.market.sim import CANCELLED_BY_KILL, swap
from engine.market.sim.contract import INSUFFICIENT_OUTPUT, PROFIT_BELOW_MINIMUM
from engine.strategy.opportunity import Opportunity
from tests.market.sim.drive import Mode, Rig, make_rig, run, sim_section

OPERATOR = Actor(uid=1000, client="test")
REVERT_REASONS = {INSUFFICIENT_OUTPUT, PROFIT_BELOW_MINIMUM}


def wallet_change(rig: Rig) -> dict[str, int]:
    end = rig.venue.wallet_balances()
    tokens = set(end) | set(rig.start_balances)
    change = {t: end.get(t, 0) - rig.start_balances.get(t, 0) for t in tokens}
    return {t: v for t, v in change.items() if v}


def booked_change(trades: list[TradeRecord], native: str) -> dict[str, int]:
    change: Counter[str] = Counter()
    for trade in trades:
        change[trade.token] += trade.profit_token
        change[native] -= trade.gas_cost_wei
    return {t: v for t, v in change.items() if v}


@pytest.mark.parametrize("mode", ["gather", "spawn"])
async def test_books_balance_to_the_unit(mode: Mode) -> None:
    rig = make_rig(sim_section(seed=13, competitor_probability=0.3))
    rig = await run(rig, last_block=300, mode=mode)
    statuses = Counter(t.status for t in rig.trades)
    assert statuses["success"] > 20 and statuses["reverted"] > 5
    assert wallet_change(rig) == booked_change(rig.trades, rig.venue.market.native)


async def test_flash_fees_are_paid_and_booked() -> None:
    strategy = StrategySection(flash_fee_bps=9)
    rig = make_rig(sim_section(seed=13), strategy=strategy)
    rig = await run(rig, last_block=150)
    successes = [t for t in rig.trades if t.status == "success"]
    assert successes
    for trade in successes:
        assert trade.flash_fee == -(-trade.amount_in * 9 // 10_000)
        assert trade.profit_token == trade.amount_out - trade.amount_in - trade.flash_fee
        assert trade.flash_fee_quote > 0
    assert wallet_change(rig) == booked_change(rig.trades, rig.venue.market.native)


async def test_every_record_is_complete_and_consistent() -> None:
    rig = await run(make_rig(sim_section(seed=17, competitor_probability=0.3)), last_block=120)
    market = rig.venue.market
    assert rig.trades
    assert len({t.id for t in rig.trades}) == len(rig.trades)
    assert len({t.tx_hash for t in rig.trades}) == len(rig.trades)
    for trade in rig.trades:
        assert trade.venue == "sim"
        assert trade.token_symbol == market.tokens[trade.token].symbol
        assert trade.route and all(set(h) == {"pool", "token_in", "token_out", "kind", "fee_pips"} for h in trade.route)
        assert trade.tx_hash.startswith("0x") and len(trade.tx_hash) == 66
        assert trade.gas_cost_wei == trade.gas_used * trade.gas_price > 0
        assert trade.block_number > int(trade.opportunity_id.split("-")[0])
        assert trade.detected_at <= trade.submitted_at <= trade.mined_at
        assert trade.expected_profit > 0
        assert trade.gas_cost_quote > 0
        assert trade.flash_fee_quote == 0  # the default strategy borrows for free
        if trade.status == "success":
            assert trade.revert_reason == ""
            assert trade.profit_token == trade.amount_out - trade.amount_in - trade.flash_fee
            assert trade.profit_token > 0
        else:
            assert trade.status == "reverted"
            assert trade.revert_reason in REVERT_REASONS


async def test_a_reverted_trade_costs_exactly_its_gas() -> None:
    """One order at a time, so each trade's wallet effect can be seen on its own."""
    rig = make_rig(sim_section(seed=3, competitor_probability=0.5))
    native = rig.venue.market.native
    reverted = 0
    await rig.venue.start()
    try:
        async for update in rig.venue.blocks():
            found = rig.search.on_block(update.block, update.changed_pools, rig.venue.gas_price())
            for opportunity in found[:1]:
                before = rig.venue.wallet_balances()
                trade = await rig.executor.execute(opportunity)
                after = rig.venue.wallet_balances()
                change = {t: after.get(t, 0) - before.get(t, 0) for t in after}
                if trade.status == "reverted":
                    reverted += 1
                    assert trade.revert_reason in REVERT_REASONS
                    assert (trade.profit_token, trade.amount_out, trade.flash_fee) == (0, 0, 0)
                    assert trade.profit_native == -trade.gas_cost_wei
                    assert trade.profit_quote < 0
                    assert {t: v for t, v in change.items() if v} == {native: -trade.gas_cost_wei}
            if reverted >= 3 or update.block.number >= 400:
                break
    finally:
        await rig.venue.stop()
    assert reverted >= 3


def a_dislocation(rig: Rig) -> Opportunity:
    """A whale hits one pool of the (not yet started) venue; the search finds the arb."""
    market = rig.venue.market
    pool = next(
        p for p in market.pools.values() if {p.token0, p.token1} == {market.native, market.quote}
    )
    swap.swap(pool, market.native, pool.reserves_for(market.native)[0] // 40)
    block = Block(number=0, timestamp=0.0, base_fee=rig.venue.gas_price())
    return rig.search.rescan(block, rig.venue.gas_price())[0]


async def test_cancel_pending_resolves_orders_as_cancelled_and_never_applies_them(
    tmp_path: Path,
) -> None:
    rig = make_rig(sim_section(seed=6), tmp_path)
    opportunity = a_dislocation(rig)
    task = asyncio.create_task(rig.executor.execute(opportunity))
    await asyncio.sleep(0)  # the order is in the mempool now
    assert rig.venue.status()["pending"] == 1
    rig.lifecycle.enter_halt("test kill", OPERATOR)
    cancelled = await rig.gate.cancel_in_flight()
    trade = await task
    assert cancelled == [trade.tx_hash]
    assert (trade.status, trade.revert_reason) == ("failed", CANCELLED_BY_KILL)
    assert (trade.gas_used, trade.gas_cost_wei, trade.profit_token) == (0, 0, 0)
    assert (trade.profit_native, trade.profit_quote, trade.amount_out) == (0, 0, 0)
    # the chain runs on; nothing of the cancelled order ever lands
    await run(rig, last_block=20, trade=False)
    assert rig.venue.status()["pending"] == 0
    assert rig.venue.wallet_balances() == rig.start_balances
    assert rig.gate.stats.in_flight == {}


@pytest.mark.parametrize("stop", ["pause", "kill"])
async def test_a_closed_gate_sends_nothing(tmp_path: Path, stop: str) -> None:
    rig = make_rig(sim_section(seed=6), tmp_path)
    opportunity = a_dislocation(rig)
    if stop == "pause":
        rig.lifecycle.pause("operator pause", OPERATOR)
    else:
        rig.lifecycle.enter_halt("operator kill", OPERATOR)
    with pytest.raises(GateClosed):
        await rig.executor.execute(opportunity)
    assert rig.venue.status()["pending"] == 0
    assert rig.gate.stats.sent == 0 and rig.gate.stats.refused == 1
    await run(rig, last_block=10, trade=False)
    assert rig.venue.wallet_balances() == rig.start_balances


async def test_unaffordable_gas_fails_without_a_block(tmp_path: Path) -> None:
    rig = make_rig(sim_section(seed=6, wallet_weth="0"), tmp_path)
    opportunity = a_dislocation(rig)
    trade = await rig.executor.execute(opportunity)
    assert trade.status == "failed" and "insufficient funds" in trade.revert_reason
    assert (trade.gas_cost_wei, trade.block_number, trade.profit_quote) == (0, 0, 0)
    assert rig.venue.status()["pending"] == 0
