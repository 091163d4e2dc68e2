"""Each alert rule fires and resolves; de-duplication, resend and pending (`for_s`);
the service publishes on the bus, logs, and runs the engine's health checks. All with a
clock the test steps."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from engine import protocol
from engine.bus import EventBus
from engine.config import AlertsSection, Config, MetricsSection
from engine.guards.thresholds import build_thresholds
from engine.telemetry.alerts.book import FIRING, HISTORY, RESOLVED, AlertBook
from engine.telemetry.alerts.rules import RULE_NAMES, default_rules
from engine.telemetry.alerts.service import Alerting
from engine.telemetry.metrics import Metrics
from tests.telemetry.conftest import T0, Clock, trade

USDC = 10**6
SECTION = AlertsSection()  # the runbooks' defaults


def money(amount: int) -> str:
    return f"{amount / USDC:g} USDC"


def normal_view(clock: Clock, **overrides: Any) -> dict[str, Any]:
    """A healthy engine's metrics as rules see them."""
    view: dict[str, Any] = {
        "ts": clock.now,
        "state": "running",
        "health": {"consecutive_failures": 0, "status": "OK", "detail": ""},
        "resources": {"cpu_percent": 10.0, "memory_percent": 40.0, "memory_of": "machine"},
        "errors_per_minute": 1.0,
        "success_rate": 0.9,
        "trades_last_hour": 50,
        "pnl_hourly": 10 * USDC,
        "breaker": {"state": "closed"},
        "providers_down": [],
        "seconds_since_trade": 5.0,
        "anomalies": {"today": 0, "recent": []},
    }
    view.update(overrides)
    return view


def breaching(rule: str, clock: Clock) -> dict[str, Any]:
    """Overrides that breach `rule` (and only it) under the default thresholds."""
    anomaly = {"ts": clock.now, "kind": "loop_latency"}
    resources = {"cpu_percent": 10.0, "memory_percent": 40.0, "memory_of": "machine"}
    return {
        "health_check_failing": {"health": {"consecutive_failures": 3, "detail": "ledger"}},
        "emergency_halt": {"state": "halted"},
        "halt_not_persisted": {"latch": {"halted": True, "persisted": False, "error": "ENOSPC"}},
        "breaker_open": {"breaker": {"state": "open", "guard": "g", "reason": "r"}},
        "memory_high": {"resources": {**resources, "memory_percent": 90.5}},
        "cpu_high": {"resources": {**resources, "cpu_percent": 80.5}},
        "error_rate_high": {"errors_per_minute": 50.5},
        "success_rate_low": {"success_rate": 0.69, "trades_last_hour": 10},
        "hourly_loss": {"pnl_hourly": -100 * USDC - 1},
        "provider_down": {"providers_down": ["alpha-rpc"]},
        "no_trades": {"seconds_since_trade": 1800.0},
        "unusual_slippage": {"anomalies": {"recent": [{**anomaly, "kind": "slippage"}]}},
        "anomaly_detected": {"anomalies": {"recent": [anomaly]}},
        "ledger_rows_quarantined": {"ledger": {"quarantined": 1, "last_quarantined_at": clock.now}},
        "trade_corrected": {"chain": {"corrections": 1, "last_correction_at": clock.now}},
        "tx_rebroadcast": {"chain": {"rebroadcasts": 1, "last_rebroadcast_at": clock.now}},
    }[rule]


# (rule, severity, for_s) as docs/observability.md tables them
EXPECTED = {
    "health_check_failing": ("P0", 0),
    "emergency_halt": ("P0", 0),
    "halt_not_persisted": ("P0", 0),
    "breaker_open": ("P1", 0),
    "memory_high": ("P1", 120),
    "error_rate_high": ("P1", 300),
    "success_rate_low": ("P1", 0),
    "hourly_loss": ("P1", 0),
    "provider_down": ("P1", 60),
    "unusual_slippage": ("P1", 0),
    "cpu_high": ("P2", 300),
    "no_trades": ("P2", 0),
    "anomaly_detected": ("P2", 0),
    "ledger_rows_quarantined": ("P1", 0),
    "trade_corrected": ("P1", 0),
    "tx_rebroadcast": ("P2", 0),
}


