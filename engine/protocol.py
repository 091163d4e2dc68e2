"""The control socket's wire contract, shared by the engine and every client.

Stdlib-only on purpose: `arbctl status` imports this module and must answer in about a
tenth of a second, so nothing heavy may ever be imported from here.

Framing is one JSON-RPC 2.0 object per line (like geth's IPC), so `socat` and `jq` work
for on-call triage. See docs/protocol.md for the prose version of this file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import ArbctlError

JSONRPC = "2.0"

# A request line longer than this is refused without being parsed; the connection is
# then closed because the rest of the oversized line cannot be framed reliably.
MAX_LINE_BYTES = 1 << 20

# One-line text fields (a reason, a name) may not hold these: C0 and C1 controls, DEL, and
# the Unicode line and paragraph separators. The engine refuses them with -32602, except
# in a kill, whose text is cleaned with `clean_line` instead: a halt is never refused over
# its words.
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_line(text: str, limit: int | None = None) -> str:
    """`text` as one line of valid Unicode: controls and line breaks become spaces, runs of
    white space one space, a byte that is not UTF-8 (argv keeps it as a lone surrogate) or
    a lone surrogate U+FFFD; cut to `limit` characters with an ellipsis."""
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a lone surrogate that is not an escaped byte
        text = _SURROGATES.sub("\ufffd", text)
    text = " ".join(CONTROL_CHARS.sub(" ", text).split())
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 1)] + "…"
    return text


# --- error codes (JSON-RPC 2.0 reserved range, plus application codes) -----------------
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# application errors
LINE_TOO_LONG = -32001
INVALID_STATE = -32002  # e.g. resume while running
NOT_FOUND = -32003  # e.g. unknown trade id
UNAVAILABLE = -32004  # a part is not configured or not reachable (e.g. ledger down)

ERROR_NAMES = {
    PARSE_ERROR: "parse_error",
    INVALID_REQUEST: "invalid_request",
    METHOD_NOT_FOUND: "method_not_found",
    INVALID_PARAMS: "invalid_params",
    INTERNAL_ERROR: "internal_error",
    LINE_TOO_LONG: "line_too_long",
    INVALID_STATE: "invalid_state",
    NOT_FOUND: "not_found",
    UNAVAILABLE: "unavailable",
}

# --- engine states ---------------------------------------------------------------------
STARTING = "starting"
RUNNING = "running"
PAUSED = "paused"
HALTED = "halted"
STOPPING = "stopping"
STATES = (STARTING, RUNNING, PAUSED, HALTED, STOPPING)

# --- event topics ----------------------------------------------------------------------
TOPIC_STATE = "state"
TOPIC_AUDIT = "audit"
TOPIC_HEARTBEAT = "heartbeat"
TOPIC_OPPORTUNITY = "opportunity"
TOPIC_TRADE = "trade"
TOPIC_BLOCK = "block"
TOPIC_GUARD = "guard_trigger"
TOPIC_PROVIDER = "provider"
TOPIC_RESOURCES = "resources"
TOPIC_LOG = "log"
TOPIC_ALERT = "alert"  # an alert fired, was re-sent, or resolved (docs/observability.md)
TOPIC_LATCH = "latch"  # the kill latch: halted, and whether it is persisted yet
# Sent to one subscriber only, when its queue overflowed: it must resync (re-read state
# and resubscribe with since_seq) because events were dropped for it.
TOPIC_LAGGED = "lagged"

# --- persisted halt marker -------------------------------------------------------------
# The kill latch lives in this file under the state directory. `arbctl kill` writes it
# itself when the engine does not answer, so its format is part of the contract.
HALT_FILE = "halt.json"
# The engine's identity, written once its socket listens (see "the pid file" below).
PID_FILE = "engine.pid"


class ProtocolError(ArbctlError):
    """A JSON-RPC error, raised on either side of the socket."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_error(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            err["data"] = self.data
        return err


# --- paths -----------------------------------------------------------------------------
def runtime_dir() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base:
        return Path(base) / "arbctl"
    return Path(f"/tmp/arbctl-{os.getuid()}")


def default_socket_path() -> Path:
    """`--socket` beats ARBCTL_SOCKET beats the XDG runtime directory."""
    env = os.environ.get("ARBCTL_SOCKET")
    if env:
        return Path(env)
    return runtime_dir() / "engine.sock"


def default_state_dir() -> Path:
    env = os.environ.get("ARBCTL_STATE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "arbctl"


# --- framing ---------------------------------------------------------------------------
def encode(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), default=_json_default).encode() + b"\n"


