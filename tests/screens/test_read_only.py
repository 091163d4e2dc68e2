"""`--read-only`: state-changing keys are hidden from the footer and refused out loud."""

from __future__ import annotations

import pytest

from screens.app import ArbConsole
from screens.dashboard import DashboardScreen
from tests.conftest import EngineHandle
from tests.screens.conftest import connected, engine_state, told, until


@pytest.mark.parametrize("key", ["p", "K", "f"])
async def test_read_only_refuses_state_changes(console_engine: EngineHandle, key: str) -> None:
    app = ArbConsole(console_engine.socket, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(app)
        await pilot.press(key, *"KILL", "enter")
        assert isinstance(app.screen, DashboardScreen)
        assert await until(lambda: told(app, "read-only console"))
    assert await engine_state(console_engine) == "running"


async def test_read_only_footer_hides_state_changes(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket, read_only=True)
    async with app.run_test(size=(80, 24)):
        await connected(app)
        keys = set(app.screen.active_bindings)
        assert {"t", "g", "l", "r", "q"} <= keys
        assert not {"p", "K", "f"} & keys
