"""An asyncio client of the control socket: calls, and an event stream that survives.

The console lives on the same event loop as the UI, so nothing here may block: calls use
their own short-lived connection (a kill must never queue behind ten thousand pushed
events), and the stream yields to the loop every few hundred lines so keys stay live
during a flood.

The stream is meant to run for the console's whole life. The engine restarting, SSH
dropping, or the engine cutting us off for lagging are all expected: it reconnects with
backoff, resubscribes with `since_seq` = the last seq seen (no gaps, no duplicates while
the engine's ring still holds them) and asks for a resync when events may have been lost.

Only `engine.protocol` and the stdlib: no textual here, so it can be tested and reused
without a terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import protocol

CLIENT_NAME = "arbctl-tui"
CALL_TIMEOUT_S = 5.0
BACKOFF_MIN_S = 0.2
BACKOFF_MAX_S = 5.0
# asyncio's line limit; the engine refuses request lines over MAX_LINE_BYTES and its own
# event lines are smaller, so twice that is plenty and still bounded.
READ_LIMIT = 2 * protocol.MAX_LINE_BYTES
YIELD_EVERY = 200  # lines read between explicit yields to the UI


class EngineUnreachable(Exception):
    """Nobody answered on the socket (not running, restarting, frozen)."""


class RpcError(Exception):
    """The engine answered with a JSON-RPC error."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def name(self) -> str:
        return protocol.ERROR_NAMES.get(self.code, "error")


@dataclass
class StreamHooks:
    """What the stream tells its owner; each callback runs on the loop, and must be quick."""

    on_event: Callable[[dict[str, Any]], None]
    on_connected: Callable[[], None]
    on_disconnected: Callable[[str, int, float], None]  # why, attempt, retry in (s)
    on_resync: Callable[[str], Awaitable[None]]  # why


class EngineLink:
    """Calls and a resumable event stream for one engine socket."""

    def __init__(self, socket_path: Path, call_timeout: float = CALL_TIMEOUT_S) -> None:
        self.socket_path = Path(socket_path)
        self.call_timeout = call_timeout
        self.last_seq: int | None = None
        self._next_id = 1
        self._renewal = ""  # why the next subscription renews an interrupted one

    # --- calls --------------------------------------------------------------------------
    async def call(
        self, method: str, params: dict[str, Any] | None = None, timeout: float | None = None
    ) -> Any:
        """One request on a fresh connection; raises EngineUnreachable or RpcError."""
        limit = self.call_timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                return await self._call_once(method, params)
        except TimeoutError:
            raise EngineUnreachable(f"no answer to {method} within {limit:.0f}s") from None
        except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
            raise EngineUnreachable(describe_os_error(exc)) from None

    async def _call_once(self, method: str, params: dict[str, Any] | None) -> Any:
        reader, writer = await asyncio.open_unix_connection(str(self.socket_path), limit=READ_LIMIT)
        try:
            msg_id = self._send(writer, method, params)
            await writer.drain()
            return await _await_result(reader, msg_id)
        finally:
            await _close(writer)

    def _send(
        self, writer: asyncio.StreamWriter, method: str, params: dict[str, Any] | None
    ) -> int:
        msg_id = self._next_id
        self._next_id += 1
        writer.write(protocol.encode(protocol.request(method, params, id=msg_id)))
        return msg_id

    # --- the event stream ---------------------------------------------------------------
    async def stream(self, hooks: StreamHooks, topics: list[str] | None = None) -> None:
        """Follow events forever: connect, subscribe, read; reconnect on any interruption."""
        attempt, backoff = 0, BACKOFF_MIN_S
        while True:
            try:
                await self._follow(hooks, topics)
                attempt, backoff = 0, BACKOFF_MIN_S  # cut off for lagging: go straight back
                continue
            except (OSError, ValueError, EngineUnreachable, asyncio.IncompleteReadError) as exc:
                why = str(exc) if isinstance(exc, EngineUnreachable) else describe_os_error(exc)
            except RpcError as exc:
                why = f"engine refused to subscribe: {exc.message}"
            attempt += 1
            hooks.on_disconnected(why, attempt, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_S)

    async def _follow(self, hooks: StreamHooks, topics: list[str] | None) -> None:
        """One subscription, until the engine goes away (raises) or cuts us off (returns)."""
        reader, writer = await asyncio.open_unix_connection(str(self.socket_path), limit=READ_LIMIT)
        try:
            answer = await self._subscribe(reader, writer, topics)
            why = self._renewal or ("connected" if self.last_seq is None else "reconnected")
            if self.last_seq is None:
                self.last_seq = int(answer.get("last_seq") or 0)
            self._renewal = "reconnected"
            hooks.on_connected()
            await hooks.on_resync(why)
            await self._read_events(reader, hooks)
        finally:
            await _close(writer)

    async def _subscribe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, topics: list[str] | None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if topics:
            params["topics"] = topics
        if self.last_seq is not None:
            params["since_seq"] = self.last_seq
        msg_id = self._send(writer, "subscribe", params or None)
        await writer.drain()
        async with asyncio.timeout(self.call_timeout):
            answer = await _await_result(reader, msg_id)
        return answer if isinstance(answer, dict) else {}

    async def _read_events(self, reader: asyncio.StreamReader, hooks: StreamHooks) -> None:
        """Dispatch events in seq order until EOF (raises) or a lagged cut-off (returns)."""
        count = 0
        while True:
            line = await reader.readline()
            if not line:
                raise EngineUnreachable("the engine closed the connection")
            count += 1
            if count % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # readline returns without yielding while buffered
            event = _event_of(line)
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
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
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


async def _await_result(reader: asyncio.StreamReader, msg_id: int) -> Any:
    """Skip pushed lines until the answer to `msg_id`; raise RpcError for an error answer."""
    while True:
        line = await reader.readline()
        if not line:
            raise EngineUnreachable("the engine closed the connection")
        msg = json.loads(line)
        if not isinstance(msg, dict) or msg.get("id") != msg_id:
            continue
        if "error" in msg:
            err = msg["error"] if isinstance(msg["error"], dict) else {"message": msg["error"]}
            code = int(err.get("code", protocol.INTERNAL_ERROR))
            raise RpcError(code, str(err.get("message", "unknown error")))
        return msg.get("result")


def _event_of(line: bytes) -> dict[str, Any] | None:
    """The params of an event line, or None for anything else (answers, garbage)."""
    try:
        msg = json.loads(line)
    except ValueError:
        return None
    if not isinstance(msg, dict) or msg.get("method") != "event":
        return None
    params = msg.get("params")
    return params if isinstance(params, dict) else None


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        await writer.wait_closed()


def describe_os_error(exc: BaseException) -> str:
    """Say what a socket failure means for an operator, in a few words."""
    if isinstance(exc, FileNotFoundError):
        return "no socket file: the engine is not running (or restarting)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused: nobody listens on the socket (engine down?)"
    if isinstance(exc, PermissionError):
        return "permission denied on the socket (another user's engine?)"
    if isinstance(exc, ConnectionResetError | BrokenPipeError | asyncio.IncompleteReadError):
        return "the engine dropped the connection"
    if isinstance(exc, ValueError):
        return f"garbled answer from the engine: {exc}"
    return f"{type(exc).__name__}: {exc}"


def audited(reason: str, **params: Any) -> dict[str, Any]:
    """Params of a state-changing call: the reason, and our name for the audit trail."""
    return {"reason": reason, "client": CLIENT_NAME, **params}
