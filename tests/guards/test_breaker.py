"""The circuit breaker's states, stepped with a clock instead of sleeps (resilience4j's
CLOSED → OPEN → HALF_OPEN → CLOSED | OPEN)."""

from __future__ import annotations

import pytest

from engine.guards.breaker import BreakerClosed, BreakerState, CircuitBreaker
from tests.guards.build import Clock

WAIT_S, PROBES, PROBE_TIMEOUT_S = 300.0, 2, 120.0


def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(WAIT_S, PROBES, PROBE_TIMEOUT_S, clock)


def opened(clock: Clock) -> CircuitBreaker:
    b = breaker(clock)
    b.open("max_hourly_loss", "P&L over the last hour -101 USDC < -100 USDC")
    return b


def half_open(clock: Clock) -> CircuitBreaker:
    b = opened(clock)
    clock.advance(WAIT_S)
    b.poll()
    return b


def test_a_new_breaker_is_closed_and_permits_everything() -> None:
    b = breaker(Clock())
    assert b.state == BreakerState.CLOSED
    assert all(b.permit(f"o{i}") for i in range(100))


def test_opening_records_the_rule_the_reason_and_the_time() -> None:
    clock = Clock()
    b = opened(clock)
    assert (b.state, b.guard, b.since) == (BreakerState.OPEN, "max_hourly_loss", clock.now)
    assert "-101 USDC" in b.reason and b.retry_at == clock.now + WAIT_S


def test_an_open_breaker_permits_nothing_until_its_wait_is_over() -> None:
    clock = Clock()
    b = opened(clock)
    clock.advance(WAIT_S - 1)
    assert b.poll() == [] and not b.permit("o1")
    clock.advance(1)
    (transition,) = b.poll()
    assert transition.previous == BreakerState.OPEN and b.state == BreakerState.HALF_OPEN


def test_half_open_lets_only_the_configured_number_of_probes_through() -> None:
    b = half_open(Clock())
    assert [b.permit(f"o{i}") for i in range(4)] == [True, True, False, False]


def test_half_open_closes_when_every_probe_succeeds() -> None:
    b = half_open(Clock())
    b.permit("o1"), b.permit("o2")
    assert b.record("o1", True, "t1", "success") is None
    transition = b.record("o2", True, "t2", "success")
    assert transition is not None and transition.state == BreakerState.CLOSED
    assert b.permit("o3")


def test_a_failed_probe_opens_the_breaker_again_for_a_full_wait() -> None:
    clock = Clock()
    b = half_open(clock)
    b.permit("o1")
    transition = b.record("o1", False, "t1", "reverted")
    assert transition is not None and transition.previous == BreakerState.HALF_OPEN
    assert b.state == BreakerState.OPEN and b.retry_at == clock.now + WAIT_S
    assert "t1" in b.reason and b.times_opened == 2


def test_a_probe_never_booked_counts_as_failed_after_its_timeout() -> None:
    clock = Clock()
    b = half_open(clock)
    b.permit("o1")
    clock.advance(PROBE_TIMEOUT_S)
    (transition,) = b.poll()
    assert transition.state == BreakerState.OPEN and "not booked" in transition.reason


def test_trades_that_were_not_probes_do_not_move_a_half_open_breaker() -> None:
    b = half_open(Clock())
    assert b.record("sent-before-it-opened", False, "t0", "reverted") is None
    assert b.state == BreakerState.HALF_OPEN


def test_a_hold_keeps_it_open_past_its_wait() -> None:
    clock = Clock()
    b = breaker(clock)
    b.open("max_daily_loss", "P&L today -501 USDC", hold_until=clock.now + 3 * WAIT_S)
    clock.advance(2 * WAIT_S)
    assert b.poll() == [] and b.state == BreakerState.OPEN


def test_the_operator_reset_closes_an_open_breaker_at_once() -> None:
    b = opened(Clock())
    transition = b.reset("false positive: mispriced pool")
    assert (transition.state, transition.guard) == (BreakerState.CLOSED, "operator")
    assert b.state == BreakerState.CLOSED and b.retry_at is None


def test_resetting_a_closed_breaker_is_refused() -> None:
    with pytest.raises(BreakerClosed):
        breaker(Clock()).reset("nothing to reset")


def test_history_lists_transitions_newest_first() -> None:
    clock = Clock()
    b = half_open(clock)
    b.reset("ok")
    assert [t["state"] for t in b.to_dict()["history"]] == ["closed", "half_open", "open"]
