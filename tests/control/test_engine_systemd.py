"""The engine under systemd: READY/STATUS/WATCHDOG over NOTIFY_SOCKET, and snapshots.

Runs the real `arbctl engine run` in the foreground, as the unit file does, with a
datagram socket standing in for systemd's notify socket.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

WATCHDOG_USEC = 400_000  # the engine pings every 0.2 s


class Systemd:
    """Collects what the engine sends to NOTIFY_SOCKET."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, str]] = []

    def collect(self, seconds: float) -> list[str]:
        got: list[str] = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(4096).decode()
            except TimeoutError:
                continue
            self.messages.append((time.monotonic(), data))
            got.append(data)
        return got

    def wait_for(self, needle: str, seconds: float = 20) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for message in self.collect(0.2):
                if needle in message:
                    return message
        pytest.fail(f"engine never sent {needle!r}; got {[m for _, m in self.messages][-5:]}")


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="arbsd"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def start_engine(workdir: Path, notify: bool = True) -> subprocess.Popen[bytes]:
    config = workdir / "engine.toml"
    config.write_text("[sim]\nblock_ms = 100\nv3_pools = false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARBCTL_", "NOTIFY", "WATCH"))}
    if notify:
        env.update(NOTIFY_SOCKET=str(workdir / "notify"), WATCHDOG_USEC=str(WATCHDOG_USEC))
    cmd = [sys.executable, "-m", "arbctl", "engine", "run", "--config", str(config)]
    cmd += ["--socket", str(workdir / "s.sock"), "--state-dir", str(workdir / "state")]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGCONT)
    process.terminate()
    return process.wait(timeout=15)


def test_engine_reports_ready_with_its_state_and_pid(workdir: Path) -> None:
    systemd = Systemd(workdir / "notify")
    engine = start_engine(workdir)
    try:
        ready = systemd.wait_for("READY=1")
        assert "STATUS=running" in ready and f"MAINPID={engine.pid}" in ready
    finally:
        stop(engine)


def test_watchdog_pings_come_while_the_loop_runs(workdir: Path) -> None:
    systemd = Systemd(workdir / "notify")
    engine = start_engine(workdir)
    try:
        systemd.wait_for("READY=1")
        pings = [m for m in systemd.collect(1.5) if m == "WATCHDOG=1"]
        assert len(pings) >= 3
    finally:
        stop(engine)


def test_a_stalled_loop_stops_the_watchdog_pings(workdir: Path) -> None:
    systemd = Systemd(workdir / "notify")
    engine = start_engine(workdir)
    try:
        systemd.wait_for("WATCHDOG=1")
        engine.send_signal(signal.SIGSTOP)  # the loop makes no progress at all
        systemd.collect(0.3)  # let datagrams already in flight arrive
        assert systemd.collect(1.5) == []
        engine.send_signal(signal.SIGCONT)
        systemd.wait_for("WATCHDOG=1")
    finally:
        stop(engine)


def test_state_changes_are_mirrored_into_status(workdir: Path) -> None:
    systemd = Systemd(workdir / "notify")
    engine = start_engine(workdir)
    try:
        systemd.wait_for("READY=1")
        env = {**os.environ, "ARBCTL_SOCKET": str(workdir / "s.sock")}
        subprocess.run(
            [sys.executable, "-m", "arbctl", "pause", "--reason", "maintenance window"],
            env=env,
            check=True,
            capture_output=True,
            timeout=30,
        )
        assert "paused: maintenance window" in systemd.wait_for("STATUS=paused")
    finally:
        stop(engine)


def test_graceful_stop_says_stopping_and_exits_zero(workdir: Path) -> None:
    systemd = Systemd(workdir / "notify")
    engine = start_engine(workdir)
    systemd.wait_for("READY=1")
    engine.terminate()
    systemd.wait_for("STOPPING=1")
    assert engine.wait(timeout=15) == 0


def test_a_restarted_engine_restores_the_shutdown_snapshot(workdir: Path) -> None:
    first = start_engine(workdir, notify=False)
    log = workdir / "state" / "logs" / "engine.log"
    _wait_for_log(log, "engine running")
    assert stop(first) == 0
    second = start_engine(workdir, notify=False)
    try:
        restored = _wait_for_log(log, "SNAPSHOT RESTORED")
        assert "shutdown" in restored["msg"] and "stopped" in restored["msg"]
    finally:
        stop(second)


def test_log_lines_in_the_state_directory_are_json(workdir: Path) -> None:
    engine = start_engine(workdir, notify=False)
    try:
        line = _wait_for_log(workdir / "state" / "logs" / "engine.log", "engine running")
        assert {"ts", "time", "level", "logger", "msg"} <= set(line)
    finally:
        stop(engine)


def _wait_for_log(path: Path, needle: str, seconds: float = 20) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists():
            for raw in path.read_text().splitlines():
                entry = json.loads(raw)
                if needle in entry["msg"]:
                    return entry
        time.sleep(0.1)
    pytest.fail(f"{needle!r} never appeared in {path}")
