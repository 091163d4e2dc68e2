"""Telemetry on a real engine over the simulated market, driven through `arbctl`: metrics
in `metrics` and the heartbeat, `kill` paging a real webhook server and a real command
hook, `resume` resolving it, an open breaker alerting with a dead webhook, the Prometheus
endpoint, and `arbctl logs` reading what the engine wrote after it stopped."""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from arbctl.client import Client
from tests.conftest import EngineHandle, new_engine_dir, wait_until
from tests.telemetry.conftest import WebhookServer, closed_port
from tests.telemetry.test_sinks import HOOK

RUNBOOK_METRICS = {
    "trades_per_minute",
    "errors_per_minute",
    "avg_ws_latency_ms",
    "avg_loop_latency_ms",
    "guard_triggers_per_minute",
    "pnl_change_1min",
}


def rpc(engine: EngineHandle, method: str, params: dict[str, Any] | None = None) -> Any:
    """Polling goes straight to the socket: a CLI subprocess per poll is slow."""
    return Client(engine.socket, timeout=15.0).call(method, params)


def cli_json(engine: EngineHandle, *args: str) -> Any:
    result = engine.cli(*args, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def json_lines(engine: EngineHandle, *args: str) -> list[dict[str, Any]]:
    result = engine.cli(*args, "--json")
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def hook_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def statuses(notes: list[dict[str, Any]], rule: str) -> list[str]:
    return [n["status"] for n in notes if n.get("rule") == rule]


def test_kill_pages_the_webhook_and_the_hook_and_resume_resolves(
    engine_factory: Callable[..., EngineHandle], webhook_server: WebhookServer, tmp_path: Path
) -> None:
    script, out = tmp_path / "hook.py", tmp_path / "alerts.jsonl"
    script.write_text(HOOK)
    engine = engine_factory(
        "[alerts]\nevaluate_interval_s = 0.2\n"
        f'webhook_url = "{webhook_server.url}"\n'
        f'command = ["{sys.executable}", "{script}", "{out}"]\n'
    )
    assert wait_until(lambda: rpc(engine, "metrics")["state"] == "running")
    metrics = cli_json(engine, "metrics")
    assert set(metrics) >= RUNBOOK_METRICS and metrics["quote"]["symbol"] == "USDC"

    def heartbeat_metrics() -> dict[str, Any]:
        beats = rpc(engine, "events.recent", {"topics": ["heartbeat"], "limit": 1})["events"]
        return beats[-1]["data"].get("metrics", {}) if beats else {}

    assert wait_until(lambda: set(heartbeat_metrics()) >= RUNBOOK_METRICS)

    assert engine.cli("kill", "--reason", "telemetry e2e").returncode == 0
    assert wait_until(lambda: "firing" in statuses(webhook_server.bodies(), "emergency_halt"))
    assert wait_until(
        lambda: "firing" in statuses([h["note"] for h in hook_lines(out)], "emergency_halt")
    )
    body = webhook_server.bodies("emergency_halt")[0]
    assert body["severity"] == "P0" and body["text"].startswith("[P0] FIRING emergency_halt")
    hooked = next(h for h in hook_lines(out) if h["note"]["rule"] == "emergency_halt")
    assert hooked["env"]["ARBCTL_ALERT_SEVERITY"] == "P0"
    active = cli_json(engine, "alerts")["active"]
    assert "emergency_halt" in [a["rule"] for a in active]

    assert engine.cli("resume", "--reason", "telemetry e2e done").returncode == 0
    assert wait_until(lambda: "resolved" in statuses(webhook_server.bodies(), "emergency_halt"))
    assert wait_until(
        lambda: "resolved" in statuses([h["note"] for h in hook_lines(out)], "emergency_halt")
    )
    assert statuses(webhook_server.bodies(), "emergency_halt") == ["firing", "resolved"]
    events = [
        e["data"] for e in json_lines(engine, "events", "--topic", "alert", "--limit", "1000")
    ]
    assert statuses(events, "emergency_halt") == ["firing", "resolved"]
    assert engine.cli("alerts").returncode == 0 and engine.cli("metrics").returncode == 0

    engine.stop()  # the log is read from the files: no engine needed
    logged = json_lines(engine, "logs", "--search", "emergency_halt", "--tail", "0")
    assert [r["msg"].split()[2] for r in logged] == ["FIRING", "RESOLVED"]
    assert all(r["logger"] == "arbctl.alerts" for r in logged)
    assert json_lines(engine, "logs", "--search", "engine stopped", "-n", "1")


@pytest.fixture
def breaker_engine() -> Iterator[tuple[EngineHandle, int]]:
    """Every failed trade opens the breaker; alerts go to a closed port; Prometheus on."""
    port = closed_port()
    text = (
        "[sim]\nblock_ms = 50\nv3_pools = false\n"
        "[guards]\nconsecutive_failures_limit = 1\n"
        f"[metrics]\nprometheus_port = {port}\n"
        "[alerts]\nevaluate_interval_s = 0.2\n"
        f'webhook_url = "http://127.0.0.1:{closed_port()}/hook/secret"\nwebhook_timeout_s = 1.0\n'
    )
    handle = EngineHandle(dir=new_engine_dir(), config_text=text)
    try:
        handle.start()
        yield handle, port
    finally:
        handle.cleanup()


def test_an_open_breaker_alerts_and_a_dead_webhook_breaks_nothing(
    breaker_engine: tuple[EngineHandle, int],
) -> None:
    engine, prometheus_port = breaker_engine

    def firing() -> list[str]:
        return [a["rule"] for a in rpc(engine, "alerts")["active"]]

    assert wait_until(lambda: "breaker_open" in firing(), timeout=30)
    alert = next(a for a in cli_json(engine, "alerts")["active"] if a["rule"] == "breaker_open")
    assert alert["severity"] == "P1" and "consecutive_failures" in alert["summary"]

    assert wait_until(lambda: rpc(engine, "alerts")["sinks"]["webhook"]["failed"] >= 1)
    assert json_lines(engine, "logs", "--search", "not delivered by webhook", "-n", "1")
    assert not json_lines(engine, "logs", "--search", "hook/secret", "-n", "1")  # redacted
    status = cli_json(engine, "status")
    assert status["state"] == "running"  # the engine did not notice the dead webhook
    sinks = cli_json(engine, "alerts")["sinks"]
    assert sinks["webhook"]["failed"] >= 1
    assert sinks["webhook"]["url"].endswith("/***") and "secret" not in sinks["webhook"]["url"]

    url = f"http://127.0.0.1:{prometheus_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        scrape = response.read().decode()
    assert 'rule="breaker_open",severity="P1"} 1.0' in scrape
    assert 'arbctl_breaker_state{chain="sim-' in scrape and "arbctl_trades_total{" in scrape


def test_a_flood_of_malformed_trade_events_is_counted_not_logged_per_event(
    engine_factory,
) -> None:
    """100k bogus `trade` events (not trade records): the metrics consumer used to log a
    traceback per event and replay its backlog, rotating the real log away."""
    engine = engine_factory("[engine]\ndebug_methods = true\n")
    client = Client(engine.socket, timeout=60.0)
    client.call("debug.flood", {"count": 100_000, "chunk": 500, "topic": "trade"})
    assert wait_until(lambda: client.call("status")["state"] == "running", 30)
    logs = [engine.log, *engine.log.parent.glob("engine.log.*")]
    assert sum(len(p.read_text().splitlines()) for p in logs) < 200
