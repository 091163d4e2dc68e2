"""Reading the fleet: Redis presence and heartbeats, and each engine's socket.

Where engines are found:
- Redis (`[redis]` of the engines, docs/redis.md): presence records, each engine's
  heartbeat record (chain, breaker, alerts) and the shared halt flag, in three round
  trips. An engine on this host is then also asked over its own socket.
- Sockets given on the command line: local ones, or remote engines' sockets forwarded
  over SSH (`ssh -L /tmp/b.sock:/run/arbctl/engine.sock host`).

Each socket is asked `status`, `pnl` (today), its newest heartbeat event and, once, its
name in Redis (`redis`), all at once with a short timeout: a frozen engine costs one
timeout per poll, never a stuck console. A Redis that stops answering keeps the last rows
(their heartbeat ages keep growing) and says so; rows never vanish because a read failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from arbctl.client.aio import AsyncClient
from arbctl.client.core import EngineUnreachable, RpcError
from arbctl.commands.fleet import RedisTarget
from engine import protocol
from screens.fleet.model import (
    EngineRow,
    FleetSnapshot,
    SocketAnswers,
    merge_rows,
    row_from_presence,
    row_from_socket,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

CALL_TIMEOUT_S = 1.5
REDIS_TIMEOUT_S = 1.0
NO_REDIS_NAME = ("", "")  # the engine answered `redis` with method_not_found: no Redis


@dataclass(frozen=True, slots=True)
class FleetSources:
    """Where the console looks for engines."""

    redis: RedisTarget | None = None
    sockets: tuple[Path, ...] = ()
    note: str = ""  # why Redis is not read, when the operator may expect it to be


class FleetReader:
    """One poll of the whole fleet per `read()`; holds one Redis client for its life."""

    def __init__(self, sources: FleetSources, here: str | None = None) -> None:
        self.sources = sources
        self.here = here or socket.gethostname()
        self._redis: Redis | None = None
        self._redis_rows: list[EngineRow] = []
        self._halt: dict[str, Any] | None = None
        self._names: dict[Path, tuple[str, str]] = {}
        self._last_good: dict[Path, EngineRow] = {}

    async def read(self, now: float) -> FleetSnapshot:
        problem = await self._read_redis() if self.sources.redis else self.sources.note
        dials = self._dials()
        answers = await asyncio.gather(*(self._ask(path) for path in dials))
        socket_rows = [self._row(p, a) for p, a in zip(dials, answers, strict=True)]
        target = self.sources.redis
        return FleetSnapshot(
            rows=tuple(merge_rows(self._redis_rows, socket_rows)),
            halt=self._halt,
            redis_problem=problem,
            read_at=now,
            namespace=target.namespace if target else "",
        )

    def _row(self, path: Path, answers: SocketAnswers) -> EngineRow:
        """A socket that stops answering keeps what it last said (its state dir is what
        the kill fallback needs), marked as not answering."""
        if not answers.problem:
            self._last_good[path] = row_from_socket(path, answers)
            return self._last_good[path]
        last = self._last_good.get(path)
        if last is None:
            return row_from_socket(path, answers)
        return replace(last, answering=False, problem=answers.problem)

    def _dials(self) -> list[Path]:
        """The given sockets, then this host's engines from Redis; each path once."""
        paths = list(self.sources.sockets)
        paths += [row.dial for row in self._redis_rows if row.dial is not None]
        return list(dict.fromkeys(paths))

    # --- Redis --------------------------------------------------------------------------
    async def _read_redis(self) -> str:
        """Refresh the Redis rows and flag; the problem in words, or ""."""
        from engine.fleet.link import connect

        target = self.sources.redis
        assert target is not None
        if self._redis is None:
            self._redis = connect(target.url, REDIS_TIMEOUT_S)
        try:
            records, beats, flag = await asyncio.wait_for(
                _read_namespace(self._redis, target.namespace), REDIS_TIMEOUT_S * 3
            )
        except Exception as exc:  # Redis down or garbled: keep the last rows, say why
            return f"Redis {target.to_dict()['redis']}: {exc or type(exc).__name__}"
        self._halt = flag
        self._redis_rows = [
            row_from_presence(record, beat, self.here)
            for record, beat in zip(records, beats, strict=True)
        ]
        return ""

    # --- sockets ------------------------------------------------------------------------
    async def _ask(self, path: Path) -> SocketAnswers:
        client = AsyncClient(path, CALL_TIMEOUT_S)
        beat_params = {"topics": [protocol.TOPIC_HEARTBEAT], "limit": 1}
        answers: tuple[Any, ...] = await asyncio.gather(
            _call(client, "status"),
            _call(client, "pnl", {"period": "today"}),
            _call(client, "events.recent", beat_params),
            self._name_of(client),
            return_exceptions=True,
        )
        status, pnl, beats, name = answers
        if isinstance(status, BaseException):
            return SocketAnswers(None, None, None, None, _why(status))
        return SocketAnswers(
            status,
            None if isinstance(pnl, BaseException) else pnl,
            _newest_event(beats),
            None if isinstance(name, BaseException) or name == NO_REDIS_NAME else name,
            "",
        )

    async def _name_of(self, client: AsyncClient) -> tuple[str, str]:
        """(namespace, name) in Redis, asked once per socket; ("", "") without Redis."""
        known = self._names.get(client.socket_path)
        if known is not None:
            return known
        try:
            answer = await _call(client, "redis")
        except RpcError as exc:
            if exc.code != protocol.METHOD_NOT_FOUND:
                raise
            answer = {}
        data = answer if isinstance(answer, dict) else {}
        name = (str(data.get("namespace") or ""), str(data.get("engine") or ""))
        self._names[client.socket_path] = name if name[1] else NO_REDIS_NAME
        return self._names[client.socket_path]

    async def close(self) -> None:
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._redis.aclose(), REDIS_TIMEOUT_S)


async def _read_namespace(
    client: Redis, namespace: str
) -> tuple[list[dict[str, Any]], list[Any], dict[str, Any] | None]:
    from engine.fleet.halt import read_flag
    from engine.fleet.keys import Keys, decode
    from engine.fleet.presence import read_fleet

    keys = Keys(namespace)
    records = await read_fleet(client, keys)
    names = [str(record.get("name") or "") for record in records]
    raw = await client.mget([Keys(namespace, n or "?").heartbeat for n in names]) if names else []
    beats = [decode(value) for value in cast(list[Any], raw)]
    return records, beats, await read_flag(client, keys)


async def _call(client: AsyncClient, method: str, params: dict[str, Any] | None = None) -> Any:
    return await client.call(method, params)


def _newest_event(answer: Any) -> dict[str, Any] | None:
    if isinstance(answer, BaseException) or not isinstance(answer, dict):
        return None
    events = answer.get("events")
    return events[-1] if isinstance(events, list) and events else None


def _why(exc: BaseException) -> str:
    if isinstance(exc, EngineUnreachable):
        return exc.detail
    if isinstance(exc, RpcError):
        return f"status refused: {exc.message}"
    return f"{type(exc).__name__}: {exc}"
