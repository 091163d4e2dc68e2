"""`arbctl tui --fleet` against three real engines on the simulated market.

The three run on different chains (sim seeds 7, 11, 23) with different quote tokens
(USDC, DAI, USDT), share a private namespace on the real Redis, and are found either
through Redis presence or through a list of sockets. The engines' side is checked the
way an operator would: `arbctl status`, the audit trail, the flag in Redis.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from textual.widgets import DataTable

from arbctl.commands.fleet import RedisTarget
from engine import protocol
from screens.dashboard import DashboardScreen
from screens.fleet.app import FleetConsole, FleetSources
from screens.fleet.screen import FleetScreen
from screens.modals import KillModal
from tests.conftest import EngineHandle, new_engine_dir
from tests.fleet.conftest import (  # noqa: F401  (fixtures)
    SHARED_REDIS_URL,
    free_port,
    namespace,
    namespaces,
    redis_toml,
    shared_redis,
    wait_for_state,
)
from tests.screens.conftest import state_becomes, told, until
from tests.screens.forward import Forward

SIZE = (100, 30)
# name, sim seed (its chain is sim-<seed>), quote token
FLEET = [("eth-usdc", 7, "USDC"), ("arb-dai", 11, "DAI"), ("bsc-usdt", 23, "USDT")]


def engine_toml(name: str, seed: int, quote: str, redis_section: str = "") -> str:
    """Appended to the base config, whose last table is [sim]: the seed goes there."""
    toml = f'seed = {seed}\n[market]\nquote = "{quote}"\n[engine]\nheartbeat_ms = 250\n'
    toml += f'[strategy]\nbase_tokens = ["WETH", "{quote}"]\n'
    return toml + redis_section.replace("[redis]\n", f'[redis]\nengine_name = "{name}"\n')


@pytest.fixture
def three_engines(
    engine_factory: Callable[..., EngineHandle],
    namespace: str,  # noqa: F811
) -> list[EngineHandle]:
    engines = [
        engine_factory(engine_toml(name, seed, quote, redis_toml(SHARED_REDIS_URL, namespace)))
        for name, seed, quote in FLEET
    ]
    for engine in engines:
        wait_for_state(engine, "running")
    return engines


def redis_fleet(namespace: str) -> FleetSources:  # noqa: F811
    return FleetSources(redis=RedisTarget(SHARED_REDIS_URL, namespace, "test"))


def _rows_ready(app: FleetConsole, count: int) -> bool:
    rows = app.fleet.rows
    return len(rows) == count and all(r.pnl_today is not None for r in rows)


def _resume(pid: int) -> None:
    """SIGCONT a frozen engine, unless the kill fallback already ended it."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)


def _audit(engine: EngineHandle) -> list[dict]:
    return json.loads(engine.cli("audit", "--json").stdout)["entries"]


async def test_the_fleet_lists_three_engines_on_different_chains_and_quote_tokens(
    three_engines: list[EngineHandle],
    namespace: str,  # noqa: F811
) -> None:
    # Redis, and one engine's socket given as well: still one row per engine.
    sources = FleetSources(
        redis=RedisTarget(SHARED_REDIS_URL, namespace, "test"), sockets=(three_engines[1].socket,)
    )
    app = FleetConsole(sources)
    async with app.run_test(size=SIZE):
        assert await until(lambda: _rows_ready(app, 3)), app.fleet.rows
        rows = {row.name: row for row in app.fleet.rows}
        assert set(rows) == {name for name, _, _ in FLEET}
        for (name, seed, quote), engine in zip(FLEET, three_engines, strict=True):
            row = rows[name]
            assert (row.chain, row.quote_symbol, row.state) == (f"sim-{seed}", quote, "running")
            assert row.pid == engine.pid and row.dial == engine.socket
            assert row.heartbeat_ts is not None and row.answering
        assert isinstance(app.screen, FleetScreen)
        assert await until(lambda: app.screen.query_one("#fleet-table", DataTable).row_count == 3)


async def test_enter_drills_into_one_engines_dashboard_and_escape_comes_back(
    three_engines: list[EngineHandle],
    namespace: str,  # noqa: F811
) -> None:
    app = FleetConsole(redis_fleet(namespace))
    async with app.run_test(size=SIZE) as pilot:
        assert await until(lambda: _rows_ready(app, 3))
        names = [row.name for row in app.fleet.rows]  # sorted by name
        for target in ("bsc-usdt", "arb-dai"):
            engine = three_engines[[n for n, _, _ in FLEET].index(target)]
            await pilot.press("ctrl+home", *["down"] * names.index(target), "enter")
            assert await until(lambda: isinstance(app.screen, DashboardScreen))
            assert await until(lambda e=engine: app.model.engine.get("pid") == e.pid)
            assert app.socket_path == engine.socket
            await pilot.press("escape")
            assert await until(lambda: isinstance(app.screen, FleetScreen))
            assert await until(lambda: not app.model.link.connected)


