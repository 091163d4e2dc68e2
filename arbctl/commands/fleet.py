"""`arbctl fleet`, and the Redis side of `kill --global` / `resume --global`.

Engines that share a Redis (`[redis]` in their config, docs/redis.md) publish presence
heartbeats and watch one shared halt flag. This module reaches that Redis from the
command line. `redis` and the engine's key layout are imported inside the commands that
need them, so a plain `arbctl status` never pays for them.

Where Redis is, in order: --redis-url (with --namespace), the config file (--config or
$ARBCTL_CONFIG), the local engine's own config (`config.show` over the socket) — unless
its URL carries a password, which `config.show` masks: then pass --redis-url or --config.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from arbctl import exitcodes, options, output
from arbctl.client import Client, EngineUnreachable, RpcError
from arbctl.output import Col
from engine.errors import ArbctlError

if TYPE_CHECKING:
    from redis.asyncio import Redis

T = TypeVar("T")
REDIS_TIMEOUT_S = 2.0
CLI_SOURCE = "arbctl-cli"

RedisUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--redis-url",
        envvar="ARBCTL_REDIS_URL",
        show_default=False,
        help="Redis shared by the fleet, e.g. redis://10.0.0.5:6379/0. "
        "Default: redis.url of --config, else of the running engine.",
    ),
]
NamespaceOpt = Annotated[
    str | None,
    typer.Option(
        "--namespace",
        envvar="ARBCTL_REDIS_NAMESPACE",
        show_default=False,
        help="Key prefix of the fleet in Redis. Default: redis.namespace of the config "
        "(itself 'arbctl' by default).",
    ),
]
GlobalOpt = Annotated[
    bool,
    typer.Option(
        "--global",
        help="Fleet-wide: the shared halt flag in Redis (docs/redis.md).",
    ),
]


class NoRedis(ArbctlError):
    """Where Redis is could not be found out, or it did not answer."""


@dataclass(frozen=True, slots=True)
class RedisTarget:
    url: str
    namespace: str
    source: str  # where url and namespace came from, for the operator

    def to_dict(self) -> dict[str, Any]:
        from engine.config import redact_text

        return {"redis": redact_text(self.url), "namespace": self.namespace, "from": self.source}


def resolve(
    redis_url: str | None, namespace: str | None, config: Path | None, socket: Path | None
) -> RedisTarget:
    """--redis-url, else the config file, else the running engine's config."""
    from engine.fleet.keys import DEFAULT_NAMESPACE

    if redis_url:
        section = _file_section(config) if config else {}
        ns = namespace or section.get("namespace") or DEFAULT_NAMESPACE
        return RedisTarget(redis_url, ns, "--redis-url")
    if config:
        section = _file_section(config)
        return _target(section, namespace, str(config))
    return _target(_engine_section(socket), namespace, "the running engine's config")


def _target(section: dict[str, Any], namespace: str | None, source: str) -> RedisTarget:
    from engine.config import REDACTED

    url = str(section.get("url") or "")
    if not url:
        raise NoRedis(f"no [redis] url in {source}: Redis is not configured there")
    if REDACTED in url:
        raise NoRedis(
            f"the Redis URL in {source} has a password (masked): pass --redis-url or --config"
        )
    from engine.fleet.keys import DEFAULT_NAMESPACE

    ns = namespace or str(section.get("namespace") or DEFAULT_NAMESPACE)
    return RedisTarget(url, ns, source)


def _file_section(path: Path) -> dict[str, Any]:
    from engine.config import ConfigError, load

    try:
        config = load(path)
    except ConfigError as exc:
        raise NoRedis(str(exc)) from None
    return {"url": config.redis.url, "namespace": config.redis.namespace}


