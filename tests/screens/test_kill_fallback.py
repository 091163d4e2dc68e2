"""The console's kill when the engine cannot answer: the same offline kill as the CLI,
run in-process (arbctl/offline_kill.py), never a spawned `arbctl kill`."""

from __future__ import annotations

import os
import signal

from engine import protocol
from screens.app import ArbConsole
from tests.conftest import EngineHandle, _alive, wait_until
from tests.screens.conftest import connected, told, until

SIZE = (80, 24)


async def test_a_frozen_engine_is_halted_and_stopped_by_the_consoles_own_fallback(
    console_engine: EngineHandle,
) -> None:
    app = ArbConsole(console_engine.socket)
    async with app.run_test(size=SIZE) as pilot:
        await connected(app)
        os.kill(console_engine.pid, signal.SIGSTOP)
        await pilot.press("K")
        await pilot.press(*"KILL", "enter")
        assert await until(lambda: told(app, "HALT persisted"))
        assert told(app, f"engine pid {console_engine.pid} signalled")

    # The fallback wrote the marker; the engine, once SIGCONT lets it run to its SIGTERM,
    # may still read the kill request queued in its socket and write its own: either way
    # the halt is on disk when it stops.
    marker = protocol.read_halt_marker(console_engine.state_dir)
    assert marker is not None and marker["source"] in ("arbctl-tui-fallback", "arbctl-tui")
    assert wait_until(lambda: not _alive(console_engine.pid))