def _json_default(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def request(method: str, params: dict[str, Any] | None = None, id: int = 1) -> dict[str, Any]:
    msg: dict[str, Any] = {"jsonrpc": JSONRPC, "id": id, "method": method}
    if params:
        msg["params"] = params
    return msg


def result(id: Any, value: Any) -> dict[str, Any]:
    return {"jsonrpc": JSONRPC, "id": id, "result": value}


def error(id: Any, exc: ProtocolError) -> dict[str, Any]:
    return {"jsonrpc": JSONRPC, "id": id, "error": exc.to_error()}


def event_notification(topic: str, seq: int, ts: float, data: Any) -> dict[str, Any]:
    return {
        "jsonrpc": JSONRPC,
        "method": "event",
        "params": {"topic": topic, "seq": seq, "ts": ts, "data": data},
    }


# --- the persisted halt marker ---------------------------------------------------------
def write_halt_marker(state_dir: Path, reason: str, uid: int, source: str) -> dict[str, Any]:
    """Persist the kill latch durably (write, fsync, rename) before anyone acknowledges it.

    Used by the engine on `kill` and by `arbctl kill` itself when the engine does not
    answer; an engine that starts while the marker exists comes up halted.
    """
    import time

    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    record = {"reason": reason, "uid": uid, "source": source, "ts": time.time()}
    target = state_dir / HALT_FILE
    tmp = target.with_suffix(".tmp")
    try:
        _write_synced(tmp, json.dumps(record).encode())
        os.replace(tmp, target)
    except OSError:
        with contextlib.suppress(OSError):  # a full disk keeps no half-written file
            tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(state_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return record


def _write_synced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:  # a short write is not an error; keep writing until all is out
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def read_halt_marker(state_dir: Path) -> dict[str, Any] | None:
    """The persisted halt, or None. A marker that cannot be parsed still means halted."""
    try:
        raw = (state_dir / HALT_FILE).read_text()
    except FileNotFoundError:
        return None
    try:
        record = json.loads(raw)
        if isinstance(record, dict) and "reason" in record:
            return record
    except ValueError:
        pass
    return {"reason": "halt marker present but unreadable", "uid": -1, "source": "unknown"}


def clear_halt_marker(state_dir: Path) -> None:
    (state_dir / HALT_FILE).unlink(missing_ok=True)


# --- the pid file ----------------------------------------------------------------------
# A pid alone can be recycled by a stranger, so the engine records what no other process
# can share: its start time (clock ticks since boot, field 22 of /proc/PID/stat) and this
# boot's id, plus a random nonce that `status` repeats as `instance`. Clients signal a pid
# only once these match (arbctl/process.py `prove_engine`).
@dataclass(frozen=True, slots=True)
class PidRecord:
    pid: int
    start_ticks: int | None = None
    boot_id: str | None = None
    nonce: str | None = None
    socket: str | None = None

    @property
    def complete(self) -> bool:
        return self.start_ticks is not None and bool(self.nonce)


def process_start_ticks(pid: int) -> int | None:
    """When `pid` started, in clock ticks since boot; None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: count after the last ')'.
    after = stat.rsplit(")", 1)[-1].split()
    try:
        return int(after[19])  # field 22 of the line; `after` starts at field 3
    except (IndexError, ValueError):
        return None


def boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def write_pid_file(state_dir: Path, socket_path: Path | str) -> PidRecord:
    """This process's identity, written atomically (0600) to `<state_dir>/engine.pid`."""
    import secrets

    pid = os.getpid()
    record = PidRecord(
        pid, process_start_ticks(pid), boot_id(), secrets.token_hex(16), str(socket_path)
    )
    path = state_dir / PID_FILE
    tmp = path.with_name(PID_FILE + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, (json.dumps(_record_dict(record)) + "\n").encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return record


def _record_dict(record: PidRecord) -> dict[str, Any]:
    return {
        "pid": record.pid,
        "start_ticks": record.start_ticks,
        "boot_id": record.boot_id,
        "nonce": record.nonce,
        "socket": record.socket,
    }


def read_pid_file(state_dir: Path) -> PidRecord | None:
    """The pid file, or None if absent or unreadable. A bare pid (an older engine's file)
    comes back incomplete: it names a pid but proves nothing about it."""
    try:
        text = (state_dir / PID_FILE).read_text().strip()
    except OSError:
        return None
    if text.isdigit():
        return PidRecord(int(text)) if int(text) > 0 else None
    try:
        raw = json.loads(text)
        pid = raw["pid"]
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return None
    return PidRecord(
        pid,
        _typed(raw.get("start_ticks"), int),
        _typed(raw.get("boot_id"), str),
        _typed(raw.get("nonce"), str),
        _typed(raw.get("socket"), str),
    )


def _typed(value: Any, kind: type) -> Any:
    return value if isinstance(value, kind) and not isinstance(value, bool) else None


def remove_pid_file(state_dir: Path, nonce: str | None) -> None:
    """Remove the pid file at exit, unless another engine has written its own since."""
    current = read_pid_file(state_dir)
    if current is not None and current.nonce == nonce:
        (state_dir / PID_FILE).unlink(missing_ok=True)
