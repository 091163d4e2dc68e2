"""`scripts/emergency-shutdown.sh` against real engines on the simulated market.

Each engine has an alert command hook that appends every notification to a file, so
"an alert was sent" is checked where the pager would see it, not in our own report.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import EngineHandle, _alive, new_engine_dir, wait_until
from tests.scripts.runbook.conftest import SCRIPTS, script_env

SCRIPT = SCRIPTS / "emergency-shutdown.sh"
REASON = "runaway losses on WETH/USDC"


def alert_hook(directory: Path) -> tuple[str, Path]:
    """Config for an [alerts] command that appends each notification to a file."""
    sink = directory / "alerts.jsonl"
    command = json.dumps(["sh", "-c", f"cat >> {sink}; echo >> {sink}"])
    return f"[alerts]\ncommand = {command}\n", sink


def run_script(handle: EngineHandle, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        env=script_env(handle),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def alerts(sink: Path) -> list[dict]:
    if not sink.exists():
        return []
    return [json.loads(line) for line in sink.read_text().splitlines() if line.strip()]


def hooked_engine(engine_factory: Callable[..., EngineHandle]) -> tuple[EngineHandle, Path]:
    handle = engine_factory(start=False)
    toml, sink = alert_hook(handle.dir)
    handle.config_text += toml
    handle.start()
    return handle, sink


def assert_state_preserved(handle: EngineHandle) -> None:
    """The log line, the copied logs, and a ledger backup that opens."""
    lines = (handle.state_dir / "logs" / "emergency-shutdown.log").read_text().splitlines()
    assert len(lines) == 1
    assert re.fullmatch(
        rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ user=\S+ halt=\w+ reason={re.escape(REASON)}",
        lines[0],
    )
    (copied,) = handle.state_dir.glob("logs_emergency_*")
    assert (copied / "engine.log").stat().st_size > 0
    assert (copied / "emergency-shutdown.log").read_text().splitlines() == lines
    (backup,) = handle.state_dir.glob("ledger_emergency_*.backup")
    with sqlite3.connect(f"file:{backup}?mode=ro", uri=True) as db:
        assert db.execute("SELECT count(*) FROM trades").fetchone()[0] >= 0


def test_a_running_engine_is_halted_stopped_alerted_and_its_state_preserved(
    engine_factory: Callable[..., EngineHandle],
) -> None:
    handle, sink = hooked_engine(engine_factory)

    result = run_script(handle, REASON)

    assert result.returncode == 0, result.stdout + result.stderr
    assert wait_until(lambda: not _alive(handle.pid))
    assert handle.cli("status", "--json").returncode == 3
    halt = json.loads((handle.state_dir / "halt.json").read_text())
    assert halt["reason"] == f"emergency shutdown: {REASON}"
    assert_state_preserved(handle)
    assert wait_until(lambda: any(a["rule"] == "emergency_halt" for a in alerts(sink)))
    for step in ("halt", "verify", "log", "alert", "logs", "backup"):
        assert re.search(rf"\[ok  \] {step} ", result.stdout), (step, result.stdout)
    assert "the engine fired its P0 emergency_halt alert" in result.stdout


def test_an_unresponsive_engine_is_halted_by_the_fallback_and_stays_halted(
    engine_factory: Callable[..., EngineHandle],
) -> None:
    handle, sink = hooked_engine(engine_factory)
    os.kill(handle.pid, signal.SIGSTOP)

    result = run_script(handle, REASON)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "engine did not answer: halt persisted by arbctl" in result.stdout
    assert "engine did not alert; P0 emergency_halt sent by command" in result.stdout
    assert wait_until(lambda: not _alive(handle.pid))
    (sent,) = [a for a in alerts(sink) if a["rule"] == "emergency_halt"]
    assert sent["severity"] == "P0" and REASON in sent["summary"]
    assert_state_preserved(handle)

    handle.start()
    status = json.loads(handle.cli("status", "--json").stdout)
    assert status["state"] == "halted"
    assert status["halt"]["reason"] == f"emergency shutdown: {REASON}"


def test_without_a_reason_nothing_is_done() -> None:
    handle = EngineHandle(dir=new_engine_dir())
    try:
        result = run_script(handle)
        assert result.returncode == 2
        assert "a REASON is required" in result.stderr
        assert not handle.state_dir.exists()
    finally:
        handle.cleanup()


def test_a_halt_that_cannot_be_persisted_fails_loudly() -> None:
    """No engine answers and the state dir is not a directory: no marker, exit 1."""
    handle = EngineHandle(dir=new_engine_dir())
    try:
        handle.dir.mkdir(exist_ok=True)
        handle.state_dir.write_text("not a directory\n")

        result = run_script(handle, REASON)

        assert result.returncode == 1, result.stdout + result.stderr
        assert "[FAIL] halt" in result.stdout
        assert "HALT NOT CONFIRMED" in result.stdout
    finally:
        handle.cleanup()


def test_a_frozen_socket_owner_that_cannot_be_stopped_is_not_reported_halted() -> None:
    """Something holds the engine's socket and never answers, and it is not a process
    arbctl may signal (as from another container): the marker alone is not enough,
    since that process could trade again if it woke up — exit 1, act by hand."""
    handle = EngineHandle(dir=new_engine_dir())
    handle.dir.mkdir(exist_ok=True)
    listener = subprocess.Popen(
        [sys.executable, "-c", FROZEN_LISTENER],
        env={"SOCK": str(handle.socket)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert listener.stdout is not None and listener.stdout.readline() == "listening\n"

        result = run_script(handle, REASON)

        assert result.returncode == 1, result.stdout + result.stderr
        assert "[ok  ] halt" in result.stdout  # the marker is written ...
        assert "[FAIL] verify  an engine holds the socket but does not answer" in result.stdout
        assert "HALT NOT CONFIRMED" in result.stdout  # ... but that is not enough
        assert listener.poll() is None  # a stranger's process is never signalled
    finally:
        listener.kill()
        listener.wait()
        handle.cleanup()


FROZEN_LISTENER = """
import os, socket, time
server = socket.socket(socket.AF_UNIX)
server.bind(os.environ["SOCK"])
server.listen(16)
print("listening", flush=True)
time.sleep(120)
"""
