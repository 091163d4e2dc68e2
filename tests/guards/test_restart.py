"""Session state across a restart: an open breaker stays open, counters continue.

An operator who restarts an engine to "clear" a tripped breaker must not get a trading
engine back; the snapshot written at the graceful stop carries the breaker."""

from __future__ import annotations

from typing import Any

from engine.guards.breaker import BreakerState, CircuitBreaker
from tests.conftest import wait_until
from tests.guards.conftest import QUIET_TRADE_RULES, GuardedEngine, rpc, wait_for_trigger

LOSING = {"competitor_probability": 1.0}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(wait_s=60.0, probes=2, probe_timeout_s=30.0, clock=clock)


def test_an_open_breaker_is_restored_open_with_its_retry_time() -> None:
    clock = Clock()
    before = breaker(clock)
    before.open("consecutive_failures", "5 in a row")
    after = breaker(clock)
    after.restore(before.snapshot())
    assert after.state == BreakerState.OPEN and after.retry_at == before.retry_at
    assert after.guard == "consecutive_failures" and after.times_opened == 1


def test_a_half_open_breaker_is_restored_open_and_probes_afresh() -> None:
    clock = Clock()
    before = breaker(clock)
    before.open("consecutive_failures", "5 in a row")
    clock.now += 61
    before.poll()
    assert before.permit("opp-1")
    after = breaker(clock)
    after.restore(before.snapshot())
    assert after.state == BreakerState.OPEN and not after.is_probe("opp-1")
    assert [t.state for t in after.poll()] == [BreakerState.HALF_OPEN]


def test_a_closed_breaker_is_restored_closed() -> None:
    clock = Clock()
    after = breaker(clock)
    after.restore(breaker(clock).snapshot())
    assert after.state == BreakerState.CLOSED


def only(rule: str, settings: dict[str, Any]) -> dict[str, Any]:
    return {**settings, "disabled": [r for r in QUIET_TRADE_RULES if r != rule]}


def test_an_engine_restarted_with_an_open_breaker_comes_back_with_it_open(
    guarded_engine: GuardedEngine,
) -> None:
    settings = {"consecutive_failures_limit": 1, "breaker_wait_s": 3600.0}
    engine = guarded_engine(only("consecutive_failures", settings), LOSING)
    wait_for_trigger(engine, "consecutive_failures", "breaker_open")
    engine.stop()
    engine.start()
    status = rpc(engine, "status")
    assert status["breaker"]["state"] == "open"
    assert "restored after restart" in status["breaker"]["reason"]


def test_counters_continue_across_a_restart(guarded_engine: GuardedEngine) -> None:
    engine = guarded_engine({"disabled": list(QUIET_TRADE_RULES)})
    assert wait_until(lambda: rpc(engine, "status")["trades_booked"] >= 20, 60)
    before = rpc(engine, "status")["trades_booked"]
    engine.stop()
    engine.start()
    # Without the snapshot a fresh engine starts from 0 and has had no time for 20.
    assert rpc(engine, "status")["trades_booked"] >= before
