"""Each metric computed from a known event sequence, with a clock the test steps."""

from __future__ import annotations

import asyncio
import logging

from engine import protocol
from engine.bus import EventBus
from engine.config import MetricsSection
from engine.market.sim import CANCELLED_BY_KILL
from engine.telemetry.metrics import COMPACT, ErrorLogBridge, Metrics, Rolling
from tests.telemetry.conftest import T0, Clock, heartbeat, opportunity, trade

USDC = 10**6


def make(clock: Clock, **section: object) -> Metrics:
    return Metrics(MetricsSection(**section), "USDC", 6, clock, machine_memory=lambda: 42.0)


def feed(metrics: Metrics, clock: Clock, topic: str, data: dict, at: float | None = None) -> None:
    metrics.observe(topic, data, clock.now if at is None else at)


def test_rolling_window_forgets_samples_older_than_its_span() -> None:
    window = Rolling(60)
    for ts, value in ((0, 1), (10, 2), (59, 3)):
        window.add(ts, value)
    assert (window.count(59.5), window.total(59.5)) == (3, 6)
    assert (window.count(60), window.total(60)) == (2, 5)  # the sample at 0 is 60 s old
    assert window.mean(70) == 3
    assert window.count(200) == 0 and window.mean(200) is None


def test_trades_per_minute_counts_booked_trades_in_the_window() -> None:
    clock = Clock()
    metrics = make(clock)
    for n, at in enumerate((T0, T0 + 10, T0 + 50)):
        feed(metrics, clock, protocol.TOPIC_TRADE, trade(n), at)
    clock.now = T0 + 55
    assert metrics.snapshot()["trades_per_minute"] == 3
    clock.now = T0 + 65
    assert metrics.snapshot()["trades_per_minute"] == 2


def test_rates_are_per_minute_whatever_the_window() -> None:
    clock = Clock()
    metrics = make(clock, window_s=30.0)
    for n in range(3):
        feed(metrics, clock, protocol.TOPIC_TRADE, trade(n))
    assert metrics.snapshot()["trades_per_minute"] == 6  # 3 in 30 s


def test_errors_are_failed_trades_and_error_logs_but_not_kill_cancellations() -> None:
    clock = Clock()
    metrics = make(clock)
    feed(metrics, clock, protocol.TOPIC_TRADE, trade(1, "reverted", -USDC))
    feed(metrics, clock, protocol.TOPIC_TRADE, trade(2, "failed", 0, revert_reason="dropped"))
    cancelled = trade(3, "failed", 0, revert_reason=CANCELLED_BY_KILL, block_number=0)
    feed(metrics, clock, protocol.TOPIC_TRADE, cancelled)
    feed(metrics, clock, protocol.TOPIC_TRADE, trade(4))
    for level in ("ERROR", "CRITICAL", "WARNING"):
        feed(metrics, clock, protocol.TOPIC_LOG, {"level": level, "msg": "x"})
    snap = metrics.snapshot()
    assert snap["errors_per_minute"] == 4
    assert snap["totals"] == {"trades": 3, "errors": 4, "cancelled": 1, "guard_triggers": 0}


def test_avg_ws_latency_is_the_active_providers_latency_averaged_over_the_window() -> None:
    clock = Clock()
    metrics = make(clock)
    for latency in (40.0, 60.0):
        providers = [
            {"name": "a", "status": "healthy", "latency_ms_ewma": latency, "active": True},
            {"name": "b", "status": "down", "latency_ms_ewma": 900.0, "active": False},
        ]
        feed(metrics, clock, protocol.TOPIC_HEARTBEAT, heartbeat(providers=providers))
        clock.advance(1)
    snap = metrics.snapshot()
    assert snap["avg_ws_latency_ms"] == 50.0
    assert snap["rpc_response_ms"] == 60.0  # the active provider's current latency
    assert snap["providers_down"] == ["b"]


def test_avg_loop_latency_is_the_loop_monitors_one_minute_average() -> None:
    clock = Clock()
    metrics = make(clock)
    assert metrics.snapshot()["avg_loop_latency_ms"] is None
    feed(metrics, clock, protocol.TOPIC_HEARTBEAT, heartbeat(avg_loop_latency_ms=12.3456))
    assert metrics.snapshot()["avg_loop_latency_ms"] == 12.346


def test_guard_triggers_per_minute_counts_what_a_coalesced_summary_stands_for() -> None:
    clock = Clock()
    metrics = make(clock)
    feed(metrics, clock, protocol.TOPIC_GUARD, {"guard": "g", "action": "blocked", "repeats": 0})
    feed(metrics, clock, protocol.TOPIC_GUARD, {"guard": "g", "action": "blocked", "repeats": 4})
    assert metrics.snapshot()["guard_triggers_per_minute"] == 5


