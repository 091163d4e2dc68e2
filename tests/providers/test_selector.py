"""The health model, the breaker and the selector, driven with plain values and a clock
the test moves (no I/O, no sleeping)."""

from __future__ import annotations

import pytest

from engine.providers.health import LATENCY_BOUNDS_MS, Health
from engine.providers.selector import RECOVER_SUCCESSES, Breaker, SelectionError, Selector


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def trio(clock: Clock) -> tuple[Selector, list[Health]]:
    members = [Health(name, priority) for priority, name in enumerate(("p0", "p1", "p2"))]
    for health in members:
        health.record_head(100)
    return Selector(members, clock, 1.0, 8.0, wall_clock=clock), members


def fail(health: Health, times: int, error: str = "connection reset by peer") -> None:
    for _ in range(times):
        health.record_failure(error, 0.0)


def succeed(health: Health, times: int) -> None:
    for _ in range(times):
        health.record_ok(10.0)


# --- health ---------------------------------------------------------------------------
def test_health_statuses_follow_failures_lag_and_the_operator() -> None:
    health = Health("p0", 0)
    health.record_head(100)
    assert health.status(100) == "healthy"
    assert health.status(102) == "degraded" and health.status(105) == "down"
    fail(health, 1)
    assert health.status(100) == "degraded"
    fail(health, 2)
    assert health.status(100) == "down" and "3 failures in a row" in health.down_reason(100)
    health.offline_reason = "maintenance"
    assert health.status(100) == "offline"


def test_a_provider_that_never_reported_a_head_is_not_in_sync() -> None:
    assert Health("p0", 0).head_lag(50) == 51


def test_a_slow_provider_is_degraded_against_its_nominal_latency() -> None:
    health = Health("p0", 0, nominal_latency_ms=40.0)
    health.record_head(1)
    health.record_ok(200.0)
    assert health.status(1) == "degraded"


# --- breaker ------------------------------------------------------------------------
def test_the_breaker_opens_on_failures_among_recent_requests_and_probes_after_a_cooldown() -> None:
    clock = Clock()
    breaker = Breaker(clock, cooldown=1.0, max_cooldown=8.0)
    for ok in (True, False, True, False, True, False):  # flapping: never 3 in a row
        breaker.record(ok)
    assert breaker.state == "open" and not breaker.allow()
    clock.now += 1.0
    assert breaker.allow() and not breaker.allow()  # one trial request at a time
    breaker.record(False)
    assert breaker.state == "open" and breaker.retry_at == clock.now + 2.0  # cooldown doubled
    clock.now += 2.0
    assert breaker.allow()
    breaker.record(True)
    assert breaker.state == "closed" and breaker.times_opened == 2


def test_a_flapping_endpoint_is_asked_less_and_less_often() -> None:
    clock = Clock()
    breaker = Breaker(clock, cooldown=1.0, max_cooldown=8.0)
    calls = 0
    for step in range(400):  # 40 seconds of a request every 100 ms
        clock.now += 0.1
        if breaker.allow():
            calls += 1
            breaker.record(step % 2 == 0)
    assert calls < 40  # far fewer than the 400 requests made


# --- selector -----------------------------------------------------------------------
def test_failover_moves_to_the_best_usable_and_says_why() -> None:
    clock = Clock()
    selector, (p0, p1, _) = trio(clock)
    fail(p1, 1)  # degraded: a healthy one is preferred even at lower priority
    fail(p0, 3)
    switch = selector.evaluate(100)
    assert switch is not None and switch.active == "p2"
    assert switch.reason.startswith("failover from p0: breaker open")
    assert switch.reason.endswith("connection reset by peer")
    assert selector.evaluate(100) is None  # stays while usable


def test_a_lagging_active_provider_is_replaced_at_two_blocks() -> None:
    selector, (p0, _, _) = trio(Clock())
    p0.record_head(99)
    assert selector.evaluate(100) is None
    p0.record_head(98)
    switch = selector.evaluate(100)
    assert switch is not None and switch.active == "p1" and "lagging 2 blocks" in switch.reason


def test_a_preferred_provider_is_returned_to_only_once_healthy_again() -> None:
    clock = Clock()
    selector, (p0, _, _) = trio(clock)
    fail(p0, 3)
    selector.evaluate(100)
    clock.now += 1.0  # its breaker's cooldown: the next request is the trial
    succeed(p0, RECOVER_SUCCESSES)
    assert selector.evaluate(100) is None  # answers in a row, but 5 of 8 is not healthy
    succeed(p0, 26 - RECOVER_SUCCESSES)
    assert selector.evaluate(100) is None  # 26 of 29: still under 90 %
    succeed(p0, 1)
    switch = selector.evaluate(100)
    assert switch is not None and (switch.event, switch.active) == ("recovered", "p0")


def test_a_pin_is_never_left_until_automatic() -> None:
    selector, (p0, _, _) = trio(Clock())
    selector.pin("p0", "operator says so", {"uid": 1000, "client": "test"})
    fail(p0, 10)
    assert selector.evaluate(100) is None and selector.active == "p0"
    assert not selector.usable("p0", 100)
    switch = selector.automatic("done", 100)
    assert (switch.mode, switch.active) == ("auto", "p1")


def test_operator_marks_and_their_refusals() -> None:
    selector, (p0, _, _) = trio(Clock())
    selector.mark("p0", False, "incident")
    assert selector.evaluate(100) is not None and selector.active == "p1"
    with pytest.raises(SelectionError, match="marked offline"):
        selector.pin("p0", "no")
    selector.pin("p1", "yes")
    with pytest.raises(SelectionError, match="pinned"):
        selector.mark("p1", False, "no")
    selector.automatic("back", 100)
    selector.mark("p1", False, "maintenance")
    with pytest.raises(SelectionError, match="last provider"):
        selector.mark("p2", False, "no", keep_one=True)
    fail(p0, 5)
    selector.mark("p0", True, "false positive")
    assert p0.consecutive_failures == 0 and selector.usable("p0", 100)


def test_the_selection_is_typed_and_its_wire_form_keeps_the_providers_view() -> None:
    selector, (p0, _, _) = trio(Clock())
    fail(p0, 3)
    selector.evaluate(100)
    selection = selector.selection(100)
    assert (selection.mode, selection.active, selection.pinned) == ("auto", "p1", None)
    assert [s.name for s in selection.providers] == ["p0", "p1", "p2"]
    assert not selection.providers[0].usable and selection.history[0].event == "failover"
    view = selection.to_dict()
    assert list(view) == ["mode", "pinned", "active", "reason", "since", "providers", "history"]
    assert view["providers"][1]["active"] and view["history"][0]["previous"] == "p0"


def test_every_answer_time_is_counted_in_its_latency_bucket_and_summed() -> None:
    """The histogram Prometheus reads (rpc_latency_seconds): bounds are inclusive."""
    health = Health("a", 0)
    for latency in (4.0, 5.0, 5.5, 2000.0, 60_000.0):
        health.record_ok(latency)
    assert health.latency_counts[0] == 2  # 4 and exactly 5 ms: "le 5 ms"
    assert health.latency_counts[1] == 1  # 5.5 ms: le 10 ms
    assert health.latency_counts[LATENCY_BOUNDS_MS.index(2000.0)] == 1
    assert health.latency_counts[-1] == 1  # above the last bound
    assert health.latency_sum_ms == 62_014.5
