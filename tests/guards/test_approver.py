"""The guards as the pipeline uses them: refusals become events and stored triggers,
trade outcomes drive the breaker. Real bus, real SQLite ledger, real simulated venue
(not started: its market and provider health are all the guards read); a stepped clock."""

from __future__ import annotations

import dataclasses
import itertools
import logging
from typing import Any

import pytest

from engine import protocol
from engine.bus import EventBus
from engine.config import GuardsSection, SimSection
from engine.guards.approver import Guards
from engine.guards.breaker import BreakerState
from engine.guards.stats import DAY_S
from engine.guards.thresholds import build_thresholds
from engine.ledger.sqlite import SqliteLedger
from engine.ledger.writer import LedgerWriter
from engine.market.sim import CANCELLED_BY_KILL, SimVenue
from engine.strategy.opportunity import Hop, Opportunity
from tests.guards.build import USD, Clock, opportunity, trade
from tests.guards.conftest import QUIET_TRADE_RULES

_ids = itertools.count(1)


class Rig:
    """Guards wired to a real bus and ledger writer, over the sim's market."""

    def __init__(self, store: SqliteLedger, clock: Clock, **guards: Any) -> None:
        guards.setdefault("disabled", ["max_head_age", *QUIET_TRADE_RULES])
        section = dataclasses.replace(GuardsSection(), **guards)
        self.venue = SimVenue(SimSection(v3_pools=False))
        self.bus = EventBus()
        self.writer = LedgerWriter(store)
        self.store = store
        thresholds = build_thresholds(section, "USDC", 6)
        self.guards = Guards(thresholds, self.bus, self.writer, self.venue, {2: 130_000}, clock)

    def opportunity(self, **overrides: Any) -> Opportunity:
        """A WETH/USDC round trip over two of the sim's pools, 5 USDC net by default."""
        m = self.venue.market
        a, b = [p for p in m.pools.values() if {p.token0, p.token1} == {m.native, m.quote}][:2]
        route = (Hop(a.address, m.quote, m.native), Hop(b.address, m.native, m.quote))
        fields = {"id": f"b-{next(_ids)}", "route": route, "token": m.quote}
        return opportunity(**{"net_profit_quote": 5 * USD, **fields, **overrides})

    def events(self, action: str | None = None) -> list[dict[str, Any]]:
        found = [e.data for e in self.bus.recent([protocol.TOPIC_GUARD])]
        return [e for e in found if action is None or e["action"] == action]

    async def stored(self) -> list[dict[str, Any]]:
        assert await self.writer.flush()
        return [t.to_dict() for t in await self.store.list_guard_triggers()]


async def test_a_blocked_opportunity_is_published_and_stored(ledger: SqliteLedger) -> None:
    rig = Rig(ledger, Clock(), min_net_profit_quote="10")
    opp = rig.opportunity(net_profit_quote=5 * USD)
    assert rig.guards.review(opp) is not None
    (event,) = rig.events()
    assert event["guard"] == "min_net_profit" and event["action"] == "blocked"
    assert (event["observed"], event["threshold"]) == (str(5 * USD), str(10 * USD))
    assert event["opportunity_id"] == opp.id and "5 USDC < 10 USDC" in event["reason"]
    assert [t["id"] for t in await rig.stored()] == [event["id"]]


async def test_an_opportunity_within_every_threshold_is_approved(ledger: SqliteLedger) -> None:
    rig = Rig(ledger, Clock())
    assert rig.guards.review(rig.opportunity()) is None
    assert rig.events() == []


async def test_identical_blocks_are_stored_once_per_window_and_counted(
    ledger: SqliteLedger,
) -> None:
    clock = Clock()
    rig = Rig(ledger, clock, min_net_profit_quote="10", repeat_window_s=60.0)
    for _ in range(50):
        rig.guards.review(rig.opportunity())
    assert len(rig.events()) == 1
    clock.advance(60)
    rig.guards.review(rig.opportunity())  # the window closed: its 49 repeats go out now
    first, summary = rig.events()
    assert (first["repeats"], summary["repeats"]) == (0, 49)
    assert "49 like it" in summary["reason"] and len(await rig.stored()) == 2
    rule = next(r for r in rig.guards.status()["rules"] if r["name"] == "min_net_profit")
    assert rule["triggers"] == 51


async def test_a_failed_trade_opens_the_breaker_and_it_blocks_what_follows(
    ledger: SqliteLedger,
) -> None:
    rig = Rig(ledger, Clock(), disabled=["max_head_age"], max_failed_trades_per_hour=0)
    rig.guards.observe_trade(trade("reverted", -2 * USD, trade_id="t-bad"))
    (opened,) = rig.events("breaker_open")
    assert opened["guard"] == "max_failed_trades_per_hour" and opened["trade_id"] == "t-bad"
    assert (opened["observed"], opened["threshold"]) == ("1", "0")
    refusal = rig.guards.review(rig.opportunity())
    assert refusal is not None and refusal.startswith("breaker open")
    assert rig.events("blocked")[0]["guard"] == "breaker"


