"""Sizing: an opportunity too big for a size limit is clamped to the limit, not refused.

Real guards over the simulated venue's market (not started: its pools are what the rules
read), with one pool pushed out of line so the exact optimum is a real one; a real bus
and SQLite ledger behind the trigger log; a stepped clock. The limits are brute-forced
here with the rules themselves: the input sent fits, one more unit breaches."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from engine import protocol
from engine.approval import ApprovalChain, Sizing, build_chain
from engine.bus import EventBus
from engine.config import GuardsSection, SimSection
from engine.guards.approver import Guards
from engine.guards.rules import MaxNotional, MaxPriceImpact, OpportunityRule, price_impact_bps
from engine.guards.sizing import largest_fitting
from engine.guards.thresholds import build_thresholds
from engine.ledger.sqlite import SqliteLedger
from engine.ledger.writer import LedgerWriter
from engine.market.amm import get_amounts_out
from engine.market.sim import SimVenue
from engine.strategy import exact
from engine.strategy.opportunity import Hop, Opportunity
from tests.guards.build import USD, Clock
from tests.guards.conftest import QUIET_TRADE_RULES

GAS_COST = 2 * USD


class Market:
    """The sim's WETH/USDC pools with sushiswap's USDC reserve 2 % high: buy WETH on
    uniswap, sell it on sushiswap."""

    def __init__(self, store: SqliteLedger, clock: Clock, **guards: Any) -> None:
        self.venue = SimVenue(SimSection(v3_pools=False))
        m = self.venue.market
        pools = {p.dex: p for p in m.pools.values() if {p.token0, p.token1} == {m.native, m.quote}}
        pools["sushiswap"].reserve1 = pools["sushiswap"].reserve1 * 102 // 100
        self.route = (
            Hop(pools["uniswap"].address, m.quote, m.native),
            Hop(pools["sushiswap"].address, m.native, m.quote),
        )
        self.path = [
            (*m.pools[hop.pool].reserves_for(hop.token_in), m.pools[hop.pool].fee_bps)
            for hop in self.route
        ]
        guards.setdefault("disabled", ["max_head_age", *QUIET_TRADE_RULES])
        section = dataclasses.replace(GuardsSection(), **guards)
        self.bus = EventBus()
        self.writer = LedgerWriter(store)
        thresholds = build_thresholds(section, "USDC", 6)
        self.guards = Guards(thresholds, self.bus, self.writer, self.venue, {2: 130_000}, clock)

    def at(self, amount_in: int) -> Opportunity:
        """The opportunity at `amount_in`, priced as the search prices it (USDC: quote)."""
        out = get_amounts_out(amount_in, self.path)[-1]
        net = out - amount_in - GAS_COST
        return Opportunity(
            id="7-usdc-cycle",
            block_number=7,
            route=self.route,
            token=self.venue.market.quote,
            amount_in=amount_in,
            amount_out=out,
            gross_profit=out - amount_in,
            gas_units=130_000,
            gas_price=10**9,
            gas_cost=GAS_COST,
            flash_fee=0,
            net_profit=net,
            net_profit_quote=net,
            detected_at=0.0,
        )

    def optimum(self) -> Opportunity:
        return self.at(exact.optimal_input(self.path)[0])

    def chain(self) -> ApprovalChain:
        return build_chain(self.guards, None, self.guards.triggers, sizer=self.guards)

    def events(self, action: str) -> list[dict[str, Any]]:
        found = [e.data for e in self.bus.recent([protocol.TOPIC_GUARD])]
        return [e for e in found if e["action"] == action]


def rule(market: Market, kind: type[OpportunityRule]) -> OpportunityRule:
    return next(r for r in market.guards.opportunity_rules if isinstance(r, kind))


def fits(market: Market, kind: type[OpportunityRule], opportunity: Opportunity, x: int) -> bool:
    ctx = market.guards._context()
    return not rule(market, kind).read(dataclasses.replace(opportunity, amount_in=x), ctx).breached


def assert_largest_within(
    market: Market, kind: type[OpportunityRule], best: Opportunity, sent: Opportunity
) -> None:
    """The boundary the brute force finds: `b` fits and `b + 1` breaches; what is sent is
    within it, at the exact optimum of the route capped there (or the boundary itself)."""
    boundary = next(
        x for x in range(sent.amount_in, best.amount_in) if not fits(market, kind, best, x + 1)
    )
    assert fits(market, kind, best, boundary) and not fits(market, kind, best, boundary + 1)
    assert fits(market, kind, best, sent.amount_in)
    assert sent.amount_in == exact.optimal_input(market.path, 0, boundary)[0]
    assert boundary - sent.amount_in < 10**4  # the step start just below the boundary
    assert sent == market.at(sent.amount_in)  # re-priced exactly as the search prices


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def test_an_opportunity_over_the_price_impact_limit_is_resized_to_the_largest_input_within_it(
    ledger: SqliteLedger, clock: Clock
) -> None:
    market = Market(ledger, clock, max_price_impact_bps=40, min_net_profit_quote="1")
    best = market.optimum()
    assert price_impact_bps(best, market.venue.market.pools) > 40 and best.net_profit > 0

    verdict = market.chain().decide(best)

    assert verdict.refusal is None
    sent = verdict.opportunity
    assert 0 < sent.amount_in < best.amount_in and sent.net_profit_quote >= USD
    assert price_impact_bps(sent, market.venue.market.pools) <= 40
    assert_largest_within(market, MaxPriceImpact, best, sent)
    (event,) = market.events("resized")
    assert event["guard"] == "max_price_impact" and event["opportunity_id"] == best.id
    assert (event["original_size"], event["new_size"]) == (best.amount_in, sent.amount_in)
    assert str(best.amount_in) in event["reason"] and str(sent.amount_in) in event["reason"]
    assert market.events("blocked") == []
    assert market.guards.approved == 1


async def test_an_opportunity_that_does_not_pay_at_the_clamped_size_is_refused_as_before(
    ledger: SqliteLedger, clock: Clock
) -> None:
    market = Market(ledger, clock, max_price_impact_bps=40, min_net_profit_quote="1000")
    best = market.optimum()
    best = dataclasses.replace(best, net_profit_quote=2000 * USD)  # pays only at full size

    verdict = market.chain().decide(best)

    assert verdict.refusal is not None and verdict.refusal.startswith("max_price_impact")
    assert verdict.opportunity == best
    assert market.events("resized") == []
    assert [e["guard"] for e in market.events("blocked")] == ["max_price_impact"]


async def test_an_opportunity_over_the_notional_limit_is_resized_to_the_largest_input_within_it(
    ledger: SqliteLedger, clock: Clock
) -> None:
    market = Market(ledger, clock, max_notional_quote="20000", min_net_profit_quote="1")
    best = market.optimum()
    assert best.amount_in > 20_000 * USD

    verdict = market.chain().decide(best)

    assert verdict.refusal is None
    sent = verdict.opportunity
    assert sent.amount_in <= 20_000 * USD and sent.net_profit_quote >= USD
    assert_largest_within(market, MaxNotional, best, sent)
    (event,) = market.events("resized")
    assert event["guard"] == "max_notional"
    assert (event["original_size"], event["new_size"]) == (best.amount_in, sent.amount_in)


async def test_an_opportunity_that_does_not_pay_within_the_notional_limit_is_refused_as_before(
    ledger: SqliteLedger, clock: Clock
) -> None:
    market = Market(ledger, clock, max_notional_quote="0.5", min_net_profit_quote="1")

    verdict = market.chain().decide(market.optimum())  # half a dollar cannot pay 2 of gas

    assert verdict.refusal is not None and verdict.refusal.startswith("max_notional")
    assert market.events("resized") == []


async def test_an_opportunity_within_its_limits_goes_on_unchanged(
    ledger: SqliteLedger, clock: Clock
) -> None:
    market = Market(ledger, clock, min_net_profit_quote="1")
    best = market.optimum()

    verdict = market.chain().decide(best)

    assert verdict == dataclasses.replace(verdict, opportunity=best, refusal=None)
    assert verdict.opportunity is best and market.events("resized") == []
    assert type(market.chain().seats[0]) is Sizing


def test_the_boundary_search_finds_the_last_fitting_input() -> None:
    assert largest_fitting(lambda x: x <= 1234, 10**21) == 1234
    assert largest_fitting(lambda x: x <= 0, 10) is None
    assert largest_fitting(lambda x: True, 1) is None