def book(clock: Clock, section: AlertsSection = SECTION, resend: float = 3600.0) -> AlertBook:
    return AlertBook(default_rules(section, 100 * USDC, money), resend, clock)


def test_every_rule_has_its_documented_severity_and_duration() -> None:
    rules = default_rules(SECTION, 100 * USDC, money)
    assert [r.name for r in rules] == list(RULE_NAMES)
    assert {r.name: (r.severity, r.for_s) for r in rules} == EXPECTED


def test_a_healthy_engine_fires_nothing() -> None:
    clock = Clock()
    alerts = book(clock)
    assert alerts.evaluate(normal_view(clock)) == []
    assert alerts.active() == [] and alerts.pending() == {}


def test_the_book_keeps_the_notifications_sent_newest_first_and_bounded() -> None:
    alerts = book(Clock())
    for n in range(HISTORY + 5):
        alerts.record({"id": f"note-{n}"})
    newest = [f"note-{HISTORY + 4 - i}" for i in range(3)]
    assert [note["id"] for note in alerts.recent(3)] == newest
    assert len(alerts.recent(10 * HISTORY)) == HISTORY


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_each_rule_fires_after_its_duration_and_resolves(rule: str) -> None:
    clock = Clock()
    alerts = book(clock)
    severity, for_s = EXPECTED[rule]
    notes = alerts.evaluate(normal_view(clock, **breaching(rule, clock)))
    if for_s:
        assert notes == [] and rule in alerts.pending()
        clock.advance(for_s - 1)
        assert alerts.evaluate(normal_view(clock, **breaching(rule, clock))) == []
        clock.advance(1)
        notes = alerts.evaluate(normal_view(clock, **breaching(rule, clock)))
    assert [(n["rule"], n["status"], n["severity"]) for n in notes] == [(rule, FIRING, severity)]
    assert notes[0]["summary"] and notes[0]["condition"] and notes[0]["action"]
    assert [a["rule"] for a in alerts.active()] == [rule]
    clock.advance(10)
    resolved = alerts.evaluate(normal_view(clock))
    assert [(n["rule"], n["status"], n["id"]) for n in resolved] == [
        (rule, RESOLVED, notes[0]["id"])
    ]
    assert resolved[0]["resolved_at"] == clock.now
    assert alerts.active() == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"errors_per_minute": 50.0},  # "> 50/min": exactly 50 is fine
        {"success_rate": 0.70, "trades_last_hour": 10},  # "< 70 %"
        {"success_rate": 0.1, "trades_last_hour": 9},  # too few trades to judge
        {"pnl_hourly": -100 * USDC},  # "< -100"
        {"health": {"consecutive_failures": 2}},  # "3 consecutive"
        {"seconds_since_trade": 1799.0},
        {"state": "paused", "seconds_since_trade": 99_999.0},  # no trades expected
        {"resources": {"cpu_percent": 80.0, "memory_percent": 90.0}},
        {"anomalies": {"recent": [{"ts": T0 - 901, "kind": "slippage"}]}},  # too old
        {"ledger": {"quarantined": 3, "last_quarantined_at": T0 - 3601}},  # an hour ago
    ],
    ids=lambda o: ",".join(o),
)
def test_values_at_the_threshold_do_not_fire(overrides: dict[str, Any]) -> None:
    clock = Clock()
    alerts = book(clock)
    for _ in range(2):
        assert alerts.evaluate(normal_view(clock, **overrides)) == []
        clock.advance(600)


def test_an_active_alert_is_sent_once_then_again_every_resend_interval() -> None:
    clock = Clock()
    alerts = book(clock, resend=600)
    halted = breaching("emergency_halt", clock)
    sent = []
    for _ in range(25):  # 25 evaluations, 60 s apart: 24 minutes halted
        sent += alerts.evaluate(normal_view(clock, **halted))
        clock.advance(60)
    assert [(n["status"], n["repeat"]) for n in sent] == [(FIRING, 0), (FIRING, 1), (FIRING, 2)]
    assert len({n["id"] for n in sent}) == 1  # one alert, notified three times
    assert alerts.active()[0]["notifications"] == 3
    resolved = alerts.evaluate(normal_view(clock))
    assert [n["status"] for n in resolved] == [RESOLVED]
    assert alerts.evaluate(normal_view(clock)) == []  # resolved once


