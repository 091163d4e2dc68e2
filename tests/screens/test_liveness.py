"""Findings 2 and 6: a frozen or unreachable engine never looks healthy.

A SIGSTOPped engine keeps its socket open, so the console stays "connected" while
nothing arrives; it used to show a green RUNNING, a counting uptime and healthy
providers. Now silence is a state: no heartbeat for ~3 s is NOT ANSWERING, the panels
are dimmed and say how old they are, and nothing stale claims to be fine.
"""

from __future__ import annotations

import asyncio
import os
import signal

from screens.app import ArbConsole
from screens.state import STALE_AFTER_S
from tests.conftest import EngineHandle
from tests.screens.conftest import connected, told, until
from tests.screens.recorded import FrozenClock, load_session, recorded_console, recorded_model
from tests.screens.screen_text import screen_text

SIZE = (80, 24)


def _uptime(text: str) -> str:
    return text.split(" up ", 1)[1].split(" ", 1)[0]


async def test_silence_turns_into_not_answering_with_stale_panels_and_a_frozen_uptime() -> None:
    session = load_session()
    clock = FrozenClock(float(session["clock"]))
    app = recorded_console(recorded_model(session, clock))
    async with app.run_test(size=SIZE) as pilot:
        app.paint()
        await pilot.pause()
        fresh = screen_text(app)
        assert "RUNNING" in fresh and "NOT ANSWERING" not in fresh
        clock.advance(STALE_AFTER_S + 1.2)
        app.paint()
        await pilot.pause()
        first = screen_text(app)
        assert "NOT ANSWERING (4s)" in first, first
        assert "RUNNING" not in first.splitlines()[0]
        assert "as of 14:26:00Z" in first, first
        assert "CLOSED" not in first and "healthy" not in first, first
        assert app.screen.query_one("#panels").has_class("-stale")
        clock.advance(30)
        app.paint()
        await pilot.pause()
        later = screen_text(app)
        assert "NOT ANSWERING (34s)" in later
        assert _uptime(later) == _uptime(first), "uptime must not count while silent"


async def test_while_disconnected_stale_panels_claim_nothing() -> None:
    session = load_session()
    clock = FrozenClock(float(session["clock"]))
    model = recorded_model(session, clock)
    app = recorded_console(model)
    async with app.run_test(size=SIZE) as pilot:
        model.link_down("connection refused", 1, 0.2)
        clock.advance(1)
        app.paint()
        await pilot.pause()
        first = screen_text(app)
        clock.advance(20)
        app.paint()
        await pilot.pause()
        later = screen_text(app)
        assert "ENGINE DOWN" in later
        assert "CLOSED" not in later and "healthy" not in later, later
        assert "as of" in later
        assert _uptime(later) == _uptime(first)


async def test_a_sigstopped_engine_is_not_answering_and_r_does_not_claim_a_resync(
    console_engine: EngineHandle,
) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        os.kill(console_engine.pid, signal.SIGSTOP)
        try:
            header = app.screen.query_one("#header")
            assert await until(lambda: "NOT ANSWERING" in str(header.render()), timeout=5.0)
            await pilot.press("r")
            assert await until(lambda: told(app, "resync failed"), timeout=15.0)
            assert not told(app, "resynced")
        finally:
            os.kill(console_engine.pid, signal.SIGCONT)
        assert await until(lambda: "RUNNING" in str(app.screen.query_one("#header").render()))
        await asyncio.sleep(0)
