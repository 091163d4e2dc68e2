"""pause/resume/kill round trips: state changes, refusals, and the audit trail."""

from __future__ import annotations

import json
import os

from engine import protocol
from tests.conftest import EngineHandle, wait_until


def _state(engine: EngineHandle) -> str:
    return json.loads(engine.cli("status", "--json").stdout)["state"]


def _running(engine: EngineHandle) -> None:
    assert wait_until(lambda: _state(engine) == "running")


def test_pause_then_resume_returns_to_running(engine: EngineHandle) -> None:
    _running(engine)
    paused = engine.cli("pause", "--reason", "gas spike", "--json")
    assert paused.returncode == 0
    assert json.loads(paused.stdout)["state"] == "paused"
    resumed = engine.cli("resume", "--reason", "gas normal", "--json")
    assert resumed.returncode == 0
    assert _state(engine) == "running"


def test_pause_while_halted_is_refused_with_exit_1(engine: EngineHandle) -> None:
    """Resuming a running engine is not an error (tests/arbctl/test_contracts.py); pausing a
    halted one is: it is not where the operator asked it to go."""
    _running(engine)
    assert engine.cli("kill", "--reason", "halt first").returncode == 0
    result = engine.cli("pause", "--reason", "pause a halted engine", "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"]["name"] == "invalid_state"


def test_pause_without_reason_is_refused_before_sending(engine: EngineHandle) -> None:
    result = engine.cli("pause")
    assert result.returncode == 2
    assert "--reason" in result.stderr
    assert _state(engine) != "paused"


def test_audit_records_caller_uid_client_and_reason(engine: EngineHandle) -> None:
    _running(engine)
    engine.cli("pause", "--reason", "audit me please")
    entries = json.loads(engine.cli("audit", "--json").stdout)["entries"]
    pause = next(e for e in entries if e["action"] == "pause")
    assert (pause["uid"], pause["client"], pause["reason"]) == (
        os.getuid(),
        "arbctl-cli",
        "audit me please",
    )


def test_kill_halts_persists_and_is_audited(engine: EngineHandle) -> None:
    _running(engine)
    result = engine.cli("kill", "--reason", "runaway losses", "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0
    assert (report["halted"], report["acknowledged"], report["via"]) == (True, True, "engine")
    assert _state(engine) == "halted"
    assert protocol.read_halt_marker(engine.state_dir)["reason"] == "runaway losses"
    entries = json.loads(engine.cli("audit", "--json").stdout)["entries"]
    kill = next(e for e in entries if e["action"] == "kill")
    assert (kill["uid"], kill["reason"]) == (os.getuid(), "runaway losses")


def test_resume_after_kill_clears_the_halt(engine: EngineHandle) -> None:
    _running(engine)
    engine.cli("kill", "--reason", "drill")
    result = engine.cli("resume", "--reason", "drill over")
    assert result.returncode == 0
    assert _state(engine) == "running"
    assert protocol.read_halt_marker(engine.state_dir) is None


def test_kill_with_shutdown_stops_the_engine(engine: EngineHandle) -> None:
    _running(engine)
    report = json.loads(engine.cli("kill", "-r", "stop all", "--shutdown", "--json").stdout)
    assert report["halted"] is True
    assert engine.cli("status").returncode == 3
    assert protocol.read_halt_marker(engine.state_dir) is not None


def test_reasons_are_shown_verbatim_even_with_brackets(engine: EngineHandle) -> None:
    _running(engine)
    result = engine.cli("pause", "--reason", "[urgent] gas [/] spike")
    assert result.returncode == 0
    assert "[urgent] gas [/] spike" in result.stdout
