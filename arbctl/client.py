"""A synchronous JSON-RPC client for the engine's control socket.

Synchronous and stdlib-only because every plain command opens one connection, asks one
question and exits: asyncio's start-up cost would be most of `arbctl status`'s budget.
Each failure is mapped to one of two exceptions so commands can choose an exit code
without knowing about sockets: `EngineUnreachable` (nobody answered) and `RpcError`
(the engine answered "no").
"""

from __future__ import annotations

import json
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine import protocol

DEFAULT_TIMEOUT_S = 5.0
_RECV_BYTES = 65536


class EngineUnreachable(Exception):
    """Nobody answered on the socket; `kind` says why, in a word scripts can match on.

    kinds: no_socket, refused (stale socket file), permission, path_too_long,
    timeout (connected but no answer: busy or frozen), closed, error.
    """

    def __init__(self, socket_path: Path, kind: str, detail: str) -> None:
        self.socket_path = socket_path
        self.kind = kind
        self.detail = detail
        super().__init__(f"engine not reachable on {socket_path}: {detail}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "unreachable",
            "reason": self.kind,
            "socket": str(self.socket_path),
            "message": str(self),
        }


class RpcError(Exception):
    """The engine answered with a JSON-RPC error (bad params, invalid state, not found…)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        self.code = code
        self.message = message
        self.data = data
        super().__init__(message)

    @property
    def name(self) -> str:
        return protocol.ERROR_NAMES.get(self.code, "error")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "rpc", "code": self.code, "name": self.name, "message": self.message}


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
            raise _unreachable(socket_path, exc) from None
        except BaseException:
            self.sock.close()
            raise

    def close(self) -> None:
        self.sock.close()

    def send(self, method: str, params: dict[str, Any] | None) -> int:
        msg_id = self._next_id
        self._next_id += 1
        try:
            self.sock.sendall(protocol.encode(protocol.request(method, params, id=msg_id)))
        except OSError as exc:
            raise _unreachable(self.path, exc) from None
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
                raise EngineUnreachable(self.path, "closed", "connection closed by the engine")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def await_result(self, msg_id: int, deadline: float | None) -> Any:
        """Skip pushed events until the response to `msg_id` arrives."""
        while True:
            msg = self.read_message(deadline)
            if msg.get("id") != msg_id:
                continue
            if "error" in msg:
                err = msg["error"] or {}
                raise RpcError(
                    int(err.get("code", protocol.INTERNAL_ERROR)),
                    str(err.get("message", "unknown error")),
                    err.get("data"),
                )
            return msg.get("result")

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


def _unreachable(socket_path: Path, exc: BaseException) -> EngineUnreachable:
    """Phrase a socket failure for an operator at 3 a.m.: what it means, what to do."""
    if isinstance(exc, FileNotFoundError):
        return EngineUnreachable(
            socket_path, "no_socket", "no socket file (is the engine running? `arbctl up`)"
        )
    if isinstance(exc, ConnectionRefusedError):
        return EngineUnreachable(
            socket_path, "refused", "connection refused: stale socket file, no engine listening"
        )
    if isinstance(exc, PermissionError):
        return EngineUnreachable(
            socket_path, "permission", "permission denied (socket owned by another user?)"
        )
    if isinstance(exc, TimeoutError):
        return EngineUnreachable(
            socket_path, "timeout", "no answer in time (engine busy, frozen or stopped)"
        )
    if isinstance(exc, OSError) and "too long" in str(exc):
        return EngineUnreachable(
            socket_path, "path_too_long", "socket path longer than the 108-byte AF_UNIX limit"
        )
    if isinstance(exc, ValueError):  # a line that is not JSON
        return EngineUnreachable(socket_path, "error", f"garbled answer: {exc}")
    return EngineUnreachable(socket_path, "error", f"{type(exc).__name__}: {exc}")


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
            raise _unreachable(self.socket_path, exc) from None
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
            raise _unreachable(self.socket_path, exc) from None
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
                raise _unreachable(self._conn.path, exc) from None
            if msg.get("method") == "event" and isinstance(msg.get("params"), dict):
                yield msg["params"]
