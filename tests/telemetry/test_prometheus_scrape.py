"""A real Prometheus scrapes a real engine on the simulated market, with the shipped
alert rules: trades are counted, the halted gauge flips on `kill`, and the breaker rule
fires when the breaker opens. Everything is read back through Prometheus' HTTP API."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from arbctl.client import Client
from tests.conftest import EngineHandle, new_engine_dir, wait_until
from tests.support.prometheus_server import PrometheusServer, running_prometheus
from tests.support.prometheus_tools import promtool
from tests.support.promql import alert_expressions, arbctl_names, dashboard_expressions
from tests.telemetry.conftest import closed_port


@pytest.fixture
def scraped(tmp_path: Path) -> Iterator[tuple[EngineHandle, PrometheusServer, int]]:
    """An engine whose first failed trade opens the breaker, and a Prometheus on it."""
    port = closed_port()
    text = (
        "[sim]\nblock_ms = 50\nv3_pools = false\n"
        "[guards]\nconsecutive_failures_limit = 1\n"
        f"[metrics]\nprometheus_port = {port}\n"
    )
    engine = EngineHandle(dir=new_engine_dir(), config_text=text)
    try:
        engine.start()
        with running_prometheus(tmp_path, closed_port(), [f"127.0.0.1:{port}"]) as prometheus:
            yield engine, prometheus, port
    finally:
        engine.cleanup()


def test_prometheus_counts_trades_sees_the_breaker_fire_and_the_halt(
    scraped: tuple[EngineHandle, PrometheusServer, int],
) -> None:
    """The engine's own scrape (after its first trades) also holds every series the
    shipped alert rules and dashboard read: not one of them is silently empty."""
    engine, prometheus, port = scraped
    client = Client(engine.socket, timeout=15.0)
    assert wait_until(lambda: prometheus.value('up{job="arbctl"}') == 1.0, timeout=30)
    assert wait_until(lambda: prometheus.value("arbctl_halted") == 0.0, timeout=30)
    identity = prometheus.query("arbctl_engine_info")[0]["metric"]
    assert identity["chain"].startswith("sim") and identity["engine"]

    assert wait_until(lambda: (prometheus.value("sum(arbctl_trades_total)") or 0) > 0, 60)
    counted = prometheus.value("sum(arbctl_trades_total)") or 0
    assert counted <= client.call("metrics")["totals"]["trades"]  # a scrape is a past moment
    for histogram in ("head_to_send", "decision", "loop_latency", "rpc_latency"):
        count = f"sum(arbctl_{histogram}_seconds_count)"
        assert wait_until(lambda q=count: (prometheus.value(q) or 0) > 0, timeout=30), histogram

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        scrape = response.read().decode()
    checked = promtool("check", "metrics", stdin=scrape)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    exported = {s.name for f in text_string_to_metric_families(scrape) for s in f.samples}
    for expr in [*alert_expressions(), *dashboard_expressions()]:
        assert arbctl_names(expr) <= exported, (expr, arbctl_names(expr) - exported)

    assert wait_until(lambda: "ArbctlBreakerOpen" in prometheus.firing(), timeout=60)
    opened = prometheus.query('arbctl_breaker_state{state="open"} == 1')
    assert opened and opened[0]["metric"]["engine"] == identity["engine"]

    assert engine.cli("kill", "--reason", "prometheus e2e").returncode == 0
    assert wait_until(lambda: prometheus.value("arbctl_halted") == 1.0, timeout=30)
    assert wait_until(lambda: "ArbctlEmergencyHalt" in prometheus.firing(), timeout=30)
    state = prometheus.query('arbctl_engine_state{state="halted"}')
    assert float(state[0]["value"][1]) == 1.0
