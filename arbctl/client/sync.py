"""The synchronous client of the control socket: the CLI's.

Synchronous and stdlib-only because every plain command opens one connection, asks one
question and exits: asyncio's start-up cost would be most of `arbctl status`'s budget.
Framing, answers and errors come from `core`, shared with the console's asyncio client.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from arbctl.client.core import (
    DEFAULT_TIMEOUT_S,
    EngineUnreachable,
    answer_to,
    closed,
    event_params,
    parse_line,
    request_line,
    unreachable,
)

_RECV_BYTES = 65536


class _Connection:
    """One socket plus a line buffer; reads honour an absolute deadline."""

    def __init__(self, socket_path: Path, timeout: float | None) -> None:
        self.path = socket_path
        self._buf = b""
        self._next_id = 1
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(str(socket_path))
        except OSError as exc:
            self.sock.close()
            raise unreachable(socket_path, exc) from None
        except BaseException:
            self.sock.close()
            raise

    def close(self) -> None:
        self.sock.close()

    def send(self, method: str, params: dict[str, Any] | None) -> int:
        msg_id = self._next_id
        self._next_id += 1
        try:
            self.sock.sendall(request_line(method, params, msg_id))
        except OSError as exc:
            raise unreachable(self.path, exc) from None
        return msg_id

    def read_message(self, deadline: float | None) -> dict[str, Any]:
        """The next JSON object from the engine; blocks until `deadline` (None: forever)."""
        while b"\n" not in self._buf:
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError()
                self.sock.settimeout(remaining)
            else:
                self.sock.settimeout(None)
            chunk = self.sock.recv(_RECV_BYTES)
            if not chunk:
                raise closed(self.path)
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        msg = parse_line(line)
        if msg is None:
            raise ValueError(f"not a JSON object: {line[:80]!r}")
        return msg

    def await_result(self, msg_id: int, deadline: float | None) -> Any:
        """Skip pushed events until the response to `msg_id` arrives."""
        while True:
            answered, result = answer_to(self.read_message(deadline), msg_id)
            if answered:
                return result

    def peer_pid(self) -> int | None:
        """The pid that created the listening socket (Linux SO_PEERCRED), if known."""
        opt = getattr(socket, "SO_PEERCRED", None)
        if opt is None:
            return None
        try:
            raw = self.sock.getsockopt(socket.SOL_SOCKET, opt, struct.calcsize("3i"))
        except OSError:
            return None
        pid, _uid, _gid = struct.unpack("3i", raw)
        return pid or None


class Client:
    """Talks to one engine socket. Cheap to create; every call uses a fresh connection."""

    def __init__(self, socket_path: Path, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.socket_path = socket_path
        self.timeout = timeout
        self.last_peer_pid: int | None = None

    def call(
        self, method: str, params: dict[str, Any] | None = None, timeout: float | None = None
    ) -> Any:
        """One request, one answer, all within `timeout` seconds (connect included)."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        conn = _Connection(self.socket_path, limit)
        try:
            self.last_peer_pid = conn.peer_pid()
            msg_id = conn.send(method, params)
            return conn.await_result(msg_id, deadline)
        except (OSError, ValueError) as exc:
            raise unreachable(self.socket_path, exc) from None
        finally:
            conn.close()

    def peer_pid(self, timeout: float = 1.0) -> int | None:
        """Which process listens on the socket, even if it is too frozen to answer."""
        try:
            conn = _Connection(self.socket_path, timeout)
        except EngineUnreachable:
            return None
        try:
            return conn.peer_pid()
        finally:
            conn.close()

    def subscribe(
        self,
        topics: list[str] | None = None,
        since_seq: int | None = None,
        timeout: float | None = None,
    ) -> Subscription:
        """Open a live event stream; the answer (`last_seq`) is read before returning."""
        limit = self.timeout if timeout is None else timeout
        conn = _Connection(self.socket_path, limit)
        params: dict[str, Any] = {}
        if topics:
            params["topics"] = topics
        if since_seq is not None:
            params["since_seq"] = since_seq
        try:
            msg_id = conn.send("subscribe", params or None)
            answer = conn.await_result(msg_id, time.monotonic() + limit)
        except (OSError, ValueError) as exc:
            conn.close()
            raise unreachable(self.socket_path, exc) from None
        except BaseException:
            conn.close()
            raise
        return Subscription(conn, answer or {})


class Subscription:
    """A live event stream: iterate for event params `{topic, seq, ts, data}`.

    Iteration blocks without a deadline (events may be rare) and ends with
    `EngineUnreachable(kind="closed")` when the engine goes away.
    """

    def __init__(self, conn: _Connection, answer: dict[str, Any]) -> None:
        self._conn = conn
        self.id = answer.get("subscription")
        self.last_seq: int = int(answer.get("last_seq") or 0)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while True:
            try:
                msg = self._conn.read_message(None)
            except (OSError, ValueError) as exc:
                raise unreachable(self._conn.path, exc) from None
            params = event_params(msg)
            if params is not None:
                yield params
