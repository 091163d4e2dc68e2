"""The fleet screen's keys that need no engine, and where `arbctl tui --fleet` looks.

The fixed fleet of the snapshot tests (no polling, frozen clock) is enough to check what
the keys do on the fleet screen; where `--fleet` finds Redis is checked against a real
engine with and without a `[redis]` section.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from screens.dashboard import DashboardScreen
from screens.fleet.screen import FleetScreen
from screens.modals import HelpModal, KillModal
from tests.conftest import EngineHandle
from tests.fleet.conftest import (  # noqa: F401  (fixtures)
    SHARED_REDIS_URL,
    namespace,
    namespaces,
    redis_toml,
    shared_redis,
    wait_for_state,
)
from tests.screens.conftest import told, until
from tests.screens.test_fleet_snapshots import fleet_console

SIZE = (80, 24)


async def test_a_read_only_fleet_console_refuses_the_fleet_kill() -> None:
    app = fleet_console()
    app.read_only = True
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("K")
        assert isinstance(app.screen, FleetScreen)
        assert not isinstance(app.screen, KillModal)


async def test_the_dashboard_keys_do_nothing_on_the_fleet_screen() -> None:
    app = fleet_console()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p", "f", "t", "g", "l", "o", "a")
        assert isinstance(app.screen, FleetScreen)
        footer = {key for key, b in app.active_bindings.items() if b.binding.show and b.enabled}
        assert not footer & {"p", "f", "o", "a", "t", "g", "l"}, footer
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpModal)
        await pilot.press("escape")
        assert isinstance(app.screen, FleetScreen)


async def test_enter_on_an_engine_without_a_socket_here_says_how_to_reach_it() -> None:
    app = fleet_console()
    async with app.run_test(size=SIZE) as pilot:
        names = [row.name for row in app.fleet.rows]
        await until(lambda: app.screen.selected_key() is not None)  # type: ignore[attr-defined]
        await pilot.press("ctrl+home", *["down"] * names.index("base-usdc"), "enter")
        assert told(app, "base-usdc runs on box-b: no socket here")
        assert told(app, "--engine-socket")
        assert isinstance(app.screen, FleetScreen)
        assert not any(isinstance(s, DashboardScreen) for s in app.screen_stack)


def test_fleet_finds_redis_through_the_local_engine(
    engine_factory: Callable[..., EngineHandle],
    namespace: str,  # noqa: F811
) -> None:
    from arbctl.commands.tui import _fleet_sources

    engine = engine_factory(redis_toml(SHARED_REDIS_URL, namespace))
    wait_for_state(engine, "running")
    sources = _fleet_sources([], None, None, None, engine.socket)
    assert sources.redis is not None and sources.redis.namespace == namespace
    assert sources.sockets == () and sources.note == ""


def test_without_redis_the_fleet_is_the_local_engine_and_says_why(
    engine_factory: Callable[..., EngineHandle],
) -> None:
    from arbctl.commands.tui import _fleet_sources

    engine = engine_factory()
    sources = _fleet_sources([], None, None, None, engine.socket)
    assert sources.redis is None and sources.sockets == (engine.socket,)
    assert "no [redis] url" in sources.note


def test_given_sockets_are_the_fleet_when_no_redis_is_named(tmp_path: Path) -> None:
    from arbctl.commands.tui import _fleet_sources

    a, b = tmp_path / "a.sock", tmp_path / "b.sock"
    sources = _fleet_sources([a, b], None, None, None, None)
    assert sources.redis is None and sources.sockets == (a, b)
