"""Finding 4: keys typed by accident do not act, and keys typed in a burst are not lost.

`/profit⏎` typed on the dashboard (meant for the trades filter) used to pause the engine:
`p` opened the pause dialog and Enter accepted the default reason. Now `/` on the
dashboard opens the trades filter, and pausing needs a second Enter on the dialog's
button. `KKILL⏎` arriving in one burst (a paste, SSH coalescing keys) used to be
cancelled every time: Enter landed on Cancel before the field was focused. The kill
dialog now takes the keys that arrive before it is mounted.
"""

from __future__ import annotations

import asyncio

from textual import events

from screens.app import ArbConsole
from screens.modals import KillModal, ReasonModal
from screens.trades import TradesScreen
from tests.conftest import EngineHandle
from tests.screens.conftest import connected, engine_state, state_becomes, told, until

SIZE = (80, 24)


def burst(app: ArbConsole, keys: str) -> None:
    """Every key handed to the app at once, as a paste or a coalesced SSH packet is."""
    driver = app._driver
    assert driver is not None
    for char in keys:
        key = "enter" if char == "\r" else "slash" if char == "/" else char
        event = events.Key(key, char)
        event.set_sender(app)
        driver.send_message(event)


async def test_slash_profit_enter_on_the_dashboard_filters_trades_and_does_not_pause(
    console_engine: EngineHandle,
) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        await pilot.press(*"/profit", "enter")
        await asyncio.sleep(1.0)
        assert isinstance(app.screen, TradesScreen)
        assert app.screen.query_one("#filter").value == "profit"
    assert await engine_state(console_engine) == "running"


async def test_profit_enter_typed_on_the_dashboard_does_not_pause(
    console_engine: EngineHandle,
) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        burst(app, "profit\r")
        await pilot.pause(0.5)
        await asyncio.sleep(1.0)
        assert isinstance(app.screen, ReasonModal)  # still asking
    assert await engine_state(console_engine) == "running"


async def test_pausing_takes_a_second_enter(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        await pilot.press("p", "enter")
        assert isinstance(app.screen, ReasonModal)
        await pilot.press("enter")
        assert await state_becomes(console_engine, "paused")


async def test_kill_typed_in_one_burst_halts(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        burst(app, "KKILL\r")
        await pilot.pause(0.2)
        assert await state_becomes(console_engine, "halted", timeout=10)
        assert await until(lambda: not isinstance(app.screen, KillModal))


async def test_a_burst_enter_without_kill_still_cancels(console_engine: EngineHandle) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE):
        await connected(app)
        burst(app, "K\r")
        assert await until(lambda: told(app, "kill cancelled"))
        assert not isinstance(app.screen, KillModal)
    assert await engine_state(console_engine) == "running"
