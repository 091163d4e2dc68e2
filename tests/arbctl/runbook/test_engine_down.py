"""The engine is down: every procedure still answers, says so, and reads what the state
directory holds (pid file, halt marker, logs, the last snapshot in the SQLite ledger)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.accounting.conftest import cli_json
from tests.arbctl.runbook.conftest import HEALTHY, by_name, keys, start
from tests.conftest import EngineHandle


def test_triage_says_crashed_and_shows_the_evidence(crashed: EngineHandle) -> None:
    code, doc = cli_json(crashed, "triage")
    assert code == 3 and doc["engine"]["reachable"] is False  # unreachable: 3, in every command
    down = keys(doc)["engine_down"]
    assert down["severity"] == "P0" and "crashed or killed" in down["title"]
    evidence = "\n".join(down["evidence"])
    assert f"pid file: {crashed.pid}, not running" in evidence
    assert "last snapshot: " in evidence and "(periodic, session" in evidence
    assert "last log lines:" in evidence and "arbctl.pipeline" in evidence
    assert "arbctl up" in down["next_step"]


def test_morning_fails_the_engine_items_and_still_checks_the_state_dir(
    crashed: EngineHandle,
) -> None:
    code, doc = cli_json(crashed, "checklist", "morning")
    checks = by_name(doc)
    assert checks["engine"]["status"] == "FAIL" and "no answer" in checks["engine"]["evidence"]
    assert checks["ledger"]["status"] == "FAIL" and checks["logs"]["status"] == "FAIL"
    assert checks["halt"]["status"] == "PASS"  # answered from the state dir: no marker
    assert checks["errors"]["status"] == "PASS" and "disk" in checks
    assert code == 3 == doc["exit_code"] and doc["engine"]["reachable"] is False
    assert doc["verdict"] == "FAIL"  # the verdict still says how bad it is


def test_the_engine_down_morning_checklist_says_the_cause_once_at_80_columns(
    crashed: EngineHandle,
) -> None:
    result = crashed.cli("checklist", "morning")
    assert result.returncode == 3
    doc = cli_json(crashed, "checklist", "morning")[1]
    causes = {(c["evidence"], c["next_step"]) for c in doc["checks"] if c["status"] == "FAIL"}
    assert result.stdout.count("│ FAIL") == len(causes) < 4, result.stdout  # one row a cause
    assert "│ FAIL   │ engine, health," in result.stdout
    assert all(len(line) <= 80 for line in result.stdout.splitlines())


def test_evening_still_archives_the_logs(crashed: EngineHandle) -> None:
    code, doc = cli_json(crashed, "checklist", "evening")
    checks = by_name(doc)
    assert checks["log_archive"]["status"] == "PASS"
    assert checks["export"]["status"] == "FAIL" and checks["reconcile"]["status"] == "FAIL"
    assert code == 3


def test_daily_report_comes_from_the_state_dir(crashed: EngineHandle, tmp_path: Path) -> None:
    out = tmp_path / "daily.md"
    code, doc = cli_json(crashed, "report", "daily", "--out", str(out))
    assert code == 3 and doc["service"]["reachable"] is False and doc["gaps"]
    assert doc["trading"]["pnl"] is None and doc["disk"]["used_percent"] is not None
    text = out.read_text()
    assert "crashed or killed" in text and "## Sources that did not answer" in text


def test_incident_is_written_from_the_logs(crashed: EngineHandle) -> None:
    args = ("incident", "new", "-s", "P0", "-t", "Engine crashed", "--since", "1h")
    code, doc = cli_json(crashed, *args)
    assert code == 3 and doc["sources"] == "logs" and doc["pnl"] is None
    assert any("went silent" in e["text"] for e in doc["timeline"] if e["kind"] == "detected")
    assert any(e["text"].startswith("engine running") for e in doc["timeline"])
    assert Path(doc["path"]).parent == crashed.state_dir / "incidents"


def test_a_persisted_halt_is_a_p0_finding(crashed: EngineHandle) -> None:
    """`arbctl kill` with nobody answering writes the marker; triage and morning see it."""
    assert crashed.cli("kill", "--reason", "runbook test: halt while down").returncode == 0
    try:
        code, doc = cli_json(crashed, "triage")
        halted = keys(doc)["halted"]
        assert code == 3
        assert halted["severity"] == "P0"
        assert any("runbook test: halt while down" in line for line in halted["evidence"])
        checks = by_name(cli_json(crashed, "checklist", "morning")[1])
        assert checks["halt"]["status"] == "FAIL" and "HALTED" in checks["halt"]["evidence"]
    finally:
        (crashed.state_dir / "halt.json").unlink(missing_ok=True)


@pytest.fixture
def frozen() -> Iterator[EngineHandle]:
    """A live engine process that cannot answer: SIGSTOPped (continued at teardown)."""
    handle = start(HEALTHY)
    os.kill(handle.pid, signal.SIGSTOP)
    yield handle
    os.kill(handle.pid, signal.SIGCONT)
    handle.cleanup()


def test_a_frozen_engine_is_told_apart_from_a_dead_one(frozen: EngineHandle) -> None:
    code, doc = cli_json(frozen, "triage")
    down = keys(doc)["engine_down"]
    assert code == 3 and doc["engine"]["reason"] == "timeout"
    assert "SIGSTOPped" in down["title"] and "kill --reason" in down["next_step"]
