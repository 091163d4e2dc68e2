"""The optional Prometheus endpoint (a real loopback HTTP server), and the `[metrics]` /
`[alerts]` config sections: parsed, validated, the webhook's secret redacted."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from engine import protocol
from engine.bus import EventBus
from engine.config import AlertsSection, ConfigError, MetricsSection, load, redacted
from engine.telemetry.alerts.rules import default_rules
from engine.telemetry.alerts.service import Alerting
from engine.telemetry.metrics import Metrics
from engine.telemetry.prometheus import PrometheusExporter, exposition
from tests.telemetry.conftest import Clock, heartbeat, trade


def telemetry(clock: Clock) -> tuple[Metrics, Alerting]:
    metrics = Metrics(MetricsSection(), "USDC", 6, clock, machine_memory=lambda: 33.0)
    section = AlertsSection()

    async def probe() -> dict:
        return {"status": "OK", "checks": []}

    rules = default_rules(section, 100 * 10**6, str)
    return metrics, Alerting(section, rules, EventBus(), metrics, probe, [], clock)


def test_exposition_is_the_prometheus_text_format() -> None:
    clock = Clock()
    metrics, alerting = telemetry(clock)
    metrics.observe(protocol.TOPIC_HEARTBEAT, heartbeat(), clock.now)
    metrics.observe(protocol.TOPIC_TRADE, trade(1), clock.now)
    metrics.observe(protocol.TOPIC_STATE, {"state": "halted"}, clock.now)
    alerting.evaluate()
    text = exposition(metrics, alerting)
    assert "# TYPE arbctl_trades_per_minute gauge\narbctl_trades_per_minute 1.0\n" in text
    assert "arbctl_pnl_change_1min 1000000.0\n" in text
    assert 'arbctl_breaker_state{state="closed"} 1.0' in text
    assert 'arbctl_alert_firing{rule="emergency_halt",severity="P0"} 1.0' in text
    assert 'arbctl_alert_firing{rule="cpu_high",severity="P2"} 0.0' in text
    assert "arbctl_process_memory_percent 33.0" in text
    assert "arbctl_success_rate 1.0" in text
    assert "avg_ws_latency_ms 40.0" in text
    for line in text.splitlines():
        assert line.startswith("# ") or line.startswith("arbctl_") or not line


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, "", ""


async def test_the_exporter_serves_metrics_on_loopback_only() -> None:
    clock = Clock()
    metrics, alerting = telemetry(clock)
    exporter = PrometheusExporter(metrics, alerting, port=0)
    port = await exporter.start()
    try:
        assert exporter.host == "127.0.0.1"
        status, kind, body = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/metrics")
        assert status == 200 and kind.startswith("text/plain; version=0.0.4")
        assert "arbctl_alert_firing" in body
        missing, _, _ = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/nope")
        assert missing == 404
    finally:
        await exporter.close()


def test_the_sections_load_from_toml_with_their_defaults(tmp_path: Path) -> None:
    path = tmp_path / "engine.toml"
    path.write_text(
        "[metrics]\nwindow_s = 10\nprometheus_port = 9464\n"
        "[alerts]\nresend_interval_s = 60\ncommand = ['/usr/local/bin/page', '--team', 'ops']\n"
        'webhook_url = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"\n'
        'webhook_min_severity = "P1"\ndisabled = ["no_trades"]\n'
    )
    config = load(path)
    assert config.metrics.window_s == 10.0 and config.metrics.prometheus_port == 9464
    assert config.metrics.hour_window_s == 3600.0
    assert config.alerts.command == ["/usr/local/bin/page", "--team", "ops"]
    assert config.alerts.webhook_min_severity == "P1" and config.alerts.cpu_percent == 80.0
    shown = redacted(config)["alerts"]["webhook_url"]
    assert shown == "https://hooks.slack.com/***" and "SECRET" not in str(redacted(config))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[alerts]\nwebhook_min_severity = "P5"\n', "alerts.webhook_min_severity"),
        ("[alerts]\nno_such_key = 1\n", "alerts.no_such_key"),
        ('[metrics]\nwindow_s = "fast"\n', "metrics.window_s"),
    ],
)
def test_bad_values_name_their_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "engine.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert caught.value.key == key
