"""The console keeps working when the engine goes away, restarts, or floods it."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable

from screens.app import ArbConsole
from screens.modals import ReasonModal
from screens.widgets.banner import banner_text
from tests.conftest import EngineHandle
from tests.screens.conftest import (
    CONSOLE_TOML,
    connected,
    engine_status,
    state_becomes,
    told,
    until,
)

SIZE = (80, 24)


async def test_engine_killed_and_restarted_banner_then_resume(
    console_engine: EngineHandle,
) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE):
        await connected(app)
        os.kill(console_engine.pid, signal.SIGKILL)
        assert await until(lambda: not app.model.link.connected)
        assert await until(lambda: "ENGINE DOWN" in str(app.screen.query_one("#banner").render()))

        new_pid = await asyncio.to_thread(console_engine.start)
        restarted = await asyncio.to_thread(engine_status, console_engine)
        assert await until(lambda: app.model.engine.get("pid") == new_pid)
        assert await until(lambda: (app.model.last_seq or 0) > restarted["last_seq"])
        assert banner_text(app.model) is None


async def test_console_started_before_the_engine_connects_when_it_comes(
    engine_factory: Callable[..., EngineHandle],
) -> None:
    engine = engine_factory(CONSOLE_TOML, start=False)
    app = ArbConsole(engine.socket)
    async with app.run_test(size=SIZE):
        banner = app.screen.query_one("#banner")
        assert await until(lambda: "NO ENGINE" in str(banner.render()))
        await asyncio.to_thread(engine.start)
        await connected(app)


async def test_lagging_behind_a_flood_resyncs_and_resumes(
    engine_factory: Callable[..., EngineHandle],
) -> None:
    engine = engine_factory(CONSOLE_TOML + "client_queue = 64\n")
    app = ArbConsole(engine.socket)
    async with app.run_test(size=SIZE):
        await connected(app)
        flood = await app.link.call("debug.flood", {"count": 20_000, "chunk": 2_000}, timeout=60)
        assert await until(lambda: told(app, "resynced (lagged"))
        assert await until(lambda: (app.model.last_seq or 0) >= flood["last_seq"])
        assert app.model.link.connected


async def test_keys_answer_during_a_flood(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        params = {"count": 100_000, "chunk": 500}
        flood = asyncio.create_task(app.link.call("debug.flood", params, timeout=120))
        assert await until(lambda: app.model.events_seen > 5_000)
        await pilot.press("p")
        assert isinstance(app.screen, ReasonModal)
        await pilot.press("enter", "enter")  # pausing takes a second Enter (issue 16)
        assert await state_becomes(console_engine, "paused"), list(app.told)
        await flood
