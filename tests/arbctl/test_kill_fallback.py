"""`arbctl kill` when the engine cannot answer: persist the halt, then signal the pid."""

from __future__ import annotations

import json
import os
import signal

from engine import protocol
from tests.conftest import EngineHandle, wait_until


def _steps(report: dict) -> dict[str, bool]:
    return {s["step"]: s["ok"] for s in report["steps"]}


def test_kill_of_a_stopped_engine_writes_the_marker_itself(engine: EngineHandle) -> None:
    os.kill(engine.pid, signal.SIGSTOP)
    result = engine.cli("kill", "--reason", "engine frozen", "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0
    assert (report["halted"], report["acknowledged"]) == (True, False)
    marker = protocol.read_halt_marker(engine.state_dir)
    assert marker is not None and marker["reason"] == "engine frozen"
    assert report["marker"] == str(engine.state_dir / protocol.HALT_FILE)


def test_kill_fallback_reports_each_step(engine: EngineHandle) -> None:
    os.kill(engine.pid, signal.SIGSTOP)
    report = json.loads(engine.cli("kill", "--reason", "frozen", "--json").stdout)
    steps = _steps(report)
    assert steps["ask_engine"] is False
    assert steps["write_marker"] and steps["find_pid"] and steps["sigterm"] and steps["sigcont"]
    assert report["pid"] == engine.pid


def test_engine_restarted_after_fallback_kill_comes_up_halted(engine: EngineHandle) -> None:
    os.kill(engine.pid, signal.SIGSTOP)
    engine.cli("kill", "--reason", "frozen", "--shutdown")
    assert wait_until(lambda: engine.cli("status").returncode == 3)
    engine.start()
    status = json.loads(engine.cli("status", "--json").stdout)
    assert status["state"] == "halted"
    assert status["halt"]["reason"] == "frozen"


def test_kill_with_no_engine_at_all_still_persists_the_halt(no_engine: EngineHandle) -> None:
    result = no_engine.cli("kill", "--reason", "before start", "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0
    assert report["halted"] is True and _steps(report)["find_pid"] is False
    assert protocol.read_halt_marker(no_engine.state_dir) is not None
