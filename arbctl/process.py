"""Finding, proving, signalling and waiting for the engine process, when the socket is no help.

Invariant: nothing here signals a process that is not proven to be this engine. A pid
read from a file may be stale and recycled by a stranger — `less /var/log/engine.log`,
an editor in a directory called arbctl — and a command line proves nothing. Proof is
the engine's own pid file (engine/protocol.py): the pid's start time and boot id must
match /proc now, and the socket must agree (its owner by SO_PEERCRED, or the nonce that
`status` answers with). `down`, `kill`'s fallback, `up`'s stale-socket check, the
console and the runbook scripts all ask `prove_engine`, and `signal_engine` re-checks the
proof at the instant it signals.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from arbctl.client import Client
from engine import protocol

_POLL_S = 0.05


@dataclass(frozen=True, slots=True)
class Proof:
    """`pid` is the engine: the identity in its pid file matches the live process."""

    pid: int
    start_ticks: int
    evidence: str


@dataclass(frozen=True, slots=True)
class NotProven:
    """Why nothing may be signalled. `pid` is the refused candidate, if there was one;
    `elsewhere` is the socket of an engine proven by its pid file that serves another
    socket than the one asked about (the operator's socket and state dir disagree)."""

    pid: int | None
    why: str
    elsewhere: str | None = None


def pid_file(state_dir: Path) -> Path:
    return state_dir / protocol.PID_FILE


def read_pid(state_dir: Path) -> int | None:
    """The pid named in `<state_dir>/engine.pid` (proven or not), or None."""
    record = protocol.read_pid_file(state_dir)
    return record.pid if record else None


def prove_engine(
    state_dir: Path, socket_path: Path, instance: str | None = None
) -> Proof | NotProven:
    """Is the process named by the pid file this engine, the one serving `socket_path`?

    `instance` is the nonce an answering engine reported in `status`, when known.
    """
    path = pid_file(state_dir)
    record = protocol.read_pid_file(state_dir)
    if record is None:
        return NotProven(None, f"no pid file at {path}")
    identity = _same_process(record, path)
    if isinstance(identity, NotProven):
        return identity
    return _serves(record, identity, socket_path, instance)


def _same_process(record: protocol.PidRecord, path: Path) -> Proof | NotProven:
    pid = record.pid
    if not record.complete:
        return NotProven(
            pid,
            f"{path} names pid {pid} without a start time or nonce (an older engine's or "
            f"another tool's file): pid {pid} cannot be proven to be the engine",
        )
    if not is_alive(pid):
        return NotProven(pid, f"pid {pid} from {path} is not running (stale pid file)")
    ticks = protocol.process_start_ticks(pid)
    boot = protocol.boot_id()
    reused = record.boot_id and boot and boot != record.boot_id
    if ticks is None or ticks != record.start_ticks or reused:
        return NotProven(
            pid,
            f"pid {pid} from {path} is another process now: its start time is tick {ticks}, "
            f"the engine's was tick {record.start_ticks} (pid reused; stale pid file)",
        )
    return Proof(pid, ticks, f"pid {pid} from {path}, start time tick {ticks} matches /proc")


def _serves(
    record: protocol.PidRecord, proof: Proof, socket_path: Path, instance: str | None
) -> Proof | NotProven:
    """The pid file's engine must be the one behind `socket_path`, not another engine's."""
    pid = proof.pid
    owner = socket_owner(socket_path)
    if owner is not None and owner != pid:
        return NotProven(
            pid,
            f"socket {socket_path} is owned by pid {owner}, not by pid {pid} of the pid "
            "file: --socket and --state-dir name different processes",
        )
    if instance is not None and instance != record.nonce:
        return NotProven(pid, f"the engine on {socket_path} is not the one in the pid file")
    if owner == pid:
        how = f"owns socket {socket_path} (SO_PEERCRED)"
    elif instance is not None:
        how = f"answers on socket {socket_path} with the pid file's nonce"
    elif record.socket == str(socket_path):
        how = f"serves socket {socket_path} per its pid file (socket not connectable now)"
    else:
        return NotProven(
            pid,
            f"engine pid {pid} serves socket {record.socket}, not {socket_path}",
            elsewhere=record.socket,
        )
    return Proof(pid, proof.start_ticks, f"{proof.evidence}; {how}")


def socket_owner(socket_path: Path) -> int | None:
    """The pid listening on `socket_path` (SO_PEERCRED), even if too frozen to answer."""
    return Client(socket_path).peer_pid()


def signal_engine(proof: Proof, sig: signal.Signals) -> str | None:
    """Send `sig` to a proven engine; None on success, else why it was not sent. The
    start time is checked again first: the engine may have exited since it was proven."""
    if protocol.process_start_ticks(proof.pid) != proof.start_ticks:
        return f"pid {proof.pid} is no longer the engine (exited): not signalled"
    try:
        os.kill(proof.pid, sig)
    except ProcessLookupError:
        return "no such process"
    except PermissionError:
        return "permission denied"
    return None


def is_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _proc_state(pid) != "Z"


def is_stopped(pid: int) -> bool:
    """SIGSTOPped (state T): it will not act on SIGTERM until it gets SIGCONT."""
    return _proc_state(pid) in ("T", "t")


def _proc_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may contain spaces: split after the last ')'.
    return stat.rsplit(")", 1)[-1].split()[0]


def wait_for_exit(pid: int, timeout: float, start_ticks: int | None = None) -> bool:
    """Poll until the pid is gone (or, given its start time, is no longer that process);
    True if it exited within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while is_alive(pid) and (
        start_ticks is None or protocol.process_start_ticks(pid) == start_ticks
    ):
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)
    return True


def tail(path: Path, lines: int = 20) -> str:
    """The last lines of a log, for an error message that explains itself."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])