async def test_the_dashboard_keys_act_on_the_engine_drilled_into(
    three_engines: list[EngineHandle],
    namespace: str,  # noqa: F811
) -> None:
    a, b, c = three_engines
    app = FleetConsole(redis_fleet(namespace))
    async with app.run_test(size=SIZE) as pilot:
        assert await until(lambda: _rows_ready(app, 3))
        names = [row.name for row in app.fleet.rows]
        await pilot.press("ctrl+home", *["down"] * names.index("arb-dai"), "enter")
        assert await until(lambda: app.model.engine.get("pid") == b.pid)
        await pilot.press("p", "enter", "enter")  # pausing asks a second Enter
        assert await state_becomes(b, "paused")
    assert json.loads(a.cli("status", "--json").stdout)["state"] == "running"
    assert json.loads(c.cli("status", "--json").stdout)["state"] == "running"


async def test_fleet_kill_halts_every_engine_and_sets_the_shared_flag(
    three_engines: list[EngineHandle],
    namespace: str,  # noqa: F811
    shared_redis: redis.Redis,  # noqa: F811
) -> None:
    app = FleetConsole(redis_fleet(namespace))
    async with app.run_test(size=SIZE) as pilot:
        assert await until(lambda: _rows_ready(app, 3))
        await pilot.press("K")
        assert isinstance(app.screen, KillModal)
        await pilot.press(*"KILL", "enter")
        for engine in three_engines:
            assert await state_becomes(engine, "halted")
        assert await until(lambda: told(app, "FLEET KILL: 3 of 3 engines halted"))
        assert await until(lambda: all(r.state == "halted" for r in app.fleet.rows))
    flag = json.loads(shared_redis.get(f"{namespace}:halt") or "{}")
    assert flag.get("source") == "arbctl-tui"
    for engine in three_engines:
        kills = [e for e in _audit(engine) if e["action"] == "kill"]
        assert kills and kills[0]["client"] == "arbctl-tui"


async def test_escape_on_the_fleet_kill_dialog_sends_nothing(
    three_engines: list[EngineHandle],
    namespace: str,  # noqa: F811
    shared_redis: redis.Redis,  # noqa: F811
) -> None:
    app = FleetConsole(redis_fleet(namespace))
    async with app.run_test(size=SIZE) as pilot:
        assert await until(lambda: _rows_ready(app, 3))
        await pilot.press("K", "enter")  # focus starts on Cancel: a stray Enter cancels
        assert isinstance(app.screen, FleetScreen)
        await pilot.press("K", *"kill", "enter", "escape")
        assert isinstance(app.screen, FleetScreen)
        assert told(app, "fleet kill cancelled: nothing was sent")
    assert shared_redis.get(f"{namespace}:halt") is None
    for engine in three_engines:
        assert json.loads(engine.cli("status", "--json").stdout)["state"] == "running"


async def test_a_fleet_of_sockets_kills_what_it_can_and_names_what_it_could_not(
    engine_factory: Callable[..., EngineHandle],
) -> None:
    """No Redis: a list of sockets. One engine answers, one is frozen (the console's
    own offline kill halts it, as for one engine), one socket has no engine at all."""
    running = engine_factory(engine_toml("a", 7, "USDC"))
    frozen = engine_factory(engine_toml("b", 11, "DAI"))
    nowhere = new_engine_dir() / "engine.sock"
    sources = FleetSources(sockets=(running.socket, frozen.socket, nowhere))
    app = FleetConsole(sources)
    try:
        async with app.run_test(size=SIZE) as pilot:
            assert await until(lambda: sum(r.pnl_today is not None for r in app.fleet.rows) == 2)
            os.kill(frozen.pid, signal.SIGSTOP)
            await pilot.press("K", *"KILL", "enter")
            assert await until(lambda: told(app, "FLEET KILL INCOMPLETE"), 30)
            assert told(app, f"{nowhere}: NOT halted")
            assert told(app, "HALT persisted by the kill fallback")
            assert await state_becomes(running, "halted")
    finally:
        _resume(frozen.pid)
        Path(nowhere).parent.rmdir()
    report = app.fleet.last_kill
    assert report is not None
    assert {str(r.label): r.halted for r in report.results} == {
        str(running.socket): True,
        str(frozen.socket): True,
        str(nowhere): False,
    }