def test_pnl_change_1min_sums_realised_profit_in_quote_base_units() -> None:
    clock = Clock()
    metrics = make(clock)
    feed(metrics, clock, protocol.TOPIC_TRADE, trade(1, profit_quote=5 * USDC), T0 - 61)
    feed(metrics, clock, protocol.TOPIC_TRADE, trade(2, profit_quote=2_500_001))
    feed(metrics, clock, protocol.TOPIC_TRADE, trade(3, "reverted", profit_quote=-1_000_000))
    snap = metrics.snapshot()
    assert snap["pnl_change_1min"] == 1_500_001
    assert isinstance(snap["pnl_change_1min"], int)
    assert snap["pnl_change_1min_text"] == "1.500001 USDC"
    assert snap["pnl_hourly"] == 6_500_001


def test_success_rate_and_failed_trades_per_hour_over_the_hour_window() -> None:
    clock = Clock()
    metrics = make(clock)
    feed(metrics, clock, protocol.TOPIC_TRADE, trade(0, "reverted"), T0 - 3601)  # too old
    for n, status in enumerate(("success", "success", "success", "reverted"), start=1):
        feed(metrics, clock, protocol.TOPIC_TRADE, trade(n, status))
    cancelled = trade(9, "failed", revert_reason=CANCELLED_BY_KILL, block_number=0)
    feed(metrics, clock, protocol.TOPIC_TRADE, cancelled)
    snap = metrics.snapshot()
    assert (snap["success_rate"], snap["trades_last_hour"]) == (0.75, 4)
    assert snap["failed_trades_per_hour"] == 1


def test_no_success_rate_without_trades() -> None:
    snap = make(Clock()).snapshot()
    assert snap["success_rate"] is None and snap["failed_trades_per_hour"] == 0


def test_gas_price_resources_and_breaker_come_from_the_heartbeat() -> None:
    clock = Clock()
    metrics = make(clock)
    breaker = {"state": "open", "since": T0, "guard": "max_hourly_loss", "reason": "r"}
    resources = {"cpu_percent": 12.5, "rss_bytes": 512 * 2**20}
    beat = heartbeat(gas_price=151 * 10**9, breaker=breaker, resources=resources)
    feed(metrics, clock, protocol.TOPIC_HEARTBEAT, beat)
    snap = metrics.snapshot()
    assert (snap["gas_price_wei"], snap["gas_price_gwei"]) == (151 * 10**9, 151.0)
    assert snap["breaker"]["state"] == "open"
    assert snap["resources"]["cpu_percent"] == 12.5
    assert (snap["resources"]["memory_percent"], snap["resources"]["memory_of"]) == (
        42.0,
        "machine",
    )


def test_memory_percent_is_of_the_configured_limit_when_there_is_one() -> None:
    clock = Clock()
    metrics = make(clock, memory_limit_mb=2048)
    beat = heartbeat(resources={"cpu_percent": 1.0, "rss_bytes": 1536 * 2**20})
    feed(metrics, clock, protocol.TOPIC_HEARTBEAT, beat)
    assert metrics.snapshot()["resources"]["memory_percent"] == 75.0


def test_breaker_transitions_are_followed_from_guard_triggers_at_once() -> None:
    clock = Clock()
    metrics = make(clock)
    steps = (("breaker_open", "open"), ("breaker_half_open", "half_open"))
    for action, state in (*steps, ("breaker_reset", "closed")):
        trigger = {"guard": "breaker", "action": action, "reason": "r", "ts": clock.now}
        feed(metrics, clock, protocol.TOPIC_GUARD, trigger)
        assert metrics.snapshot()["breaker"]["state"] == state


def test_seconds_since_trade_counts_only_time_spent_running() -> None:
    clock = Clock()
    metrics = make(clock)
    assert metrics.snapshot()["seconds_since_trade"] == 0  # starting: no trades expected
    feed(metrics, clock, protocol.TOPIC_STATE, {"state": "running", "previous": "starting"})
    clock.advance(100)
    assert metrics.snapshot()["seconds_since_trade"] == 100
    feed(metrics, clock, protocol.TOPIC_TRADE, trade(1))
    clock.advance(30)
    assert metrics.snapshot()["seconds_since_trade"] == 30
    feed(metrics, clock, protocol.TOPIC_STATE, {"state": "paused", "previous": "running"})
    assert metrics.snapshot()["seconds_since_trade"] == 0
    feed(metrics, clock, protocol.TOPIC_STATE, {"state": "running", "previous": "paused"})
    clock.advance(5)
    assert metrics.snapshot()["seconds_since_trade"] == 5  # the quiet clock restarts


