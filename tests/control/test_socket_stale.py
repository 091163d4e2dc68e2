"""One engine per socket: a stale socket file is replaced, a live one is never taken over."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import EngineHandle
from tests.control.conftest import status_of, wait_for_state


def _leave_stale_socket(path: Path) -> None:
    """What a crashed engine leaves behind: a bound socket file nobody listens on."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()


def _engine_run(engine: EngineHandle, state_dir: Path) -> subprocess.CompletedProcess[str]:
    """`arbctl engine run` in the foreground on `engine`'s socket, with its own state."""
    engine.config.write_text(engine.config_text)
    argv = [sys.executable, "-m", "arbctl", "engine", "run", "--config", str(engine.config)]
    argv += ["--socket", str(engine.socket), "--state-dir", str(state_dir)]
    return subprocess.run(
        argv, env=engine.env(), capture_output=True, text=True, timeout=60, check=False
    )


def test_a_stale_socket_file_is_replaced_by_a_new_engine(
    engine_factory: Callable[..., EngineHandle],
) -> None:
    engine = engine_factory(start=False)
    _leave_stale_socket(engine.socket)
    pid = engine.start()
    assert wait_for_state(engine, "running")["pid"] == pid


def test_a_second_engine_on_a_live_socket_refuses_and_names_the_first(
    engine: EngineHandle,
) -> None:
    first = status_of(engine)
    inode = engine.socket.stat().st_ino
    second = _engine_run(engine, engine.dir / "second-state")
    assert second.returncode == 1
    assert f"an engine (pid {engine.pid}) already answers on {engine.socket}" in second.stderr
    assert engine.socket.stat().st_ino == inode
    assert status_of(engine)["pid"] == first["pid"]
    assert status_of(engine)["started_at"] == first["started_at"]


def test_arbctl_up_on_a_live_socket_refuses_and_leaves_the_engine_running(
    engine: EngineHandle,
) -> None:
    before = status_of(engine)
    again = engine.cli("up", "--config", str(engine.config))
    assert again.returncode == 4
    assert str(engine.pid) in again.stderr + again.stdout
    after = status_of(engine)
    assert (after["pid"], after["started_at"]) == (before["pid"], before["started_at"])


def test_a_file_that_is_not_a_socket_is_never_replaced(
    engine_factory: Callable[..., EngineHandle],
) -> None:
    engine = engine_factory(start=False)
    engine.socket.parent.mkdir(parents=True, exist_ok=True)
    engine.socket.write_text("precious")
    result = _engine_run(engine, engine.state_dir)
    assert result.returncode == 1 and "is not a socket" in result.stderr
    assert engine.socket.read_text() == "precious"