def _engine_section(socket: Path | None) -> dict[str, Any]:
    client = Client(options.socket_path(socket), timeout=REDIS_TIMEOUT_S)
    try:
        shown = client.call("config.show", timeout=REDIS_TIMEOUT_S)
    except (EngineUnreachable, RpcError) as exc:
        raise NoRedis(f"where is Redis? pass --redis-url or --config ({exc})") from None
    return dict((shown.get("config") or {}).get("redis") or {})


def run_redis(target: RedisTarget, op: Callable[[Redis], Awaitable[T]]) -> T:
    """One short-lived connection, bounded by REDIS_TIMEOUT_S; NoRedis if it fails."""
    import asyncio  # here, not at the top: `arbctl kill` and `status` must stay fast

    from engine.fleet.link import connect, is_outage

    async def main() -> T:
        client = connect(target.url, REDIS_TIMEOUT_S)
        try:
            return await asyncio.wait_for(op(client), REDIS_TIMEOUT_S * 2)
        finally:
            await client.aclose()

    try:
        return asyncio.run(main())
    except Exception as exc:
        if is_outage(exc) or _is_redis_error(exc):
            where = target.to_dict()["redis"]
            raise NoRedis(f"Redis {where}: {exc or type(exc).__name__}") from None
        raise


def _is_redis_error(exc: Exception) -> bool:
    from redis.exceptions import RedisError

    return isinstance(exc, RedisError)


# --- the shared halt flag (used by `kill --global` and `resume --global`) -------------
def set_global_halt(target: RedisTarget, reason: str) -> dict[str, Any]:
    """Set the flag; every engine of the namespace halts. Returns the flag."""
    from engine.fleet.halt import new_flag, set_flag
    from engine.fleet.keys import Keys

    flag = new_flag(reason, CLI_SOURCE)
    run_redis(target, lambda client: set_flag(client, Keys(target.namespace), flag))
    return flag


def clear_global_halt(target: RedisTarget, reason: str) -> dict[str, Any] | None:
    """Delete the flag; returns what was cleared. Engines stay halted until resumed."""
    from engine.fleet.halt import clear_flag
    from engine.fleet.keys import Keys

    keys = Keys(target.namespace)
    return run_redis(target, lambda client: clear_flag(client, keys, reason, CLI_SOURCE))


def clear_global_or_exit(
    reason: str,
    redis_url: str | None,
    namespace: str | None,
    config: Path | None,
    socket: Path | None,
    as_json: bool,
) -> dict[str, Any]:
    """`resume --global`: clear the flag first (exit 1 if that fails); report it."""
    try:
        target = resolve(redis_url, namespace, config, socket)
        cleared = clear_global_halt(target, reason)
    except NoRedis as exc:
        output.fail(f"global halt flag NOT cleared: {exc}", exitcodes.FAILED, as_json)
    report = {**target.to_dict(), "cleared": cleared}
    if not as_json:
        was = f"was: {cleared.get('reason')!r}" if cleared else "no flag was set"
        output.say(
            f"[bold]GLOBAL HALT CLEARED[/] in namespace {output.esc(target.namespace)} "
            f"({output.esc(was)}); other engines stay halted until each is resumed"
        )
    return report


# --- arbctl fleet -----------------------------------------------------------------------
ConfigFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="ARBCTL_CONFIG",
        show_default=False,
        help="Engine config file (TOML) whose redis.url says where the fleet is.",
    ),
]


