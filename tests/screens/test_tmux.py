"""End to end in a real terminal: `arbctl tui` in a tmux pane at 80x24, keys sent as an
operator types them, the engine checked with `arbctl status`. Runs with NO_COLOR so
the banner must be readable as text alone."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
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
    assert tmux.shows("Enter again"), tmux.screen()
    tmux.keys("Enter")  # pausing takes a second Enter (issue 16, finding 4)
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


# --- issue 16's end to end: what the 3 a.m. operator sees, in a real terminal ----------------
E2E_TOML = "[engine]\nheartbeat_ms = 250\n"
BREAKER_TOML = E2E_TOML + (
    "[guards]\nconsecutive_failures_limit = 1\nbreaker_wait_s = 3600.0\n"
    "[alerts]\nevaluate_interval_s = 0.2\n"
)
TRADE_ROW = re.compile(r"^(\d\d:\d\d:\d\d) ([✓✗]) ")


def _trades_since(engine: EngineHandle, since: float) -> list[dict]:
    result = engine.cli("trades", "--since", f"{since:.3f}", "--limit", "200", "--json")
    try:
        return list(json.loads(result.stdout)["trades"])
    except (ValueError, KeyError):
        return []


def _trade_rows(screen: str) -> list[tuple[str, str]]:
    """(time, mark) of each trade row the dashboard shows, top to bottom."""
    rows = []
    for line in screen.splitlines():
        found = TRADE_ROW.match(line)
        if found:
            rows.append((found.group(1), found.group(2)))
    return rows


def test_the_3am_operator_end_to_end_in_tmux(
    engine_factory: Callable[..., EngineHandle], tmux: Tmux
) -> None:
    """30 trades with the newest on top at 80x24; failures marked under NO_COLOR; a
    SIGSTOPped engine NOT ANSWERING within 5 s; `KKILL⏎` in one burst halts."""
    engine = engine_factory(E2E_TOML)
    opened = time.time()
    tmux.start(_console_env(engine.socket), sys.executable, "-m", "arbctl", "tui")
    assert tmux.shows("RUNNING"), tmux.screen()

    assert wait_until(lambda: len(_trades_since(engine, opened)) >= 30, 60)
    newest = max(t.get("mined_at") or 0 for t in _trades_since(engine, opened))
    assert wait_until(lambda: len(_trade_rows(tmux.screen())) >= 5, 10), tmux.screen()
    screen = tmux.screen()
    rows = _trade_rows(screen)
    times = [when for when, _ in rows]
    assert times == sorted(times, reverse=True), screen
    # the newest the engine had booked before the capture is on top (a trade booked in
    # the last repaint interval may not be drawn yet: two seconds of slack)
    assert times[0] >= time.strftime("%H:%M:%S", time.gmtime(newest - 2)), (screen, newest)

    assert wait_until(lambda: "✗" in tmux.screen(), 60), tmux.screen()  # NO_COLOR: marked
    assert "revert" in tmux.screen() or "failed" in tmux.screen()

    os.kill(engine.pid, signal.SIGSTOP)
    try:
        stopped = time.monotonic()
        assert tmux.shows("NOT ANSWERING", timeout=5.0), tmux.screen()
        assert time.monotonic() - stopped <= 5.0
        assert "as of" in tmux.screen()
    finally:
        os.kill(engine.pid, signal.SIGCONT)
    assert tmux.shows(" RUNNING ", timeout=10), tmux.screen()

    tmux.type("KKILL\r")  # one write: a paste, or keys coalesced by SSH
    assert wait_until(lambda: _state(engine) == "halted", 20), tmux.screen()
    assert tmux.shows("HALTED"), tmux.screen()


def test_an_open_breaker_is_a_banner_in_tmux(
    engine_factory: Callable[..., EngineHandle], tmux: Tmux
) -> None:
    engine = engine_factory(BREAKER_TOML)
    tmux.start(_console_env(engine.socket), sys.executable, "-m", "arbctl", "tui")
    assert tmux.shows("RUNNING"), tmux.screen()
    assert tmux.shows("BREAKER OPEN", timeout=60), tmux.screen()
    assert tmux.shows("breaker_open", timeout=10), tmux.screen()  # the alert, in the header
