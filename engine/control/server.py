"""The control socket: JSON-RPC 2.0, one object per line, over a Unix domain socket.

Robustness rules, because on-call tools and half-broken scripts talk to this socket:
- nothing a client sends can raise out of here: every failure becomes a JSON-RPC error;
- a line longer than MAX_LINE_BYTES is answered with an error and the connection is
  closed (the rest of the line cannot be framed);
- a client that does not read is never allowed to grow our memory: responses wait for
  the socket to drain (so a pipelining non-reader stops being read), event delivery goes
  through the bus's bounded per-subscriber queue, and a writer stuck for
  `write_timeout` seconds gets the connection closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import select
import socket
import stat
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import protocol
from engine.bus import EventBus, Subscription
from engine.protocol import ProtocolError

log = logging.getLogger("arbctl.control")

_EVENT_BATCH = 512  # events per socket write: one syscall for a burst
_HANGUP_POLL_S = 1.0  # how often a half-closed subscriber is checked for a full hang-up


@dataclass(slots=True)
class Peer:
    """The process on the other end, from SO_PEERCRED: recorded in every audit entry."""

    pid: int
    uid: int
    gid: int


@dataclass(slots=True)
class CallContext:
    peer: Peer
    connection_id: int
    client: str = "unknown"


Handler = Callable[[dict[str, Any], CallContext], Awaitable[Any]]


@dataclass(slots=True)
class _Connection:
    id: int
    peer: Peer
    writer: asyncio.StreamWriter
    subscriptions: dict[int, tuple[Subscription, asyncio.Task[None]]] = field(default_factory=dict)
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class SocketInUse(Exception):
    """Another engine answers on this socket path."""


class ControlServer:
    def __init__(
        self,
        path: Path,
        bus: EventBus,
        write_timeout: float = 10.0,
    ) -> None:
        self.path = path
        self._bus = bus
        self._handlers: dict[str, Handler] = {}
        self._write_timeout = write_timeout
        self._server: asyncio.AbstractServer | None = None
        self._connections: dict[int, _Connection] = {}
        self._conn_ids = itertools.count(1)
        self._sub_ids = itertools.count(1)

    # --- lifecycle ------------------------------------------------------------------
    async def start(self, handlers: dict[str, Handler]) -> None:
        """Listen, serving `handlers` (the method table, complete before the first client)."""
        self._handlers = dict(handlers)
        prepare_socket_path(self.path)
        old_umask = os.umask(0o177)  # the socket is born 0600: no window where it is wider
        try:
            self._server = await asyncio.start_unix_server(
                self._serve, path=str(self.path), limit=protocol.MAX_LINE_BYTES
            )
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o600)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self._connections.values()):
            self._drop(conn)
        if self._server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    @property
    def client_count(self) -> int:
        return len(self._connections)

    # --- one connection ---------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Connection(next(self._conn_ids), _peer_of(writer), writer)
        writer.transport.set_write_buffer_limits(high=1 << 18)
        self._connections[conn.id] = conn
        try:
            if await self._read_loop(reader, conn):
                await self._finish_subscriptions(conn)
            await self._close_gracefully(conn)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:  # the engine must outlive any client
            log.exception("control connection %d failed", conn.id)
        finally:
            self._drop(conn)

    async def _read_loop(self, reader: asyncio.StreamReader, conn: _Connection) -> bool:
        """Serve requests until EOF (returns True) or an oversized line (returns False)."""
        while True:
            try:
                line = await reader.readuntil(b"\n")
            except asyncio.LimitOverrunError:
                await self._reply_error(conn, None, _too_long())
                return False
            except asyncio.IncompleteReadError as exc:
                if exc.partial.strip():  # last line without a newline: still a request
                    await self._handle_line(exc.partial, conn)
                return True
            if line.strip():
                await self._handle_line(line, conn)

    async def _finish_subscriptions(self, conn: _Connection) -> None:
        """EOF may be a half-close (`echo subscribe | socat -t 100000 …`, the on-call
        recipe): the client is still reading, so keep pushing its subscriptions until they
        end, a write fails, or the peer hangs up completely."""
        while pending := [task for _, task in conn.subscriptions.values() if not task.done()]:
            await asyncio.wait(pending, timeout=_HANGUP_POLL_S)
            if _peer_hung_up(conn.writer):
                return

    async def _close_gracefully(self, conn: _Connection) -> None:
        """Flush what is still buffered (the tail of a large reply) before closing."""
        conn.writer.close()
        with contextlib.suppress(ConnectionError, asyncio.TimeoutError):
            await asyncio.wait_for(conn.writer.wait_closed(), self._write_timeout)

    async def _handle_line(self, line: bytes, conn: _Connection) -> None:
        msg: dict[str, Any] | None = None
        try:
            msg = _parse(line)
            value = await self._dispatch(msg, conn)
        except ProtocolError as exc:
            await self._reply_error(conn, msg, exc)
            return
        except Exception as exc:  # a bug in a handler must not take the engine down
            log.exception("handler failed for %r", line[:200])
            internal = ProtocolError(protocol.INTERNAL_ERROR, f"internal error: {exc}")
            await self._reply_error(conn, msg, internal)
            return
        if "id" in msg:  # a notification (no id) gets no reply, per JSON-RPC 2.0
            await self._write(conn, protocol.encode(protocol.result(msg["id"], value)))

    async def _dispatch(self, msg: dict[str, Any], conn: _Connection) -> Any:
        method, params = msg["method"], _params(msg)
        ctx = CallContext(conn.peer, conn.id, _client_label(params))
        if method == "subscribe":
            return self._subscribe(params, conn)
        if method == "unsubscribe":
            return self._unsubscribe(params, conn)
        handler = self._handlers.get(method)
        if handler is None:
            known = ", ".join(sorted([*self._handlers, "subscribe", "unsubscribe"]))
            raise ProtocolError(
                protocol.METHOD_NOT_FOUND, f"unknown method {method!r}; known: {known}"
            )
        return await handler(params, ctx)

    # --- subscriptions ------------------------------------------------------------------
    def _subscribe(self, params: dict[str, Any], conn: _Connection) -> dict[str, Any]:
        topics = params.get("topics")
        since = params.get("since_seq")
        if topics is not None and (
            not isinstance(topics, list) or not all(isinstance(t, str) for t in topics)
        ):
            raise ProtocolError(protocol.INVALID_PARAMS, "topics must be a list of strings")
        if since is not None and (not isinstance(since, int) or isinstance(since, bool)):
            raise ProtocolError(protocol.INVALID_PARAMS, "since_seq must be an integer")
        sub = self._bus.subscribe(topics, since_seq=since)
        sub_id = next(self._sub_ids)
        task = asyncio.create_task(self._pump(sub, conn), name=f"pump-{conn.id}-{sub_id}")
        conn.subscriptions[sub_id] = (sub, task)
        return {"subscription": sub_id, "last_seq": self._bus.last_seq}

    def _unsubscribe(self, params: dict[str, Any], conn: _Connection) -> dict[str, Any]:
        sub_id = params.get("subscription")
        entry = conn.subscriptions.pop(sub_id, None) if isinstance(sub_id, int) else None
        if entry is None:
            raise ProtocolError(protocol.INVALID_PARAMS, f"no subscription {sub_id!r}")
        sub, task = entry
        sub.close()
        task.cancel()
        return {"unsubscribed": sub_id}

    async def _pump(self, sub: Subscription, conn: _Connection) -> None:
        """Move events from the bounded queue to the socket, in batches."""
        try:
            while (event := await sub.next()) is not None:
                batch = [event, *sub.drain(_EVENT_BATCH - 1)]
                await self._write(conn, b"".join(e.line for e in batch))
        except (TimeoutError, ConnectionError):
            self._drop(conn)
        finally:
            sub.close()

    # --- writing ------------------------------------------------------------------------
    async def _write(self, conn: _Connection, data: bytes) -> None:
        async with conn.write_lock:
            if conn.writer.is_closing():
                raise ConnectionResetError("client went away")
            conn.writer.write(data)
            if conn.writer.transport.get_write_buffer_size() == 0:
                return  # the kernel took it all: nothing to wait for (the common case)
            try:
                await asyncio.wait_for(conn.writer.drain(), self._write_timeout)
            except TimeoutError:
                log.warning(
                    "control client %d stalled for %.0fs; closing", conn.id, self._write_timeout
                )
                self._drop(conn)
                raise

    async def _reply_error(
        self, conn: _Connection, msg: dict[str, Any] | None, exc: ProtocolError
    ) -> None:
        """Answer with the request's id; `msg` is None when the line was not a request.

        A valid notification is never answered, even when it fails (JSON-RPC 2.0): a
        reply would be taken for the answer to the client's next request.
        """
        if msg is not None and "id" not in msg:
            return
        msg_id = None if msg is None else msg["id"]
        with contextlib.suppress(ConnectionError, asyncio.TimeoutError):
            await self._write(conn, protocol.encode(protocol.error(msg_id, exc)))

    def _drop(self, conn: _Connection) -> None:
        if self._connections.pop(conn.id, None) is None:
            return
        for sub, task in conn.subscriptions.values():
            sub.close()
            if task is not asyncio.current_task():
                task.cancel()
        conn.subscriptions.clear()
        conn.writer.transport.abort()


# --- helpers ------------------------------------------------------------------------------
def _parse(line: bytes) -> dict[str, Any]:
    try:
        msg = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(protocol.PARSE_ERROR, f"not valid JSON: {exc}") from None
    except RecursionError:  # "[[[[…" within the line limit: JSON, but not one we can read
        raise ProtocolError(protocol.PARSE_ERROR, "JSON nested too deeply") from None
    if not isinstance(msg, dict):
        raise ProtocolError(protocol.INVALID_REQUEST, "a request must be a JSON object")
    if msg.get("jsonrpc") != protocol.JSONRPC:
        raise ProtocolError(protocol.INVALID_REQUEST, 'missing or wrong "jsonrpc": "2.0"')
    if not isinstance(msg.get("method"), str):
        raise ProtocolError(protocol.INVALID_REQUEST, '"method" must be a string')
    msg_id = msg.get("id")
    if msg_id is not None and (isinstance(msg_id, bool) or not isinstance(msg_id, int | str)):
        raise ProtocolError(protocol.INVALID_REQUEST, '"id" must be a string or an integer')
    return msg


def _params(msg: dict[str, Any]) -> dict[str, Any]:
    """Checked after the envelope, so a bad `params` is answered with the request's id."""
    params = msg.get("params")
    if params is not None and not isinstance(params, dict):
        raise ProtocolError(protocol.INVALID_PARAMS, '"params" must be an object (by name)')
    return params or {}


