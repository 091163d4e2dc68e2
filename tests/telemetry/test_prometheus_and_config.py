"""The optional Prometheus endpoint (a real loopback HTTP server), and the `[metrics]` /
`[alerts]` config sections: parsed, validated, the webhook's secret redacted."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from engine import protocol
from engine.config import ConfigError, load, redacted
from engine.telemetry.prometheus import PrometheusExporter, exposition
from tests.telemetry.conftest import Clock, heartbeat, trade
from tests.telemetry.test_prometheus_conventions import engine_series


def test_the_runbook_per_minute_figures_stay_out_of_the_scrape() -> None:
    """Prometheus computes its own windows from the counters: a scraped one-minute
    average would be a sample of a sample (they stay in `arbctl metrics`)."""
    clock = Clock()
    metrics, alerting, series = engine_series(clock)
    metrics.observe(protocol.TOPIC_HEARTBEAT, heartbeat(), clock.now)
    metrics.observe(protocol.TOPIC_TRADE, trade(1), clock.now)
    metrics.observe(protocol.TOPIC_STATE, {"state": "halted"}, clock.now)
    alerting.evaluate()
    text = exposition(series)
    for gone in ("per_minute", "avg_", "_ms", "pnl_change_1min", "pnl_hourly", "_percent"):
        assert gone not in text, gone
    assert 'rule="emergency_halt",severity="P0"} 1.0' in text
    assert 'rule="cpu_high",severity="P2"} 0.0' in text
    assert 'arbctl_memory_used_ratio{chain="sim-7",engine="arb-1"} 0.33' in text
    assert metrics.snapshot()["trades_per_minute"] == 1.0  # still computed for the runbook


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, "", ""


async def test_the_exporter_serves_metrics_on_loopback_only() -> None:
    exporter = PrometheusExporter(engine_series(Clock())[2], port=0)
    port = await exporter.start()
    try:
        assert exporter.host == "127.0.0.1"
        status, kind, body = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/metrics")
        assert status == 200 and kind.startswith("text/plain; version=0.0.4")
        assert "arbctl_alert_firing" in body and "arbctl_trades_total" in body
        missing, _, _ = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/nope")
        assert missing == 404
    finally:
        await exporter.close()


async def test_a_container_binds_the_exporter_to_all_its_interfaces(tmp_path: Path) -> None:
    """`prometheus_host = "0.0.0.0"` (docker-compose: the scraper is another container on
    the compose network; no port is published to the host)."""
    path = tmp_path / "engine.toml"
    path.write_text('[metrics]\nprometheus_port = 9464\nprometheus_host = "0.0.0.0"\n')
    host = load(path).metrics.prometheus_host
    exporter = PrometheusExporter(engine_series(Clock())[2], port=0, host=host)
    port = await exporter.start()
    try:
        status, _, body = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/metrics")
        assert status == 200 and "arbctl_halted" in body
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
    assert config.metrics.prometheus_host == "127.0.0.1"  # loopback unless told otherwise
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
        ('[metrics]\nprometheus_host = "example.com"\n', "metrics.prometheus_host"),
        ('[metrics]\nprometheus_host = "10.0.0.300"\n', "metrics.prometheus_host"),
    ],
)
def test_bad_values_name_their_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "engine.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert caught.value.key == key
