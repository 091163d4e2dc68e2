"""Console test helpers: a real engine on the simulated market, polled with deadlines.

Pilot tests run the console in-process (`app.run_test`) against an engine started by
the shared `engine` / `engine_factory` fixtures, and check the engine's side through the
CLI, the way an operator would. Nothing is timed: every wait polls until a deadline.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from screens.app import ArbConsole
from tests.conftest import EngineHandle

# Fast heartbeats so the resources panel and reconnection have something to show quickly;
# debug methods for floods.
CONSOLE_TOML = "[engine]\nheartbeat_ms = 250\ndebug_methods = true\n"
DEADLINE_S = 20.0


@pytest.fixture
def console_engine(engine_factory: Callable[..., EngineHandle]) -> EngineHandle:
    """A running engine for console tests: 50 ms blocks, 250 ms heartbeats."""
    return engine_factory(CONSOLE_TOML)


async def until(predicate: Callable[[], Any], timeout: float = DEADLINE_S) -> bool:
    """Poll `predicate` on the running loop (so the app keeps working) until true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return bool(predicate())


def engine_status(engine: EngineHandle) -> dict[str, Any]:
    """`arbctl status --json` for this engine ({} when it does not answer)."""
    result = engine.cli("status", "--json", timeout=10)
    try:
        return json.loads(result.stdout)
    except ValueError:
        return {}


async def engine_state(engine: EngineHandle) -> str:
    """The engine's state as the CLI reports it, without blocking the console's loop."""
    status = await asyncio.to_thread(engine_status, engine)
    return str(status.get("state", "unreachable"))


async def state_becomes(engine: EngineHandle, wanted: str, timeout: float = DEADLINE_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await engine_state(engine) == wanted:
            return True
        await asyncio.sleep(0.1)
    return False


async def connected(app: ArbConsole) -> None:
    """Wait until the console has subscribed and read the engine's status."""
    ok = await until(lambda: app.model.link.connected and app.model.engine.get("pid"))
    assert ok, f"console never connected: {app.model.link}"


def told(app: ArbConsole, fragment: str) -> bool:
    """Whether the console notified something containing `fragment`."""
    return any(fragment in message for message in app.told)
