"""The scrape by Prometheus' own rules: `promtool check metrics` (the real one, from the
Debian package) accepts it, counters end in `_total`, durations are histograms in seconds,
state is gauges, P&L is counters in quote tokens, every series names its engine and chain,
and no label carries an unbounded value (a trade id, a hash)."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from engine import protocol
from engine.bus import EventBus
from engine.config import AlertsSection, MetricsSection
from engine.telemetry.alerts.rules import default_rules
from engine.telemetry.alerts.service import Alerting
from engine.telemetry.metrics import Metrics
from engine.telemetry.prometheus import exposition
from engine.telemetry.series import Identity, Series
from tests.support.prometheus_tools import promtool
from tests.telemetry.conftest import Clock, heartbeat, opportunity, trade

ME = Identity(engine="arb-1", chain="sim-7", venue="sim")
ROUTE3 = [{"pool": f"p{i}", "token_in": "a", "token_out": "b"} for i in range(3)]


def engine_series(clock: Clock, identity: Identity = ME) -> tuple[Metrics, Alerting, Series]:
    metrics = Metrics(MetricsSection(), "USDC", 6, clock, machine_memory=lambda: 33.0)
    section = AlertsSection()

    async def probe() -> dict:
        return {"status": "OK", "checks": []}

    rules = default_rules(section, 100 * 10**6, str)
    alerting = Alerting(section, rules, EventBus(), metrics, probe, [], clock)
    series = Series(identity, metrics, alerting)
    metrics.add_fold(series)
    return metrics, alerting, series


def routed(n: int, **fields: Any) -> dict[str, Any]:
    data = trade(n, **fields)
    data["route"] = ROUTE3
    return data


def busy() -> tuple[Metrics, Alerting, Series]:
    clock = Clock()
    metrics, alerting, series = engine_series(clock)
    beat = heartbeat()
    beat["providers"][0].update(latency_counts=[1] * 12, latency_sum_ms=20_000.0, head_lag=0)
    metrics.observe(protocol.TOPIC_HEARTBEAT, beat, clock.now)
    for number, age in ((100, 0.2), (101, 0.1)):
        head = {"number": number, "decision_ms": 1.5, "received_at": clock.now - age}
        metrics.observe(protocol.TOPIC_BLOCK, head, clock.now)
    for n in range(3):  # found in block 100 (head 0.2 s ago), sent now, mined in 101
        found = {**opportunity(n, 10**6), "block_number": 100}
        metrics.observe(protocol.TOPIC_OPPORTUNITY, found, clock.now)
        data = routed(n, profit_quote=2_500_000, block_number=101)
        data["submitted_at"] = clock.now
        metrics.observe(protocol.TOPIC_TRADE, data, clock.now)
    metrics.observe(protocol.TOPIC_TRADE, routed(9, status="reverted", profit_quote=-500_000), 0)
    guard = {"guard": "max_gas_price", "action": "blocked", "repeats": 4, "trade_id": "t-1"}
    metrics.observe(protocol.TOPIC_GUARD, guard, clock.now)
    metrics.observe(protocol.TOPIC_LOG, {"level": "ERROR", "msg": "x"}, clock.now)
    alerting.evaluate()
    return metrics, alerting, series


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """{sample name: [(labels, value), ...]} of a scrape."""
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def value(text: str, name: str, **labels: str) -> float:
    rows = [v for got, v in samples(text)[name] if labels.items() <= got.items()]
    assert rows, f"no {name}{labels}"
    return sum(rows)


def test_promtool_check_metrics_accepts_the_scrape() -> None:
    checked = promtool("check", "metrics", stdin=exposition(busy()[2]))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_trades_errors_guards_and_transactions_are_counters_ending_in_total() -> None:
    text = exposition(busy()[2])
    assert value(text, "arbctl_trades_total", status="success", route_kind="3_hop") == 3
    assert value(text, "arbctl_trades_total", status="reverted", venue="sim") == 1
    assert value(text, "arbctl_trades_total", route_kind="2_hop") == 0  # exists from the start
    assert value(text, "arbctl_errors_total", kind="trade_reverted") == 1
    assert value(text, "arbctl_errors_total", kind="log") == 1
    assert value(text, "arbctl_guard_triggers_total", rule="max_gas_price", action="blocked") == 4
    assert value(text, "arbctl_transactions_total", route="public") == 4
    assert "# TYPE arbctl_trades_total counter" in text


def test_realised_pnl_is_counters_of_gains_and_losses_in_quote_tokens() -> None:
    text = exposition(busy()[2])
    assert value(text, "arbctl_realized_gains_quote_total", quote="USDC") == 7.5
    assert value(text, "arbctl_realized_losses_quote_total", quote="USDC") == 0.5
    assert value(text, "arbctl_realized_corrections_quote_total", direction="down") == 0


def test_durations_are_histograms_in_seconds() -> None:
    text = exposition(busy()[2])
    for name in ("loop_latency", "decision", "head_to_send"):
        assert f"# TYPE arbctl_{name}_seconds histogram" in text
    assert value(text, "arbctl_decision_seconds_sum") == 0.003
    # from the head the opportunity was found in (not the one the trade was mined in)
    assert abs(value(text, "arbctl_head_to_send_seconds_sum") - 0.6) < 1e-6  # 3 trades x 0.2
    assert value(text, "arbctl_head_to_send_seconds_count") == 3
    assert value(text, "arbctl_loop_latency_seconds_count") == 1


def test_rpc_latency_is_a_histogram_per_provider_of_every_request() -> None:
    clock = Clock()
    metrics, _, series = engine_series(clock)
    counts = [0] * 12
    counts[3] = 2  # two answers within 50 ms
    counts[8] = 1  # one within 2 s
    beat = heartbeat()
    beat["providers"][0].update(latency_counts=counts, latency_sum_ms=1580.0)
    metrics.observe(protocol.TOPIC_HEARTBEAT, beat, clock.now)
    text = exposition(series)
    assert value(text, "arbctl_rpc_latency_seconds_count", provider="a") == 3
    assert value(text, "arbctl_rpc_latency_seconds_bucket", provider="a", le="0.05") == 2
    assert value(text, "arbctl_rpc_latency_seconds_bucket", provider="a", le="2.0") == 3
    assert value(text, "arbctl_rpc_latency_seconds_sum", provider="a") == 1.58


def test_state_is_gauges_engine_breaker_halted_providers_and_gas_in_gwei() -> None:
    clock = Clock()
    metrics, _, series = engine_series(clock)
    metrics.observe(protocol.TOPIC_HEARTBEAT, heartbeat(), clock.now)
    metrics.observe(protocol.TOPIC_STATE, {"state": "running"}, clock.now)
    text = exposition(series)
    assert value(text, "arbctl_engine_state", state="running") == 1
    assert value(text, "arbctl_engine_state", state="halted") == 0
    assert value(text, "arbctl_halted") == 0
    assert value(text, "arbctl_breaker_state", state="closed") == 1
    assert value(text, "arbctl_provider_up", provider="a") == 1
    assert value(text, "arbctl_provider_status", provider="b", status="healthy") == 1
    assert value(text, "arbctl_provider_active", provider="a") == 1
    assert value(text, "arbctl_gas_price_gwei") == 20
    metrics.observe(protocol.TOPIC_STATE, {"state": "halted"}, clock.now)
    breaker = {"guard": "consecutive_failures", "action": "breaker_open", "reason": "x"}
    metrics.observe(protocol.TOPIC_GUARD, breaker, clock.now)
    text = exposition(series)
    assert value(text, "arbctl_halted") == 1
    assert value(text, "arbctl_engine_state", state="halted") == 1
    assert value(text, "arbctl_breaker_state", state="open") == 1


def test_every_series_names_its_engine_and_chain_and_no_label_is_a_trade_id() -> None:
    text = exposition(busy()[2])
    every = [(name, labels) for name, rows in samples(text).items() for labels, _ in rows]
    assert every
    for name, labels in every:
        assert labels.get("engine") == "arb-1" and labels.get("chain") == "sim-7", name
        for label in labels.values():
            assert not label.startswith(("t-", "o-", "0x")), (name, labels)
    assert value(text, "arbctl_engine_info", venue="sim", quote="USDC") == 1


def test_each_engine_has_its_own_registry() -> None:
    clock = Clock()
    metrics, _, first = engine_series(clock)
    _, _, second = engine_series(clock, Identity("arb-2", "sim-8", "sim"))
    metrics.observe(protocol.TOPIC_TRADE, trade(1), clock.now)
    assert value(exposition(first), "arbctl_trades_total", status="success") == 1
    assert value(exposition(second), "arbctl_trades_total", status="success") == 0
    assert "python_gc" not in exposition(first)  # not the process-global registry


def test_events_the_counters_missed_or_could_not_read_are_counted_too() -> None:
    """A burst the consumer could not keep up with is skipped (metrics resume from now):
    the counters are then short, and the scrape says by how many gaps."""
    clock = Clock()
    metrics, _, series = engine_series(clock)
    metrics._observe_safely(protocol.TOPIC_TRADE, {"not": "a trade"}, clock.now)
    metrics.lags += 2
    text = exposition(series)
    assert value(text, "arbctl_metrics_malformed_events_total") == 1
    assert value(text, "arbctl_metrics_lags_total") == 2
    assert value(text, "arbctl_trades_total") == 0


def test_block_events_are_followed_only_when_something_folds_them() -> None:
    plain = Metrics(MetricsSection(), "USDC", 6, Clock())
    assert protocol.TOPIC_BLOCK not in plain.topics()
    metrics, _, _ = engine_series(Clock())
    assert protocol.TOPIC_BLOCK in metrics.topics()
