"""`arbctl tui`: the operator console (screens/), for one engine or, with --fleet, many.

Textual is imported only inside the command: `arbctl status` and every other plain
command must not pay for it (tests/arbctl/test_imports.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from arbctl import exitcodes, options, output
from arbctl.commands import fleet as fleet_cmd

if TYPE_CHECKING:
    from screens.fleet.source import FleetSources

ReadOnlyOpt = Annotated[
    bool,
    typer.Option(
        "--read-only",
        help="Watch only: pause, kill and failover are hidden and refused.",
    ),
]
FleetOpt = Annotated[
    bool,
    typer.Option(
        "--fleet",
        help="Every engine: from Redis presence (--redis-url / --config, else the local "
        "engine's [redis]) and/or the sockets given with --engine-socket.",
    ),
]
EngineSocketOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--engine-socket",
        show_default=False,
        help="With --fleet: an engine's socket, local or forwarded over SSH "
        "(ssh -L /tmp/b.sock:/run/arbctl/engine.sock host). Repeat for more.",
    ),
]


def tui(
    socket: options.SocketOpt = None,
    read_only: ReadOnlyOpt = False,
    fleet: FleetOpt = False,
    engine_socket: EngineSocketOpt = None,
    redis_url: fleet_cmd.RedisUrlOpt = None,
    namespace: fleet_cmd.NamespaceOpt = None,
    config: fleet_cmd.ConfigFileOpt = None,
) -> None:
    """Open the operator console: live dashboard, trades, guards, logs, and the keys.

    Keys: p pause/resume · f failover · K emergency kill (type KILL) · t trades · g
    guards · l logs · r resync · ? help · q quit (the engine keeps running). If the
    engine is down or restarts, a banner says so and the console reconnects by itself,
    resuming from the last event it saw. Details: docs/console.md.

    --fleet lists every engine (chain, state, P&L today, breaker, worst alert,
    heartbeat age): Enter opens one engine's dashboard (Esc comes back), K kills the
    whole fleet (type KILL): the shared halt flag in Redis and each engine's own kill.

    Exit codes: 0 quit · 1 --fleet: where Redis is could not be read from --config ·
    2 --engine-socket without --fleet · 129 the terminal went away (SIGHUP) · 143 SIGTERM.
    """
    if not fleet:
        if engine_socket:
            output.fail("--engine-socket lists a fleet: add --fleet", exitcodes.USAGE, False)
        from screens.app import run_console

        raise typer.Exit(run_console(options.socket_path(socket), read_only=read_only))
    sources = _fleet_sources(engine_socket or [], redis_url, namespace, config, socket)
    from screens.fleet.app import run_fleet_console

    raise typer.Exit(run_fleet_console(sources, read_only=read_only))


def _fleet_sources(
    sockets: list[Path],
    redis_url: str | None,
    namespace: str | None,
    config: Path | None,
    socket: Path | None,
) -> FleetSources:
    """Explicit Redis (--redis-url / --config) must work; the local engine's is a guess:
    without it the fleet is the given sockets, or the local engine alone, and says why."""
    from screens.fleet.source import FleetSources

    given = tuple(sockets)
    if redis_url or config:
        try:
            target = fleet_cmd.resolve(redis_url, namespace, config, None)
        except fleet_cmd.NoRedis as exc:
            output.fail(f"fleet: {exc}", exitcodes.FAILED, False)
        return FleetSources(redis=target, sockets=given)
    if given:
        return FleetSources(sockets=given)
    local = options.socket_path(socket)
    try:
        target = fleet_cmd.resolve(None, namespace, None, local)
    except fleet_cmd.NoRedis as exc:
        return FleetSources(sockets=(local,), note=f"showing {local} only: {exc}")
    return FleetSources(redis=target)
