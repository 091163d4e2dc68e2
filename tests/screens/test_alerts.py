"""Finding 3: an open breaker and firing alerts are seen at once, and can be acknowledged.

The header names the worst firing alert; a banner gives the breaker's guard, reason and
retry time; `a` opens the alerts screen (severity, since, the runbook's next step) where
Enter acknowledges the selected alert through the engine's `alerts.ack`.
"""

from __future__ import annotations

import json

from screens.alerts import AlertsScreen
from screens.app import ArbConsole
from screens.modals import ReasonModal
from tests.screens.conftest import CONSOLE_TOML, connected, until
from tests.screens.recorded import recorded_console, recorded_model
from tests.screens.screen_text import screen_text

SIZE = (80, 24)
BREAKER_TOML = CONSOLE_TOML + (
    "[guards]\nconsecutive_failures_limit = 1\nbreaker_wait_s = 3600.0\n"
    "[alerts]\nevaluate_interval_s = 0.2\n"
)


def _open_breaker_heartbeat(now: float) -> dict:
    breaker = {
        "state": "open",
        "guard": "consecutive_failures",
        "reason": "3 failed trades in a row (limit 3)",
        "since": now - 20,
        "retry_at": now + 40,
    }
    alerts = {
        "active": 1,
        "worst": "P1",
        "worst_rule": "breaker_open",
        "worst_summary": "circuit breaker OPEN (consecutive_failures: 3 failed trades)",
        "unacked": 1,
    }
    return {
        "topic": "heartbeat",
        "seq": 10**17,
        "ts": now,
        "data": {"state": "running", "breaker": breaker, "alerts": alerts},
    }


async def test_an_open_breaker_is_a_banner_and_the_worst_alert_is_in_the_header() -> None:
    model = recorded_model()
    model.apply_event(_open_breaker_heartbeat(model.clock()))
    app = recorded_console(model)
    async with app.run_test(size=SIZE) as pilot:
        app.paint()
        await pilot.pause()
        text = screen_text(app)
        header = str(app.screen.query_one("#header").render())
        assert "P1 breaker_open" in header, header
        banner = str(app.screen.query_one("#banner").render())
        assert "BREAKER OPEN" in banner and "consecutive_failures" in banner, banner
        assert "retry 14:26:40Z" in banner, banner
        assert "BREAKER OPEN" in text


async def test_the_alerts_screen_shows_severity_since_and_the_next_step_and_acknowledges(
    engine_factory,
) -> None:
    engine = engine_factory(BREAKER_TOML)
    app = ArbConsole(engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        header = app.screen.query_one("#header")
        assert await until(lambda: "breaker_open" in str(header.render()), timeout=40)
        await pilot.press("a")
        assert isinstance(app.screen, AlertsScreen)
        assert await until(lambda: "breaker_open" in screen_text(app))
        text = screen_text(app)
        assert "P1" in text and "arbctl breaker" in text, text  # the runbook's next step
        await pilot.press("enter")
        assert isinstance(app.screen, ReasonModal)
        await pilot.press(*"looking at it", "enter", "enter")
        assert await until(lambda: "acked" in screen_text(app), timeout=10), screen_text(app)
    alerts = json.loads(engine.cli("alerts", "--json").stdout)["active"]
    breaker = next(a for a in alerts if a["rule"] == "breaker_open")
    assert breaker["ack_reason"] == "looking at it"
    assert breaker["acked_by"]["client"] == "arbctl-tui"