def test_a_condition_that_clears_while_pending_sends_nothing() -> None:
    clock = Clock()
    alerts = book(clock)
    assert alerts.evaluate(normal_view(clock, **breaching("cpu_high", clock))) == []
    clock.advance(299)
    assert alerts.evaluate(normal_view(clock)) == []
    clock.advance(1)
    assert alerts.evaluate(normal_view(clock, **breaching("cpu_high", clock))) == []  # restarts
    assert alerts.pending() == {"cpu_high": clock.now}


def test_a_new_activation_after_resolving_is_a_new_alert() -> None:
    clock = Clock()
    alerts = book(clock)
    first = alerts.evaluate(normal_view(clock, state="halted"))
    clock.advance(5)
    alerts.evaluate(normal_view(clock))
    clock.advance(5)
    second = alerts.evaluate(normal_view(clock, state="halted"))
    assert first[0]["id"] != second[0]["id"] and second[0]["repeat"] == 0


def test_active_alerts_are_listed_most_severe_first() -> None:
    clock = Clock()
    alerts = book(clock)
    view = normal_view(clock, **breaching("no_trades", clock), **breaching("breaker_open", clock))
    alerts.evaluate(view)
    clock.advance(1)
    alerts.evaluate({**view, "state": "halted"})  # halted also silences no_trades
    assert [a["rule"] for a in alerts.active()] == ["emergency_halt", "breaker_open"]


def test_disabled_rules_are_left_out() -> None:
    section = AlertsSection(disabled=["cpu_high", "no_trades"])
    names = [r.name for r in default_rules(section, 0, money)]
    assert "cpu_high" not in names and "no_trades" not in names
    assert len(names) == len(RULE_NAMES) - 2


def test_a_rule_that_raises_is_skipped_and_the_others_still_judge() -> None:
    clock = Clock()
    alerts = book(clock)
    view = normal_view(clock, state="halted", errors_per_minute="not a number")
    assert [n["rule"] for n in alerts.evaluate(view)] == ["emergency_halt"]


# --- the service ---------------------------------------------------------------------------
class Probe:
    """The engine's health check as Alerting calls it, with a verdict the test sets."""

    def __init__(self) -> None:
        self.status = "OK"

    async def __call__(self) -> dict[str, Any]:
        if self.status == "RAISE":
            raise RuntimeError("ledger ping hung")
        checks = [{"name": "ledger", "status": self.status, "detail": "sqlite unreachable"}]
        return {"status": self.status, "checks": checks}


def service(
    clock: Clock, section: AlertsSection | None = None
) -> tuple[Alerting, EventBus, Metrics, Probe]:
    section = section or AlertsSection()
    bus = EventBus()
    metrics = Metrics(MetricsSection(), "USDC", 6, clock, machine_memory=lambda: 10.0)
    probe = Probe()
    rules = default_rules(section, 100 * USDC, money)
    return Alerting(section, rules, bus, metrics, probe, [], clock), bus, metrics, probe


async def test_three_critical_health_checks_in_a_row_page() -> None:
    clock = Clock()
    alerting, _bus, _metrics, probe = service(clock)
    for status in ("CRITICAL", "WARNING", "CRITICAL", "RAISE"):  # WARNING breaks the run
        probe.status = status
        await alerting.check_health()
    assert alerting.health["consecutive_failures"] == 2
    assert alerting.evaluate() == []
    probe.status = "CRITICAL"
    await alerting.check_health()
    notes = alerting.evaluate()
    assert [(n["rule"], n["severity"]) for n in notes] == [("health_check_failing", "P0")]
    assert "sqlite unreachable" in notes[0]["summary"]
    probe.status = "OK"
    await alerting.check_health()
    assert [n["status"] for n in alerting.evaluate()] == [RESOLVED]