def test_compact_carries_the_six_runbook_metrics_for_the_heartbeat() -> None:
    compact = make(Clock()).compact()
    runbook = {
        "trades_per_minute",
        "errors_per_minute",
        "avg_ws_latency_ms",
        "avg_loop_latency_ms",
        "guard_triggers_per_minute",
        "pnl_change_1min",
    }
    assert runbook <= set(compact) and set(COMPACT) <= set(compact)
    assert "anomalies_today" in compact


def test_a_malformed_event_is_logged_and_skipped() -> None:
    clock = Clock()
    metrics = make(clock)
    seen: list[str] = []
    metrics.on_observed(seen.append)
    metrics._observe_safely(protocol.TOPIC_TRADE, {"not": "a trade"}, clock.now)
    feed(metrics, clock, protocol.TOPIC_TRADE, trade(1))
    assert metrics.snapshot()["totals"]["trades"] == 1 and seen == [protocol.TOPIC_TRADE]


async def test_metrics_follow_the_bus_and_error_logs_arrive_as_log_events() -> None:
    bus = EventBus()
    clock = Clock()
    metrics = make(clock)
    task = asyncio.create_task(metrics.follow(bus))
    bridge = ErrorLogBridge.install(bus)
    try:
        bus.publish(protocol.TOPIC_STATE, {"state": "running", "previous": "starting"})
        bus.publish(protocol.TOPIC_TRADE, trade(1, "reverted"))
        logging.getLogger("arbctl.test").error("ledger writes failing")
        await asyncio.to_thread(logging.getLogger("arbctl.test").error, "from a thread")
        clock.now = 10**10  # far future: read totals, not windows
        for _ in range(200):
            if metrics.totals["errors"] >= 3:
                break
            await asyncio.sleep(0.01)
    finally:
        bridge.remove()
        task.cancel()
    assert metrics.state == "running"
    assert metrics.totals["errors"] == 3  # one reverted trade, two ERROR records
    logs = [e.data for e in bus.recent([protocol.TOPIC_LOG])]
    assert [entry["msg"] for entry in logs] == ["ledger writes failing", "from a thread"]


async def _settle(predicate: object, rounds: int = 2000) -> None:
    for _ in range(rounds):
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.005)


async def test_metrics_cut_off_for_lagging_count_the_gap_and_carry_on() -> None:
    """A burst beyond the subscriber's queue cuts it off; it resumes from now (metrics
    are rates: replaying a backlog it could not keep up with only made it fall behind
    again) and records that it skipped."""
    bus = EventBus(ring_size=50_000)
    metrics = make(Clock())
    task = asyncio.create_task(metrics.follow(bus))
    try:
        await asyncio.sleep(0)
        for _ in range(17_000):  # no await: more than the queue holds
            bus.publish(protocol.TOPIC_LOG, {"level": "ERROR", "msg": "burst"})
        await _settle(lambda: metrics.lags == 1)
        bus.publish(protocol.TOPIC_STATE, {"state": "paused", "previous": "running"})
        await _settle(lambda: metrics.state == "paused")
        assert metrics.lags == 1 and metrics.state == "paused" and not task.done()
    finally:
        task.cancel()


def test_the_gas_models_error_is_its_estimate_against_the_gas_each_trade_used() -> None:
    clock = Clock()
    metrics = make(clock)
    assert metrics.snapshot()["gas_model"]["samples"] == 0
    for n, (estimate, used) in enumerate(
        ((130_000, 100_000), (180_000, 100_000), (90_000, 100_000))
    ):
        feed(
            metrics,
            clock,
            protocol.TOPIC_OPPORTUNITY,
            {**opportunity(n, 10**6), "gas_units": estimate},
        )
        feed(metrics, clock, protocol.TOPIC_TRADE, {**trade(n), "gas_used": used})
    # a revert burns less than the route costs: not the model's error
    feed(metrics, clock, protocol.TOPIC_OPPORTUNITY, {**opportunity(7, 10**6), "gas_units": 1})
    feed(metrics, clock, protocol.TOPIC_TRADE, trade(7, "reverted", -USDC))
    feed(metrics, clock, protocol.TOPIC_TRADE, trade(8))  # its opportunity was never seen
    gas = metrics.snapshot()["gas_model"]
    assert gas == {
        "samples": 3,
        "mean_abs": 40_000,  # (30k + 80k + 10k) / 3
        "p90_abs": 80_000,
        "mean_abs_pct": 40.0,
        "p90_abs_pct": 80.0,
        "bias": 33_333,  # over-estimates on average: (30k + 80k - 10k) / 3
    }
