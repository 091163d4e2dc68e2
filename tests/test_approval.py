"""The approval chain: lender choice, then guards and breaker, first refusal wins.

Real flash-liquidity sources and a real trigger log over a real SQLite ledger; the guards'
seat is a recording stand-in, so each test states exactly what the guards were asked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine import protocol
from engine.approval import LENDER_TRIGGER, ApprovalChain, LenderChoice, RiskGuards, build_chain
from engine.bus import EventBus
from engine.guards.triggers import TriggerLog
from engine.ledger.records import TradeRecord
from engine.ledger.sqlite import SqliteLedger
from engine.ledger.writer import LedgerWriter
from engine.lenders.sources import LiquiditySources, Source
from engine.strategy.opportunity import Opportunity
from tests.guards.build import Clock, opportunity, trade


class RecordingGuards:
    """Approves everything, or refuses with `refusal`; remembers what it saw."""

    def __init__(self, refusal: str | None = None) -> None:
        self.refusal = refusal
        self.reviewed: list[str] = []
        self.observed: list[str] = []

    def review(self, opportunity: Opportunity) -> str | None:
        self.reviewed.append(opportunity.id)
        return self.refusal

    def observe_trade(self, trade: TradeRecord) -> None:
        self.observed.append(trade.opportunity_id)


@pytest.fixture
async def triggers(tmp_path: Path) -> AsyncIterator[tuple[TriggerLog, EventBus]]:
    store = SqliteLedger(tmp_path / "ledger.db")
    await store.open()
    bus = EventBus()
    yield TriggerLog(bus, LedgerWriter(store), 60.0, Clock()), bus
    await store.close()


def lenders(fee_bps: int) -> LiquiditySources:
    return LiquiditySources([Source("vault", "pair://first-hop", 0, fee_bps)], Clock())


async def test_the_lender_refuses_before_the_guards_see_the_opportunity(
    triggers: tuple[TriggerLog, EventBus],
) -> None:
    log, bus = triggers
    guards = RecordingGuards()
    chain = build_chain(guards, lenders(fee_bps=9000), log)  # 90 %: no profit survives
    refusal = chain.review(opportunity(id="o1"))
    assert refusal is not None and refusal.startswith(f"{LENDER_TRIGGER}: vault charges 9000 bps")
    assert guards.reviewed == []  # no breaker probe slot taken by a refused opportunity
    (event,) = [e.data for e in bus.recent([protocol.TOPIC_GUARD])]
    assert (event["guard"], event["action"], event["opportunity_id"]) == (
        LENDER_TRIGGER,
        "blocked",
        "o1",
    )


async def test_an_opportunity_the_lender_funds_goes_on_to_the_guards(
    triggers: tuple[TriggerLog, EventBus],
) -> None:
    log, _ = triggers
    guards = RecordingGuards(refusal="max_notional: too big")
    chain = build_chain(guards, lenders(fee_bps=0), log)
    assert [type(seat) for seat in chain.seats] == [LenderChoice, RiskGuards]
    assert chain.review(opportunity(id="o2")) == "max_notional: too big"
    assert guards.reviewed == ["o2"]


async def test_every_seat_observes_each_booked_trade_in_order(
    triggers: tuple[TriggerLog, EventBus],
) -> None:
    log, _ = triggers
    guards, sources = RecordingGuards(), lenders(fee_bps=0)
    chain = build_chain(guards, sources, log)
    assert chain.review(opportunity(id="o3")) is None
    chain.observe_trade(trade("success", opportunity_id="o3"))
    assert guards.observed == ["o3"]
    assert sources.selector.health("vault").requests == 1  # the loan was made: an answer


async def test_without_lenders_the_chain_is_the_guards_alone(
    triggers: tuple[TriggerLog, EventBus],
) -> None:
    guards = RecordingGuards()
    chain = build_chain(guards, None, triggers[0])
    assert isinstance(chain, ApprovalChain) and [type(s) for s in chain.seats] == [RiskGuards]
    assert chain.review(opportunity(id="o4")) is None and guards.reviewed == ["o4"]
