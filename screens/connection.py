"""An asyncio client of the control socket: calls, and an event stream that survives.

The console lives on the same event loop as the UI, so nothing here may block: calls use
their own short-lived connection (a kill must never queue behind ten thousand pushed
events), and the stream yields to the loop every few hundred lines so keys stay live
during a flood.

The stream is meant to run for the console's whole life. The engine restarting, SSH
dropping, or the engine cutting us off for lagging are all expected: it reconnects with
backoff, resubscribes with `since_seq` = the last seq seen (no gaps, no duplicates while
the engine's ring still holds them) and asks for a resync when events may have been lost.

Calls, framing and errors are `arbctl.client`'s (the core the CLI uses too); this module
adds only the console's resumable stream. No textual here, so it can be tested without a
terminal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arbctl.client import core
from arbctl.client.aio import AsyncClient, Connection
from arbctl.client.core import EngineUnreachable, RpcError
from engine import protocol

__all__ = ["EngineLink", "EngineUnreachable", "RpcError", "StreamHooks", "audited"]

CLIENT_NAME = "arbctl-tui"
CALL_TIMEOUT_S = 5.0
BACKOFF_MIN_S = 0.2
BACKOFF_MAX_S = 5.0
YIELD_EVERY = 200  # lines read between explicit yields to the UI


@dataclass
class StreamHooks:
    """What the stream tells its owner; each callback runs on the loop, and must be quick."""

    on_event: Callable[[dict[str, Any]], None]
    on_connected: Callable[[], None]
    on_disconnected: Callable[[str, int, float], None]  # why, attempt, retry in (s)
    on_resync: Callable[[str], Awaitable[object]]  # why


class EngineLink:
    """Calls and a resumable event stream for one engine socket."""

    def __init__(self, socket_path: Path, call_timeout: float = CALL_TIMEOUT_S) -> None:
        self.socket_path = Path(socket_path)
        self.call_timeout = call_timeout
        self.last_seq: int | None = None
        self._client = AsyncClient(self.socket_path, call_timeout)
        self._renewal = ""  # why the next subscription renews an interrupted one

    # --- calls --------------------------------------------------------------------------
    async def call(
        self, method: str, params: dict[str, Any] | None = None, timeout: float | None = None
    ) -> Any:
        """One request on a fresh connection; raises EngineUnreachable or RpcError."""
        return await self._client.call(method, params, timeout)

    # --- the event stream ---------------------------------------------------------------
    async def stream(self, hooks: StreamHooks, topics: list[str] | None = None) -> None:
        """Follow events forever: connect, subscribe, read; reconnect on any interruption."""
        attempt, backoff = 0, BACKOFF_MIN_S
        while True:
            try:
                await self._follow(hooks, topics)
                attempt, backoff = 0, BACKOFF_MIN_S  # cut off for lagging: go straight back
                continue
            except (OSError, ValueError, EOFError, EngineUnreachable) as exc:
                why = core.unreachable(self.socket_path, exc).detail
            except RpcError as exc:
                why = f"engine refused to subscribe: {exc.message}"
            attempt += 1
            hooks.on_disconnected(why, attempt, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_S)

    async def _follow(self, hooks: StreamHooks, topics: list[str] | None) -> None:
        """One subscription, until the engine goes away (raises) or cuts us off (returns)."""
        conn = await Connection.open(self.socket_path)
        try:
            answer = await self._subscribe(conn, topics)
            why = self._renewal or ("connected" if self.last_seq is None else "reconnected")
            if self.last_seq is None:
                self.last_seq = int(answer.get("last_seq") or 0)
            self._renewal = "reconnected"
            hooks.on_connected()
            await hooks.on_resync(why)
            await self._read_events(conn, hooks)
        finally:
            await conn.close()

    async def _subscribe(self, conn: Connection, topics: list[str] | None) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if topics:
            params["topics"] = topics
        if self.last_seq is not None:
            params["since_seq"] = self.last_seq
        msg_id = await conn.send("subscribe", params or None)
        async with asyncio.timeout(self.call_timeout):
            answer = await conn.result(msg_id)
        return answer if isinstance(answer, dict) else {}

    async def _read_events(self, conn: Connection, hooks: StreamHooks) -> None:
        """Dispatch events in seq order until EOF (raises) or a lagged cut-off (returns)."""
        count = 0
        while True:
            line = await conn.readline()
            count += 1
            if count % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # readline returns without yielding while buffered
            event = core.event_params(core.parse_line(line))
            if event is None:
                continue
            if event.get("topic") == protocol.TOPIC_LAGGED:
                if await self._on_lagged(event, hooks):
                    return
                continue
            if self._is_duplicate(event):
                continue
            hooks.on_event(event)

    async def _on_lagged(self, event: dict[str, Any], hooks: StreamHooks) -> bool:
        """True when the subscription is over (queue overflow) and must be renewed.

        Either way events were missed, so the snapshots are re-read: straight away for a
        gap in the replay, after resubscribing for an overflow.
        """
        given = event.get("data")
        data: dict[str, Any] = given if isinstance(given, dict) else {}
        why = f"lagged: {data.get('reason', 'events were missed')}"
        hooks.on_event(event)
        if "oldest_available_seq" not in data:
            self._renewal = why
            return True
        await hooks.on_resync(why)
        return False

    def _is_duplicate(self, event: dict[str, Any]) -> bool:
        seq = event.get("seq")
        if not isinstance(seq, int):
            return False
        if self.last_seq is not None and seq <= self.last_seq:
            return True
        self.last_seq = seq
        return False


def audited(reason: str, **params: Any) -> dict[str, Any]:
    """Params of a state-changing call, signed with the console's name for the audit trail."""
    return core.audited(reason, CLIENT_NAME, **params)