def _too_long() -> ProtocolError:
    return ProtocolError(
        protocol.LINE_TOO_LONG,
        f"request line exceeds {protocol.MAX_LINE_BYTES} bytes; closing connection",
    )


def _client_label(params: dict[str, Any]) -> str:
    client = params.get("client")
    return client[:64] if isinstance(client, str) and client else "unknown"


def _peer_hung_up(writer: asyncio.StreamWriter) -> bool:
    """POLLHUP: the peer closed both directions (a half-close only shows as EOF)."""
    sock = writer.get_extra_info("socket")
    if sock is None or writer.is_closing():
        return True
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLHUP)
    return bool(poller.poll(0))


def _peer_of(writer: asyncio.StreamWriter) -> Peer:
    return _peer_of_socket(writer.get_extra_info("socket"))


def _peer_of_socket(sock: Any) -> Peer:
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        pid, uid, gid = struct.unpack("3i", raw)
        return Peer(pid, uid, gid)
    except (OSError, AttributeError):
        return Peer(-1, -1, -1)


def prepare_socket_path(path: Path) -> None:
    """Make the 0700 directory and clear a stale socket; refuse if an engine answers there."""
    _make_private_dir(path.parent)
    if not path.exists() and not path.is_symlink():
        return
    if not stat.S_ISSOCK(path.lstat().st_mode):
        raise SocketInUse(f"{path} exists and is not a socket; refusing to replace it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        probe.close()
        log.warning("removing stale socket %s left by an engine that is gone", path)
        path.unlink(missing_ok=True)
        return
    except OSError as exc:
        probe.close()
        raise SocketInUse(f"cannot probe {path}: {exc}") from None
    owner = _peer_of_socket(probe).pid
    probe.close()
    raise SocketInUse(f"an engine (pid {owner}) already answers on {path}")


def _make_private_dir(directory: Path) -> None:
    """Force the socket's directory to 0700, unless it is a shared sticky directory.

    `--socket /tmp/engine.sock` must not narrow /tmp itself (as root that would break
    every other user of /tmp); there the 0600 socket alone guards access.
    """
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    if directory.stat().st_mode & stat.S_ISVTX:
        log.warning("socket directory %s is shared (sticky bit); leaving its mode", directory)
        return
    os.chmod(directory, 0o700)