async def test_probe_trades_after_the_wait_close_the_breaker(ledger: SqliteLedger) -> None:
    clock = Clock()
    rig = Rig(
        ledger,
        clock,
        disabled=["max_head_age"],
        consecutive_failures_limit=1,
        breaker_wait_s=10.0,
        breaker_probe_trades=2,
    )
    rig.guards.observe_trade(trade("reverted", -USD))
    clock.advance(10)
    probes = [rig.opportunity(), rig.opportunity()]
    assert [rig.guards.review(o) for o in probes] == [None, None]
    assert "half-open" in (rig.guards.review(rig.opportunity()) or "")
    for i, probe in enumerate(probes):
        rig.guards.observe_trade(trade("success", USD, probe.id, trade_id=f"p{i}"))
    assert rig.guards.breaker.state == BreakerState.CLOSED
    actions = [e["action"] for e in rig.events() if e["action"] != "blocked"]
    assert actions == ["breaker_open", "breaker_half_open", "breaker_closed"]


async def test_orders_cancelled_by_the_kill_switch_are_not_failures(ledger: SqliteLedger) -> None:
    rig = Rig(ledger, Clock(), disabled=["max_head_age"], consecutive_failures_limit=1)
    cancelled = trade("failed", 0, revert_reason=CANCELLED_BY_KILL, block_number=0)
    rig.guards.observe_trade(cancelled)
    assert rig.guards.breaker.state == BreakerState.CLOSED


async def test_a_restarted_engine_remembers_todays_losses(ledger: SqliteLedger) -> None:
    clock = Clock()
    losses = [trade("reverted", -300 * USD, trade_id=f"l{i}", at=clock.now - 60) for i in range(2)]
    await ledger.record_trades(losses)
    rig = Rig(ledger, clock, disabled=["max_head_age", "max_hourly_loss"])
    await rig.guards.restore(ledger)
    breaker = rig.guards.breaker_status()
    assert breaker["state"] == "open" and breaker["guard"] == "max_daily_loss"
    assert breaker["retry_at"] == clock.now - clock.now % DAY_S + DAY_S


async def test_the_operator_reset_also_restarts_todays_loss(ledger: SqliteLedger) -> None:
    rig = Rig(ledger, Clock(), disabled=["max_head_age"], max_daily_loss_quote="100")
    rig.guards.observe_trade(trade("success", -101 * USD))
    assert rig.guards.breaker.state == BreakerState.OPEN
    rig.guards.reset_breaker("mispriced pool, verified by hand")
    rig.guards.observe_trade(trade("success", -50 * USD, trade_id="t-2"))
    assert rig.guards.breaker.state == BreakerState.CLOSED
    (reset,) = rig.events("breaker_reset")
    assert reset["guard"] == "operator" and reset["reason"] == "mispriced pool, verified by hand"


async def test_gas_report_prices_the_fees_and_states_the_verdict(ledger: SqliteLedger) -> None:
    rig = Rig(ledger, Clock(), max_gas_price_gwei=1.0)
    report = rig.guards.gas_status()
    assert report["base_fee"] + report["priority_fee"] == report["gas_price"]
    assert report["guard"]["over_cap"] and report["guard"]["verdict"] == "block_unless_profitable"
    (route,) = report["routes"]
    assert route["cost_wei"] == 130_000 * report["gas_price"] and route["cost_quote"] > 0


async def test_a_restarted_engine_says_its_breaker_counts_the_previous_runs_failures(
    ledger: SqliteLedger, caplog: pytest.LogCaptureFixture
) -> None:
    """The last hour's failures survive a restart on purpose (a restart must not be a way
    around the failure limits), but an operator must be told why one new failure opened it."""
    clock = Clock()
    earlier = [trade("reverted", -USD, trade_id=f"old-{i}", at=clock.now - 600) for i in range(2)]
    await ledger.record_trades([*earlier, trade("success", USD, trade_id="ok", at=clock.now - 900)])
    rig = Rig(ledger, clock, disabled=["max_head_age"], max_failed_trades_per_hour=2)
    caplog.set_level(logging.INFO, logger="arbctl.guards")
    await rig.guards.restore(ledger)
    carried = rig.guards.breaker_summary()["carried_over"]
    assert (carried["trades"], carried["failed"], carried["before"]) == (3, 2, clock.now)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("2 failed" in m and "before this start" in m for m in warned), warned
    assert rig.guards.status()["breaker"]["carried_over"] == carried
    rig.guards.observe_trade(trade("reverted", -USD, trade_id="new"))
    (opened,) = rig.events("breaker_open")
    assert "2 failed, booked before this engine started" in opened["reason"]
    assert rig.guards.breaker_summary()["reason"] == opened["reason"]


async def test_a_breaker_that_closes_forgets_what_the_previous_run_left(
    ledger: SqliteLedger,
) -> None:
    clock = Clock()
    await ledger.record_trades([trade("reverted", -USD, trade_id="old", at=clock.now - 60)])
    rig = Rig(ledger, clock, disabled=["max_head_age"], consecutive_failures_limit=1)
    await rig.guards.restore(ledger)
    assert rig.guards.breaker.state == BreakerState.OPEN
    assert "before this engine started" in rig.guards.breaker.reason
    rig.guards.reset_breaker("seen it")
    assert rig.guards.breaker_summary()["carried_over"] is None
