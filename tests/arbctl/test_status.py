"""`status` and `health` against a real engine: documented fields, exit codes."""

from __future__ import annotations

import json

from tests.conftest import EngineHandle

STATUS_FIELDS = {
    "state", "reason", "since", "pid", "uptime_s", "socket", "state_dir", "venue", "chain",
    "block", "head_age_s", "loop_latency_ms", "avg_loop_latency_ms", "started_at", "last_seq",
    "subscribers", "halt", "gate", "ledger", "config_source", "version",
}  # fmt: skip


def test_status_json_has_the_documented_fields(engine: EngineHandle) -> None:
    result = engine.cli("status", "--json")
    status = json.loads(result.stdout)
    assert result.returncode == 0
    assert set(status) >= STATUS_FIELDS
    assert {"sent", "refused", "in_flight"} <= set(status["gate"])
    assert {"backend", "ok", "error"} <= set(status["ledger"])


def test_status_names_the_engine_pid_and_paths(engine: EngineHandle) -> None:
    status = json.loads(engine.cli("status", "--json").stdout)
    assert status["pid"] == engine.pid
    assert status["socket"] == str(engine.socket)
    assert status["state_dir"] == str(engine.state_dir)


def test_status_for_humans_shows_the_state(engine: EngineHandle) -> None:
    result = engine.cli("status")
    assert result.returncode == 0
    assert "RUNNING" in result.stdout or "STARTING" in result.stdout


def test_health_json_has_a_verdict_and_checks(engine: EngineHandle) -> None:
    health = json.loads(engine.cli("health", "--json").stdout)
    assert health["status"] in {"OK", "WARNING", "CRITICAL"}
    assert all({"name", "status", "detail"} <= set(c) for c in health["checks"])


def test_health_exit_code_follows_the_verdict(engine: EngineHandle) -> None:
    result = engine.cli("health", "--json")
    verdict = json.loads(result.stdout)["status"]
    assert result.returncode == {"OK": 0, "WARNING": 1, "CRITICAL": 2}[verdict]
