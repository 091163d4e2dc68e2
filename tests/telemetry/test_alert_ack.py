"""An operator acknowledges a firing alert: it stays listed (the condition still holds)
but is marked as seen by whom, and its reminders stop until it resolves; a new breach is
a new alert that pages again. The heartbeat's counts name the worst alert, so a console
can show it without another call."""

from __future__ import annotations

import pytest

from engine.telemetry.alerts.book import FIRING, RESOLVED, NotFiring
from tests.telemetry.conftest import Clock
from tests.telemetry.test_alerts import book, breaching, normal_view


def test_an_acknowledged_alert_is_marked_and_its_reminders_stop() -> None:
    clock = Clock()
    alerts = book(clock, resend=600)
    halted = breaching("emergency_halt", clock)
    sent = alerts.evaluate(normal_view(clock, **halted))
    acked = alerts.acknowledge("emergency_halt", {"uid": 1000, "client": "t"}, "on it")
    assert acked["acked_by"] == {"uid": 1000, "client": "t"} and acked["acked_at"] == clock.now
    assert acked["ack_reason"] == "on it"
    for _ in range(25):
        clock.advance(60)
        sent += alerts.evaluate(normal_view(clock, **halted))
    assert [n["status"] for n in sent] == [FIRING]  # no reminders after the ack
    assert alerts.active()[0]["acked_at"] is not None
    assert [n["status"] for n in alerts.evaluate(normal_view(clock))] == [RESOLVED]
    again = alerts.evaluate(normal_view(clock, **halted))
    assert again[0]["acked_at"] is None  # a new breach pages again


def test_acknowledging_an_alert_that_does_not_fire_is_refused() -> None:
    clock = Clock()
    alerts = book(clock)
    with pytest.raises(NotFiring):
        alerts.acknowledge("cpu_high", {"uid": 1}, "nothing")


def test_the_heartbeat_names_the_worst_alert_and_counts_the_unacknowledged() -> None:
    from engine.telemetry.alerts.service import compact_counts

    clock = Clock()
    alerts = book(clock)
    alerts.evaluate(normal_view(clock, **breaching("breaker_open", clock)))
    counts = compact_counts(alerts.active())
    assert counts["active"] == 1 and counts["unacked"] == 1
    assert counts["worst"] == "P1" and counts["worst_rule"] == "breaker_open"
    assert "OPEN" in counts["worst_summary"]
    alerts.acknowledge("breaker_open", {"uid": 1}, "looking")
    assert compact_counts(alerts.active())["unacked"] == 0