async def test_notifications_are_published_on_the_bus_logged_and_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    alerting, bus, metrics, _probe = service(clock)
    caplog.set_level(logging.INFO, logger="arbctl.alerts")
    metrics.observe(protocol.TOPIC_STATE, {"state": "halted", "previous": "running"}, clock.now)
    alerting.evaluate()
    metrics.observe(protocol.TOPIC_STATE, {"state": "running", "previous": "halted"}, clock.now)
    alerting.evaluate()
    events = [e.data for e in bus.recent([protocol.TOPIC_ALERT])]
    assert [(e["rule"], e["status"]) for e in events] == [
        ("emergency_halt", FIRING),
        ("emergency_halt", RESOLVED),
    ]
    assert events[0]["engine"]["pid"] > 0
    logged = [r.getMessage() for r in caplog.records if r.name == "arbctl.alerts"]
    assert logged[0].startswith("ALERT [P0] FIRING emergency_halt")
    assert logged[1].startswith("ALERT [P0] RESOLVED emergency_halt")
    status = alerting.status()
    assert [n["status"] for n in status["recent"]] == [RESOLVED, FIRING]  # newest first
    assert status["active"] == [] and status["sinks"] == {"log": {"min_severity": "P3"}}
    assert alerting.compact() == {
        "active": 0,
        "worst": None,
        "worst_rule": None,
        "worst_summary": None,
        "unacked": 0,
    }


async def test_rules_judge_what_metrics_folded_from_trade_events() -> None:
    clock = Clock()
    alerting, _bus, metrics, _probe = service(clock)
    for n in range(10):
        status = "success" if n < 6 else "reverted"
        metrics.observe(protocol.TOPIC_TRADE, trade(n, status, -11 * USDC), clock.now)
    fired = {n["rule"] for n in alerting.evaluate()}
    assert fired == {"success_rate_low", "hourly_loss"}  # 60 % of 10; -110 USDC
    compact = alerting.compact()
    assert (compact["active"], compact["worst"], compact["unacked"]) == (2, "P1", 2)


async def test_rows_the_ledger_set_aside_page_from_what_the_heartbeat_carries() -> None:
    clock = Clock()
    alerting, _bus, metrics, _probe = service(clock)
    ledger = {
        "ok": True,
        "quarantined": 2,
        "last_quarantined_at": clock.now,
        "deadletter": "/state/ledger-deadletter.jsonl",
        "last_refusal": "UnicodeEncodeError",
    }
    metrics.observe(protocol.TOPIC_HEARTBEAT, {"ledger": ledger}, clock.now)
    (note,) = alerting.evaluate()
    assert (note["rule"], note["severity"]) == ("ledger_rows_quarantined", "P1")
    assert "2 ledger rows" in note["summary"] and "ledger-deadletter.jsonl" in note["summary"]


async def test_state_changes_and_guard_triggers_wake_the_evaluator() -> None:
    clock = Clock()
    alerting, _bus, metrics, _probe = service(clock)
    metrics.observe(protocol.TOPIC_TRADE, trade(1), clock.now)
    metrics._observe_safely(protocol.TOPIC_TRADE, trade(2), clock.now)
    assert not alerting._wake.is_set()
    metrics._observe_safely(protocol.TOPIC_STATE, {"state": "halted"}, clock.now)
    assert alerting._wake.is_set()


def test_hourly_loss_threshold_is_exact_in_base_units() -> None:
    config = Config()
    config.alerts.max_hourly_loss_quote = "100.000001"
    thresholds = build_thresholds(config.guards, "USDC", 6)
    alerting = Alerting.from_config(
        config, EventBus(), Metrics.from_config(config, thresholds), thresholds, _never
    )
    clock = Clock()
    alerting.book._clock = clock
    assert alerting.book.evaluate(normal_view(clock, pnl_hourly=-100_000_001)) == []
    fired = alerting.book.evaluate(normal_view(clock, pnl_hourly=-100_000_002))
    assert fired[0]["rule"] == "hourly_loss"
    assert "-100.000002 USDC < -100.000001 USDC" in fired[0]["summary"]


async def _never() -> dict[str, Any]:
    return {"status": "OK", "checks": []}
