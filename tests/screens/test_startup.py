"""The first dashboard: drawn with the engine's data as soon as the first snapshot is in.

The console used to connect only once its first frame was up, and to show the snapshot at
the next repaint tick (up to 1/RENDER_HZ later). Here the repaint timer is slowed to once
an hour, so whatever the dashboard shows came from the start-up path itself. The very
first frame drawn is the complete dashboard: the engine's data and the footer's keys,
not an empty dashboard completed two or three frames later.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest
from rich.console import RenderableType
from textual.screen import Screen

from engine import protocol
from screens import app as console_app
from screens.app import ArbConsole
from tests.conftest import EngineHandle
from tests.screens.conftest import connected, until
from tests.screens.screen_text import screen_text

SIZE = (80, 24)


@pytest.fixture
def collector_off() -> Iterator[None]:
    """As `arbctl tui` starts the console: the cyclic collector off (arbctl/cli.py)."""
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.enable()


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


def keep_the_first_frame(app: ArbConsole) -> list[str]:
    """The text of every frame the app draws, from the first (what the terminal gets)."""
    frames: list[str] = []
    draw = app._display

    def display(screen: Screen[object], renderable: RenderableType | None) -> None:
        if renderable is not None and not app._batch_count:
            frames.append(screen_text(app))
        draw(screen, renderable)

    app._display = display  # type: ignore[method-assign]
    return frames


async def test_the_first_frame_drawn_is_the_complete_dashboard(
    console_engine: EngineHandle,
) -> None:
    """The engine's state and providers, and the keys in the footer, are all in frame one."""
    app = ArbConsole(console_engine.socket)
    frames = keep_the_first_frame(app)
    async with app.run_test(size=SIZE):
        assert await until(lambda: bool(frames))
        first = frames[0]
        assert "RUNNING" in first
        assert "alpha-rpc" in first
        assert "q Quit" in first and "K KILL" in first


async def test_a_read_only_console_s_first_frame_offers_no_state_changing_key(
    console_engine: EngineHandle,
) -> None:
    """The footer composed up front still asks the app which keys a read-only console has."""
    app = ArbConsole(console_engine.socket, read_only=True)
    frames = keep_the_first_frame(app)
    async with app.run_test(size=SIZE):
        assert await until(lambda: bool(frames))
        first = frames[0]
        assert "q Quit" in first
        assert "KILL" not in first and "Pause" not in first


async def test_a_console_started_with_the_collector_off_turns_it_on_after_its_first_frame(
    console_engine: EngineHandle, collector_off: None
) -> None:
    """What start-up left alive (modules, the dashboard's widgets and styles) lives as long
    as the console: it is set aside (`gc.freeze`) so later collections skip it."""
    app = ArbConsole(console_engine.socket)
    frames = keep_the_first_frame(app)
    async with app.run_test(size=SIZE):
        assert await until(gc.isenabled)
        assert frames
        assert gc.get_freeze_count() > 0


async def test_a_console_started_with_the_collector_on_leaves_it_alone(
    console_engine: EngineHandle,
) -> None:
    """A console embedded in a process that collects (tests, the fleet console's host)
    neither freezes that process's objects nor runs a collection of its own."""
    frozen = gc.get_freeze_count()
    app = ArbConsole(console_engine.socket)
    frames = keep_the_first_frame(app)
    async with app.run_test(size=SIZE):
        assert await until(lambda: bool(frames))
        await connected(app)
        assert gc.isenabled() and gc.get_freeze_count() == frozen
