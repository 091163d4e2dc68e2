"""End to end in a real terminal: `arbctl tui` in a tmux pane at 80x24, keys sent as an
operator types them, the engine checked with `arbctl status`. Runs with NO_COLOR so
the banner must be readable as text alone."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EngineHandle, _alive, new_engine_dir, wait_until

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    """One private tmux server (its own -L socket name), killed at teardown."""

    def __init__(self) -> None:
        self.name = f"arbctl-tui-{uuid.uuid4().hex[:8]}"

    def run(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.name, *args], capture_output=True, text=True, timeout=10
        )
        return result.stdout

    def start(self, env: dict[str, str], *argv: str) -> None:
        assignments = [f"{k}={v}" for k, v in env.items()]
        command = "exec env " + shlex.join([*assignments, *argv])
        self.run("new-session", "-d", "-x", "80", "-y", "24", command)

    def screen(self) -> str:
        return self.run("capture-pane", "-p")

    def shows(self, text: str, timeout: float = 20.0) -> bool:
        return wait_until(lambda: text in self.screen(), timeout)

    def keys(self, *keys: str) -> None:
        self.run("send-keys", *keys)

    def type(self, text: str) -> None:
        self.run("send-keys", "-l", text)

    def pane_pid(self) -> int:
        return int(self.run("display-message", "-p", "#{pane_pid}").strip())

    def kill_server(self) -> None:
        self.run("kill-server")


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    server = Tmux()
    yield server
    server.kill_server()


def _console_env(socket: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "TERM": "tmux-256color",
        "NO_COLOR": "1",
        "ARBCTL_SOCKET": str(socket),
    }


def _state(engine: EngineHandle) -> str:
    return json.loads(engine.cli("status", "--json").stdout).get("state", "?")


def test_pause_then_kill_from_the_console_in_tmux(engine: EngineHandle, tmux: Tmux) -> None:
    tmux.start(_console_env(engine.socket), sys.executable, "-m", "arbctl", "tui")
    assert tmux.shows("RUNNING"), tmux.screen()

    tmux.keys("p")
    assert tmux.shows("Pause trading"), tmux.screen()
    tmux.type("paused from tmux")
    tmux.keys("Enter")
    assert wait_until(lambda: _state(engine) == "paused", 20), tmux.screen()
    assert tmux.shows("PAUSED"), tmux.screen()

    tmux.keys("K")
    assert tmux.shows("EMERGENCY KILL"), tmux.screen()
    tmux.type("KILL")
    tmux.keys("Enter")
    assert wait_until(lambda: _state(engine) == "halted", 20), tmux.screen()
    assert tmux.shows("HALTED — emergency kill from the operator console"), tmux.screen()


def test_console_exits_when_its_terminal_goes_away(tmux: Tmux) -> None:
    """SIGHUP (SSH dropped, pane killed) ends the console; it never spins on a dead tty."""
    nowhere = new_engine_dir() / "engine.sock"
    tmux.start(_console_env(nowhere), sys.executable, "-m", "arbctl", "tui")
    assert tmux.shows("NO ENGINE"), tmux.screen()
    pid = tmux.pane_pid()
    tmux.kill_server()
    assert wait_until(lambda: not _alive(pid), 10)
    shutil.rmtree(nowhere.parent, ignore_errors=True)
