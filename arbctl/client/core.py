"""What every client of the control socket shares: framing, answers, errors, wording.

The CLI (synchronous, `sync.py`) and the console (asyncio, `aio.py`) speak the same
protocol; everything that does not depend on how bytes are read lives here, once, so a
protocol change is made in one place. Two errors cover every failure, so callers choose an
exit code or a banner without knowing about sockets: `EngineUnreachable` (nobody answered)
and `RpcError` (the engine answered "no").

Stdlib only, and no asyncio: `arbctl status` imports this on every call.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine import protocol
from engine.errors import ArbctlError

DEFAULT_TIMEOUT_S = 5.0
# A line limit for readers: the engine refuses request lines over MAX_LINE_BYTES and its
# own lines are smaller, so twice that is plenty and still bounded.
READ_LIMIT = 2 * protocol.MAX_LINE_BYTES


class ClientError(ArbctlError):
    """A call to the engine did not produce a result."""


class EngineUnreachable(ClientError):
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


class RpcError(ClientError):
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


def request_line(method: str, params: dict[str, Any] | None, msg_id: int) -> bytes:
    return protocol.encode(protocol.request(method, params, id=msg_id))


def parse_line(line: bytes) -> dict[str, Any] | None:
    """One line from the engine as a JSON object; None for anything that is not one."""
    try:
        msg = json.loads(line)
    except ValueError:
        return None
    return msg if isinstance(msg, dict) else None


def answer_to(msg: dict[str, Any], msg_id: int) -> tuple[bool, Any]:
    """(True, result) if `msg` answers `msg_id`; raises RpcError for an error answer;
    (False, None) for anything else (pushed events, answers to other calls)."""
    if msg.get("id") != msg_id:
        return False, None
    if "error" in msg:
        err = msg["error"] if isinstance(msg["error"], dict) else {"message": msg["error"]}
        raise RpcError(
            int(err.get("code", protocol.INTERNAL_ERROR)),
            str(err.get("message", "unknown error")),
            err.get("data"),
        )
    return True, msg.get("result")


def event_params(msg: dict[str, Any] | None) -> dict[str, Any] | None:
    """The params `{topic, seq, ts, data}` of an event message, or None for anything else."""
    if msg is None or msg.get("method") != "event":
        return None
    params = msg.get("params")
    return params if isinstance(params, dict) else None


def closed(socket_path: Path) -> EngineUnreachable:
    return EngineUnreachable(socket_path, "closed", "connection closed by the engine")


def unreachable(socket_path: Path, exc: BaseException) -> EngineUnreachable:
    """Phrase a socket failure for an operator at 3 a.m.: what it means, what to do."""
    if isinstance(exc, EngineUnreachable):
        return exc
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
    if isinstance(exc, ConnectionResetError | BrokenPipeError | EOFError):
        return EngineUnreachable(socket_path, "closed", "the engine dropped the connection")
    if isinstance(exc, OSError) and "too long" in str(exc):
        return EngineUnreachable(
            socket_path, "path_too_long", "socket path longer than the 108-byte AF_UNIX limit"
        )
    if isinstance(exc, ValueError):  # a line that is not JSON
        return EngineUnreachable(socket_path, "error", f"garbled answer: {exc}")
    return EngineUnreachable(socket_path, "error", f"{type(exc).__name__}: {exc}")


def audited(reason: str, client: str, **params: Any) -> dict[str, Any]:
    """Params of a state-changing call: the reason, and who we are for the audit trail."""
    return {"reason": reason, "client": client, **params}