def test_tui_fleet_with_a_config_that_cannot_be_read_says_so(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from arbctl.cli import app as cli

    missing = tmp_path / "nowhere.toml"
    result = CliRunner().invoke(cli, ["tui", "--fleet", "--config", str(missing)])
    assert result.exit_code == 1, result.output
    assert "fleet" in result.output and "nowhere.toml" in result.output


def test_engine_socket_without_fleet_is_a_usage_error(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from arbctl.cli import app as cli

    result = CliRunner().invoke(cli, ["tui", "--engine-socket", str(tmp_path / "a.sock")])
    assert result.exit_code == 2 and "--fleet" in result.output


async def test_a_frozen_engine_shows_not_answering_while_the_others_stay_live(
    engine_factory: Callable[..., EngineHandle],
) -> None:
    """A frozen socket costs a timeout per poll, longer than the poll interval: the
    table must still be re-read (never a poll cancelled by the next one, forever)."""
    live = engine_factory(engine_toml("a", 7, "USDC"))
    frozen = engine_factory(engine_toml("b", 11, "DAI"))
    app = FleetConsole(FleetSources(sockets=(live.socket, frozen.socket)))
    try:
        async with app.run_test(size=SIZE):
            assert await until(lambda: sum(r.answering is True for r in app.fleet.rows) == 2)
            os.kill(frozen.pid, signal.SIGSTOP)

            def silent() -> bool:
                rows = {r.dial: r for r in app.fleet.rows}
                return rows[frozen.socket].answering is False and rows[live.socket].answering

            assert await until(silent)
            read_at = app.fleet.snapshot.read_at or 0
            assert await until(lambda: (app.fleet.snapshot.read_at or 0) > read_at + 2)
            frozen_row = next(r for r in app.fleet.rows if r.dial == frozen.socket)
            assert frozen_row.state_dir == str(frozen.state_dir)  # kept for the kill fallback
            table = app.screen.query_one("#fleet-table", DataTable)
            assert await until(lambda: "NOT ANSWERING" in table.get_row(frozen_row.key)[2].plain)
    finally:
        _resume(frozen.pid)


async def test_an_engine_behind_a_forwarded_socket_is_listed_opened_and_killed_through_it(
    engine_factory: Callable[..., EngineHandle],
) -> None:
    engine = engine_factory(engine_toml("far", 23, "USDT"))
    local = new_engine_dir() / "forwarded.sock"
    with Forward(local, engine.socket):
        app = FleetConsole(FleetSources(sockets=(local,)))
        async with app.run_test(size=SIZE) as pilot:
            assert await until(lambda: _rows_ready(app, 1))
            row = app.fleet.rows[0]
            assert (row.dial, row.own_socket) == (local, str(engine.socket))
            assert (row.chain, row.quote_symbol, row.pid) == ("sim-23", "USDT", engine.pid)
            await pilot.press("enter")
            assert await until(lambda: app.model.engine.get("pid") == engine.pid)
            await pilot.press("escape")
            assert await until(lambda: isinstance(app.screen, FleetScreen))
            await pilot.press("K", *"KILL", "enter")
            assert await state_becomes(engine, "halted")
            assert await until(lambda: told(app, "FLEET KILL: 1 of 1 engines halted"))
    local.parent.rmdir()


async def test_a_frozen_engine_behind_a_forward_is_never_given_the_local_fallback(
    engine_factory: Callable[..., EngineHandle],
) -> None:
    """Its state dir is on the other machine: a marker written here would halt nothing,
    or worse, halt a local engine that happens to use the same path."""
    engine = engine_factory(engine_toml("far", 23, "USDT"))
    local = new_engine_dir() / "forwarded.sock"
    with Forward(local, engine.socket):
        app = FleetConsole(FleetSources(sockets=(local,)))
        try:
            async with app.run_test(size=SIZE) as pilot:
                assert await until(lambda: _rows_ready(app, 1))
                os.kill(engine.pid, signal.SIGSTOP)
                await pilot.press("K", *"KILL", "enter")
                assert await until(lambda: told(app, "FLEET KILL INCOMPLETE"), 30)
                assert told(app, f"{local}: NOT halted")
                assert protocol.read_halt_marker(engine.state_dir) is None
        finally:
            _resume(engine.pid)
    local.parent.rmdir()


async def test_the_fleet_kill_still_halts_every_engine_when_redis_is_down(
    engine_factory: Callable[..., EngineHandle],
) -> None:
    """Redis is the reach, the sockets are the proof: a dead Redis leaves the flag unset
    (and the report says so, in red) but every engine with a socket halts."""
    a = engine_factory(engine_toml("a", 7, "USDC"))
    b = engine_factory(engine_toml("b", 11, "DAI"))
    dead = RedisTarget(f"redis://127.0.0.1:{free_port()}/0", "nobody", "test")
    app = FleetConsole(FleetSources(redis=dead, sockets=(a.socket, b.socket)))
    async with app.run_test(size=SIZE) as pilot:
        assert await until(lambda: _rows_ready(app, 2))
        assert app.fleet.snapshot.redis_problem.startswith("Redis redis://127.0.0.1")
        await pilot.press("K", *"KILL", "enter")
        assert await state_becomes(a, "halted") and await state_becomes(b, "halted")
        assert await until(lambda: told(app, "FLEET KILL INCOMPLETE"))
        assert told(app, "2 of 2 engines halted; global halt flag NOT set")