def fleet(
    redis_url: RedisUrlOpt = None,
    namespace: NamespaceOpt = None,
    config: ConfigFileOpt = None,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """List the engines present in Redis: name, state, pid, host, heartbeat age, socket.

    Engines with `redis.url` set refresh a presence record every heartbeat; one that
    dies expires after `redis.ttl_s`. Also shows the shared halt flag if it is set.
    Reads Redis directly with --redis-url or --config; otherwise asks the local engine.
    With --json prints {namespace, engines: [{name, pid, host, state, reason, socket,
    state_dir, started_at, ts, heartbeat_age_s}], halt, via}.

    Exit codes: 0 listed (even none) · 1 Redis unreachable or not configured · 3 no
    engine answered (and no --redis-url / --config given).
    """
    if redis_url or config:
        data = _fleet_from_redis(redis_url, namespace, config, as_json)
    else:
        data = _fleet_from_engine(socket, as_json)
    if as_json:
        output.emit_json(data)
    else:
        _render_fleet(data)


def _fleet_from_redis(
    redis_url: str | None, namespace: str | None, config: Path | None, as_json: bool
) -> dict[str, Any]:
    from engine.fleet.halt import read_flag
    from engine.fleet.keys import Keys
    from engine.fleet.presence import read_fleet

    async def read(client: Redis, keys: Keys) -> tuple[list[dict[str, Any]], Any]:
        return await read_fleet(client, keys), await read_flag(client, keys)

    try:
        target = resolve(redis_url, namespace, config, None)
        engines, flag = run_redis(target, lambda client: read(client, Keys(target.namespace)))
    except NoRedis as exc:
        _fail(str(exc), as_json)
    return {"namespace": target.namespace, "engines": engines, "halt": flag, "via": "redis"}


def _fleet_from_engine(socket: Path | None, as_json: bool) -> dict[str, Any]:
    client = Client(options.socket_path(socket), timeout=REDIS_TIMEOUT_S * 2)
    try:
        data = client.call("fleet", timeout=REDIS_TIMEOUT_S * 2)
    except EngineUnreachable as exc:
        output.fail(
            f"{exc}; to read Redis directly pass --redis-url or --config",
            exitcodes.UNREACHABLE,
            as_json,
        )
    except RpcError as exc:
        hint = " (is [redis] url set in its config?)" if exc.name == "method_not_found" else ""
        _fail(f"the engine could not list the fleet: {exc.message}{hint}", as_json)
    return {
        "namespace": data.get("namespace"),
        "engines": data.get("engines") or [],
        "halt": data.get("halt"),
        "via": "engine",
    }


def _fail(message: str, as_json: bool) -> NoReturn:
    output.fail(message, exitcodes.FAILED, as_json)


def _render_fleet(data: dict[str, Any]) -> None:
    flag = data.get("halt")
    if flag:
        output.say(
            f"[bold red]GLOBAL HALT SET[/] — {output.esc(flag.get('reason'))} "
            f"(by {output.esc(flag.get('user'))}@{output.esc(flag.get('host'))}, "
            f"{output.ago(flag.get('ts'))})"
        )
    engines = data.get("engines") or []
    rows = [
        [
            e.get("name"),
            e.get("state"),
            e.get("pid"),
            e.get("host"),
            output.duration(e.get("heartbeat_age_s")),
            e.get("socket"),
        ]
        for e in engines
    ]
    title = f"fleet {data.get('namespace')}: {len(engines)} engine(s)"
    columns = [
        Col("name", shrink=12),
        Col("state"),
        Col("pid", right=True, drop=3),
        Col("host", shrink=10, drop=2),
        Col("heartbeat", right=True),
        Col("socket", shrink=16, middle=True, drop=1),
    ]
    output.print_fitted(columns, rows, title=title)


def set_global_for_kill(
    reason: str,
    redis_url: str | None,
    namespace: str | None,
    config: Path | None,
    socket: Path | None,
) -> tuple[bool, str, dict[str, Any]]:
    """`kill --global`: (ok, step detail, report entry). Never raises: the local halt
    that follows must happen whatever Redis does."""
    try:
        target = resolve(redis_url, namespace, config, socket)
        flag = set_global_halt(target, reason)
    except NoRedis as exc:
        return False, f"global halt flag NOT set: {exc}", {"ok": False, "error": str(exc)}
    where = target.to_dict()
    detail = (
        f"global halt flag set in namespace {target.namespace} on {where['redis']}: "
        "every engine attached to it halts"
    )
    return True, detail, {"ok": True, **where, "flag": flag}
