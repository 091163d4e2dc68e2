"""`down`, the kill fallback and `up` signal only a process proven to be this engine.

A pid file can be stale and a pid recycled: a stranger who got the engine's old pid must
never receive SIGTERM, whatever its command line says. Proof is the pid file written by
the engine at start (pid, start time in clock ticks since boot, a nonce) matched against
/proc/PID/stat and the socket's owner.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine import protocol
from tests.conftest import EngineHandle, _alive, wait_until

# Command lines that the old "mentions arbctl or engine" check took for the engine.
STRANGER_ARGV = {
    "less-engine-log": ["less", "/var/log/engine.log"],
    "mentions-arbctl": ["arbctl-notes", "--socket", "/tmp/arbctl-x/engine.sock"],
}


@pytest.fixture(params=sorted(STRANGER_ARGV))
def stranger(request: pytest.FixtureRequest) -> Iterator[subprocess.Popen[bytes]]:
    """A sleeping process whose command line looks like the engine's to a naive check."""
    words = STRANGER_ARGV[request.param]
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", *words])
    yield proc
    proc.kill()
    proc.wait()


def start_ticks(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])


def stale_pid_files(pid: int, socket: Path) -> dict[str, str]:
    """What a stale pid file naming `pid` can look like: an old engine's bare pid, or a
    complete record whose start time is not that process's (the pid was reused)."""
    record = {"pid": pid, "start_ticks": start_ticks(pid) + 12345, "nonce": "a" * 32}
    record["socket"] = str(socket)
    return {"bare": f"{pid}\n", "reused": json.dumps(record)}


def write_pid_file(handle: EngineHandle, text: str) -> None:
    handle.state_dir.mkdir(parents=True, exist_ok=True)
    (handle.state_dir / protocol.PID_FILE).write_text(text)


@pytest.mark.parametrize("form", ["bare", "reused"])
def test_down_never_signals_a_stranger_named_by_a_stale_pid_file(
    no_engine: EngineHandle, stranger: subprocess.Popen[bytes], form: str
) -> None:
    write_pid_file(no_engine, stale_pid_files(stranger.pid, no_engine.socket)[form])

    result = no_engine.cli("down", "--force", "--timeout", "1", "--json")

    assert stranger.poll() is None, result.stdout
    report = json.loads(result.stdout)
    assert not any(s["step"] in ("sigterm", "sigkill") for s in report["steps"])
    assert report["was_running"] is False


@pytest.mark.parametrize("form", ["bare", "reused"])
def test_the_kill_fallback_never_signals_a_stranger_named_by_a_stale_pid_file(
    no_engine: EngineHandle, stranger: subprocess.Popen[bytes], form: str
) -> None:
    write_pid_file(no_engine, stale_pid_files(stranger.pid, no_engine.socket)[form])

    result = no_engine.cli("kill", "--reason", "stale pid", "--shutdown", "--grace", "1", "--json")

    assert stranger.poll() is None, result.stdout
    report = json.loads(result.stdout)
    assert report["halted"] is True  # the marker is written all the same
    assert not any(s["step"] in ("sigterm", "sigcont", "sigkill") for s in report["steps"])
    (find,) = [s for s in report["steps"] if s["step"] == "find_pid"]
    assert find["ok"] is False and str(stranger.pid) in find["detail"]


def test_a_reused_pid_is_refused_because_its_start_time_differs(
    no_engine: EngineHandle, stranger: subprocess.Popen[bytes]
) -> None:
    write_pid_file(no_engine, stale_pid_files(stranger.pid, no_engine.socket)["reused"])

    report = json.loads(no_engine.cli("kill", "--reason", "reused", "--json").stdout)

    (find,) = [s for s in report["steps"] if s["step"] == "find_pid"]
    assert "start time" in find["detail"] and "reused" in find["detail"]
    assert stranger.poll() is None


def test_the_engine_writes_a_pid_file_a_stranger_cannot_share(engine: EngineHandle) -> None:
    record = json.loads((engine.state_dir / protocol.PID_FILE).read_text())
    status = json.loads(engine.cli("status", "--json").stdout)

    assert record["pid"] == engine.pid
    assert record["start_ticks"] == start_ticks(engine.pid)
    assert len(record["nonce"]) >= 32 and status["instance"] == record["nonce"]
    assert record["socket"] == str(engine.socket)


def test_a_frozen_engine_is_proven_and_stopped_by_the_fallback(engine: EngineHandle) -> None:
    os.kill(engine.pid, signal.SIGSTOP)

    result = engine.cli("kill", "--reason", "frozen", "--shutdown", "--grace", "5", "--json")

    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["pid"] == engine.pid
    (find,) = [s for s in report["steps"] if s["step"] == "find_pid"]
    assert find["ok"] and "start time" in find["detail"] and "socket" in find["detail"]
    assert wait_until(lambda: not _alive(engine.pid))


@pytest.fixture
def healthy_elsewhere(engine: EngineHandle) -> Iterator[Callable[..., subprocess.CompletedProcess]]:
    """CLI calls that name the healthy engine's state dir but another socket."""
    other = engine.dir / "other.sock"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return engine.cli(*args, "--socket", str(other), "--state-dir", str(engine.state_dir))

    yield run


def test_up_on_another_socket_never_advises_force_killing_a_healthy_engine(
    engine: EngineHandle, healthy_elsewhere: Callable[..., subprocess.CompletedProcess]
) -> None:
    result = healthy_elsewhere("up", "--config", str(engine.config), "--json")

    assert result.returncode == 4
    message = json.loads(result.stdout)["error"]["message"]
    assert "--force" not in message and "not answering" not in message
    assert str(engine.socket) in message  # where the engine of that state dir answers
    assert engine.cli("status").returncode == 0


def test_down_on_another_socket_leaves_the_healthy_engine_of_that_state_dir_alone(
    engine: EngineHandle, healthy_elsewhere: Callable[..., subprocess.CompletedProcess]
) -> None:
    result = healthy_elsewhere("down", "--force", "--timeout", "1", "--json")

    assert _alive(engine.pid) and engine.cli("status").returncode == 0
    report = json.loads(result.stdout)
    assert not any(s["step"] in ("sigterm", "sigkill") for s in report["steps"])
    assert str(engine.socket) in json.dumps(report["steps"])
