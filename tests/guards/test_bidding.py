"""Bidding: the priority fee is a share of the expected profit, capped by the gas guard,
and what approval judges is the profit left after it.

Real guards over the simulated venue's market (not started: its pools and gas process
are what the bid reads), one pool pushed out of line so the route has a real profit; the
cycle starts in WETH, the native token, so profit and gas are in the same unit and the
test's arithmetic is the whole story."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from engine.approval import ApprovalChain, build_chain
from engine.bus import EventBus
from engine.config import GuardsSection, SimSection, StrategySection, load
from engine.execution.gate import SendGate
from engine.execution.paper import PaperExecutor
from engine.guards.approver import Guards
from engine.guards.bidding import Fees, priority_fee, share_bid
from engine.guards.thresholds import build_thresholds
from engine.ledger.sqlite import SqliteLedger
from engine.ledger.writer import LedgerWriter
from engine.lifecycle import Lifecycle
from engine.market.amm import get_amounts_out
from engine.market.sim import SimVenue
from engine.strategy import exact
from engine.strategy.opportunity import Hop, Opportunity
from tests.guards.build import GWEI, Clock
from tests.guards.conftest import QUIET_TRADE_RULES

UNITS = 180_000


class Rig:
    """The sim's WETH/USDC pools, sushiswap's USDC reserve 3 % high: sell WETH there,
    buy it back on uniswap."""

    def __init__(self, store: SqliteLedger, share_bps: int, **guards: Any) -> None:
        self.venue = SimVenue(SimSection(v3_pools=False))
        m = self.venue.market
        pools = {p.dex: p for p in m.pools.values() if {p.token0, p.token1} == {m.native, m.quote}}
        pools["sushiswap"].reserve1 = pools["sushiswap"].reserve1 * 103 // 100
        if pools["sushiswap"].token0 != m.native:
            pools["sushiswap"].reserve0 = pools["sushiswap"].reserve0 * 103 // 100
        self.route = (
            Hop(pools["sushiswap"].address, m.native, m.quote),
            Hop(pools["uniswap"].address, m.quote, m.native),
        )
        self.path = [
            (*m.pools[h.pool].reserves_for(h.token_in), m.pools[h.pool].fee_bps) for h in self.route
        ]
        guards.setdefault("disabled", ["max_head_age", *QUIET_TRADE_RULES])
        section = dataclasses.replace(GuardsSection(), **guards)
        thresholds = build_thresholds(section, "USDC", 6)
        self.bus = EventBus()
        self.guards = Guards(
            thresholds,
            self.bus,
            LedgerWriter(store),
            self.venue,
            {2: 130_000},
            Clock(),
            priority_fee_share_bps=share_bps,
        )

    @property
    def fees(self) -> Fees:
        status = self.venue.status()
        return Fees(status["base_fee"], status["gas_price"] - status["base_fee"])

    def opportunity(self) -> Opportunity:
        """The route's exact optimum, priced as the search prices it (WETH: gas in wei)."""
        amount_in, _ = exact.optimal_input(self.path)
        out = get_amounts_out(amount_in, self.path)[-1]
        price = self.venue.gas_price()
        net = out - amount_in - UNITS * price
        to_quote = self.guards._prices.rate(self.venue.market.native, self.venue.market.quote)
        assert to_quote is not None and net > 0
        return Opportunity(
            id="7-weth-cycle",
            block_number=7,
            route=self.route,
            token=self.venue.market.native,
            amount_in=amount_in,
            amount_out=out,
            gross_profit=out - amount_in,
            gas_units=UNITS,
            gas_price=price,
            gas_cost=UNITS * price,
            flash_fee=0,
            net_profit=net,
            net_profit_quote=to_quote.down(net),
            detected_at=0.0,
        )

    def chain(self) -> ApprovalChain:
        return build_chain(
            self.guards, None, self.guards.triggers, sizer=self.guards, bidder=self.guards
        )


@pytest.fixture
def rig(ledger: SqliteLedger) -> Rig:
    """A 50 % share, the gas cap far above what it bids."""
    return Rig(ledger, 5_000, max_gas_price_gwei=100_000.0)


