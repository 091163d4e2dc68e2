"""The first dashboard: drawn with the engine's data as soon as the first snapshot is in.

The console used to connect only once its first frame was up, and to show the snapshot at
the next repaint tick (up to 1/RENDER_HZ later). Here the repaint timer is slowed to once
an hour, so whatever the dashboard shows came from the start-up path itself.
"""

from __future__ import annotations

import asyncio

import pytest

from engine import protocol
from screens import app as console_app
from screens.app import ArbConsole
from tests.conftest import EngineHandle
from tests.screens.conftest import connected, until

SIZE = (80, 24)


async def test_the_first_snapshot_is_on_the_dashboard_without_a_repaint_tick(
    console_engine: EngineHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console_app, "RENDER_HZ", 1 / 3600)
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE):
        await connected(app)
        header = app.screen.query_one("#header")
        assert await until(lambda: "RUNNING" in str(header.render()))


async def test_a_snapshot_read_is_painted_when_it_is_in(
    console_engine: EngineHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resync (start-up, reconnect, `r`) shows what it read at once, not at the next
    tick: with the tick an hour away, the engine's new state is on the glass."""
    monkeypatch.setattr(console_app, "RENDER_HZ", 1 / 3600)
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE):
        await connected(app)
        header = app.screen.query_one("#header")
        paused = await asyncio.to_thread(console_engine.cli, "pause", "--reason", "drill")
        assert paused.returncode == 0, paused.stdout + paused.stderr
        assert await until(lambda: app.model.state == protocol.PAUSED)
        assert "PAUSED" not in str(header.render())  # the model has it; the glass not yet
        assert "status" in await app.resync("requested")
        assert "PAUSED" in str(header.render())


async def test_an_engine_that_is_not_there_does_not_hold_up_the_first_frame(
    tmp_path: object,
) -> None:
    """Refused at once: the console shows that, rather than waiting for a snapshot."""
    app = ArbConsole(f"{tmp_path}/no-engine.sock")
    async with app.run_test(size=SIZE):
        banner = app.screen.query_one("#banner")
        assert await until(lambda: "NO ENGINE" in str(banner.render()))
        assert app._first_answer.is_set()
