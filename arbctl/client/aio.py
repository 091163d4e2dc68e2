"""The asyncio client of the control socket: the console's calls.

The console lives on the same event loop as its UI, so nothing here blocks. Each call uses
its own short-lived connection (a kill must never queue behind ten thousand pushed events)
and is bounded by a timeout. Framing, answers and errors come from `core`, shared with the
CLI's synchronous client.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from arbctl.client.core import (
    DEFAULT_TIMEOUT_S,
    READ_LIMIT,
    EngineUnreachable,
    answer_to,
    closed,
    parse_line,
    request_line,
    unreachable,
)


class Connection:
    """One stream connection with request ids; the console's event stream reuses it."""

    def __init__(
        self, socket_path: Path, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.socket_path = socket_path
        self.reader = reader
        self._writer = writer
        self._next_id = 1

    @classmethod
    async def open(cls, socket_path: Path) -> Connection:
        try:
            reader, writer = await asyncio.open_unix_connection(str(socket_path), limit=READ_LIMIT)
        except (OSError, ValueError) as exc:
            raise unreachable(socket_path, exc) from None
        return cls(socket_path, reader, writer)

    async def send(self, method: str, params: dict[str, Any] | None) -> int:
        msg_id = self._next_id
        self._next_id += 1
        self._writer.write(request_line(method, params, msg_id))
        await self._writer.drain()
        return msg_id

    async def readline(self) -> bytes:
        """The next line; EngineUnreachable(closed) at the end of the stream."""
        line = await self.reader.readline()
        if not line:
            raise closed(self.socket_path)
        return line

    async def result(self, msg_id: int) -> Any:
        """Skip pushed lines until the answer to `msg_id`; RpcError for an error answer."""
        while True:
            msg = parse_line(await self.readline())
            if msg is None:
                continue
            answered, result = answer_to(msg, msg_id)
            if answered:
                return result

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            await self._writer.wait_closed()


class AsyncClient:
    """Calls to one engine socket from an event loop; every call has its own connection."""

    def __init__(self, socket_path: Path, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.socket_path = Path(socket_path)
        self.timeout = timeout

    async def call(
        self, method: str, params: dict[str, Any] | None = None, timeout: float | None = None
    ) -> Any:
        """One request on a fresh connection; raises EngineUnreachable or RpcError."""
        limit = self.timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                return await self._call_once(method, params)
        except TimeoutError:
            raise EngineUnreachable(
                self.socket_path, "timeout", f"no answer to {method} within {limit:.0f}s"
            ) from None
        except (OSError, ValueError, EOFError) as exc:
            raise unreachable(self.socket_path, exc) from None

    async def _call_once(self, method: str, params: dict[str, Any] | None) -> Any:
        conn = await Connection.open(self.socket_path)
        try:
            return await conn.result(await conn.send(method, params))
        finally:
            await conn.close()
