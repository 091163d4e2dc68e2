"""The console says when the breaker counts trades the previous run booked."""

from __future__ import annotations

from screens.guards import breaker_text

T0 = 1_700_000_000.0


def test_the_guards_screen_says_the_breaker_counts_the_previous_runs_trades() -> None:
    carried = {"trades": 3, "failed": 2, "before": T0, "until": T0 + 3000}
    breaker = {"state": "closed", "since": T0, "reason": "engine started", "carried_over": carried}
    text = breaker_text({"breaker": breaker}).plain
    assert "counts 3 trades (2 failed) booked before this engine started" in text


def test_the_guards_screen_says_nothing_when_nothing_was_carried_over() -> None:
    breaker = {"state": "closed", "since": T0, "reason": "engine started", "carried_over": None}
    assert "before this engine started" not in breaker_text({"breaker": breaker}).plain