def test_with_a_share_of_half_the_priority_fee_is_half_the_expected_profit_over_gas(
    rig: Rig,
) -> None:
    found = rig.opportunity()
    fees = rig.fees
    expected = found.gross_profit - UNITS * fees.base_fee  # before any tip, in wei
    half = expected // 2 // UNITS  # exact integers: floor(E * 5000 / (10000 * G))
    assert half == expected * 5_000 // (10_000 * UNITS) and half > fees.tip
    bid = rig.guards.bid(found)
    assert bid.priority_fee == half
    assert bid.gas_price == fees.base_fee + half
    assert bid.gas_cost == UNITS * (fees.base_fee + half)
    assert bid.net_profit == found.gross_profit - UNITS * (fees.base_fee + half)
    assert bid.net_profit >= expected - expected // 2  # the bid costs at most the share
    rate = rig.guards._prices.rate(rig.venue.market.native, rig.venue.market.quote)
    assert rate is not None and bid.net_profit_quote == rate.down(bid.net_profit)


def test_the_bid_is_capped_so_the_gas_price_stays_within_the_max_gas_price_guard(
    ledger: SqliteLedger,
) -> None:
    probe = Rig(ledger, 5_000)
    base = probe.fees.base_fee
    cap_gwei = (base + 3 * GWEI) / GWEI  # 3 gwei of room for the tip
    rig = Rig(ledger, 5_000, max_gas_price_gwei=cap_gwei)
    bid = rig.guards.bid(rig.opportunity())
    cap = rig.guards.thresholds.max_gas_price
    assert share_bid(bid.gross_profit - UNITS * base, UNITS, 5_000) > cap - base  # would exceed
    assert bid.priority_fee == cap - base and bid.gas_price == cap
    assert rig.guards.review(bid) is None  # the gas guard passes what it capped


def test_the_bid_is_never_below_the_venues_tip_and_a_floor_above_the_cap_wins() -> None:
    fees = Fees(base_fee=30 * GWEI, tip=2 * GWEI)
    assert priority_fee(10**15, UNITS, 1, fees, None) == 2 * GWEI  # a tiny share: the tip
    assert priority_fee(10**18, UNITS, 5_000, fees, 31 * GWEI) == 2 * GWEI  # cap < base + tip
    assert priority_fee(10**18, UNITS, 5_000, fees, 40 * GWEI) == 10 * GWEI
    assert priority_fee(-5, UNITS, 5_000, fees, None) == 2 * GWEI


def test_a_share_of_zero_bids_the_venues_tip_as_before(ledger: SqliteLedger) -> None:
    rig = Rig(ledger, 0)
    found = rig.opportunity()
    bid = rig.guards.bid(found)
    assert bid.priority_fee == rig.fees.tip
    assert (bid.gas_price, bid.gas_cost, bid.net_profit) == (
        found.gas_price,
        found.gas_cost,
        found.net_profit,
    )


def test_approval_judges_the_net_profit_left_after_the_bid(ledger: SqliteLedger) -> None:
    found = Rig(ledger, 9_000).opportunity()
    bid = Rig(ledger, 9_000).guards.bid(found)
    # a minimum between the profit after the bid and the profit before it
    minimum_quote = (bid.net_profit_quote + found.net_profit_quote) // 2
    rig = Rig(ledger, 9_000, min_net_profit_quote=str(minimum_quote / 10**6))
    assert rig.guards.review(found) is None  # unbid, it clears the minimum
    verdict = rig.chain().decide(found)
    assert verdict.refusal is not None and verdict.refusal.startswith("min_net_profit")
    assert verdict.opportunity.priority_fee == bid.priority_fee
    passing = Rig(ledger, 9_000).chain().decide(found)
    assert passing.refusal is None and passing.opportunity == bid


def test_the_order_carries_the_bid_as_its_priority_fee(rig: Rig, tmp_path: Any) -> None:
    bid = rig.guards.bid(rig.opportunity())
    gate = SendGate(Lifecycle(tmp_path, EventBus()), rig.venue)
    order = PaperExecutor(gate, rig.venue, session="t").order_for(bid)
    assert order.priority_fee_per_gas == bid.priority_fee
    assert order.gas_price == bid.gas_price == rig.fees.base_fee + bid.priority_fee


def test_the_share_is_a_strategy_setting_in_bps(tmp_path: Any) -> None:
    assert StrategySection().priority_fee_share_bps == 0
    path = tmp_path / "c.toml"
    path.write_text("[strategy]\npriority_fee_share_bps = 5000\n")
    assert load(path).strategy.priority_fee_share_bps == 5_000
    path.write_text("[strategy]\npriority_fee_share_bps = 10000\n")
    with pytest.raises(Exception, match="priority_fee_share_bps"):
        load(path)
