"""Shared fixtures: a real engine process on its own socket and state directory.

Tests drive it the way operators do, through `arbctl` subprocesses, so the fixture is
started with `arbctl up` and stopped with `arbctl down`. Paths live under a short
/tmp directory because AF_UNIX socket paths are limited to 108 bytes.

    def test_something(engine):
        result = engine.cli("status", "--json")      # ARBCTL_SOCKET/STATE_DIR preset
        assert json.loads(result.stdout)["state"] == "running"

`engine_factory(extra_toml)` starts one with extra config (e.g. providers); every engine
it made is stopped (SIGKILL if it must) and its directory removed at teardown.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BASE_CONFIG = "[sim]\nblock_ms = 50\nv3_pools = false\n"
CLI_TIMEOUT_S = 60


@dataclass
class EngineHandle:
    """One engine under test: its paths, its pid, and a CLI bound to its socket."""

    dir: Path
    config_text: str = BASE_CONFIG
    pid: int = 0
    started: list[int] = field(default_factory=list)

    @property
    def socket(self) -> Path:
        return self.dir / "engine.sock"

    @property
    def state_dir(self) -> Path:
        return self.dir / "state"

    @property
    def config(self) -> Path:
        return self.dir / "engine.toml"

    @property
    def log(self) -> Path:
        return self.state_dir / "logs" / "engine.log"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARBCTL_")}
        env.update(ARBCTL_SOCKET=str(self.socket), ARBCTL_STATE_DIR=str(self.state_dir))
        env["XDG_RUNTIME_DIR"] = str(self.dir / "run")  # never touch the real default
        env["XDG_STATE_HOME"] = str(self.dir / "xdg-state")
        env["COLUMNS"] = "80"  # operators run the CLI in tmux at 80x24: tests read it so
        return env

    def cli(self, *args: str, timeout: float = CLI_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        """Run `arbctl ARGS` against this engine (socket and state dir via the env)."""
        return subprocess.run(
            [sys.executable, "-m", "arbctl", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self) -> int:
        """`arbctl up`; returns the pid. Fails the test with the logs if it cannot start."""
        self.config.write_text(self.config_text)
        result = self.cli("up", "--config", str(self.config), "--json")
        if result.returncode != 0:
            pytest.fail(f"arbctl up failed ({result.returncode}):\n{result.stdout}{result.stderr}")
        self.pid = int(json.loads(result.stdout)["pid"])
        self.started.append(self.pid)
        return self.pid

    def stop(self) -> None:
        """`arbctl down --force`: graceful first, SIGKILL after 10 s."""
        self.cli("down", "--force", "--timeout", "10")

    def cleanup(self) -> None:
        """Whatever a test did (SIGSTOP included), leave no process and no files behind."""
        if any(_alive(pid) for pid in self.started):
            for pid in self.started:
                _signal(pid, signal.SIGCONT)
            self.stop()
        for pid in self.started:
            _signal(pid, signal.SIGCONT)
            _signal(pid, signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return True
    return state != "Z"


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
    """Poll for a condition instead of sleeping a guessed amount (no timing asserts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def new_engine_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="arb", dir="/tmp"))


@pytest.fixture
def engine_factory() -> Iterator[Callable[..., EngineHandle]]:
    """Start engines with extra TOML appended to the base config ([sim] block_ms = 50)."""
    handles: list[EngineHandle] = []

    def make(extra_toml: str = "", start: bool = True) -> EngineHandle:
        handle = EngineHandle(dir=new_engine_dir(), config_text=BASE_CONFIG + extra_toml)
        handles.append(handle)
        if start:
            handle.start()
        return handle

    yield make
    for handle in handles:
        handle.cleanup()


@pytest.fixture
def engine(engine_factory: Callable[..., EngineHandle]) -> EngineHandle:
    """A running engine on its own socket and state dir; stopped after the test."""
    return engine_factory()


@pytest.fixture
def no_engine() -> Iterator[EngineHandle]:
    """Paths where no engine runs: for 'unreachable' behaviour."""
    handle = EngineHandle(dir=new_engine_dir())
    yield handle
    handle.cleanup()
