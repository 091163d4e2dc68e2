"""Finding, signalling and waiting for the engine process, when the socket is no help.

`kill`'s fallback and `down --force` act on a pid read from a file that may be stale: a
recycled pid belongs to someone else's process, so nothing is signalled unless the pid
is alive and its command line looks like an arbctl engine.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from engine import protocol

_POLL_S = 0.05


def pid_file(state_dir: Path) -> Path:
    return state_dir / protocol.PID_FILE


def read_pid(state_dir: Path) -> int | None:
    """The engine's pid from `<state_dir>/engine.pid`, or None if absent or unreadable."""
    try:
        text = pid_file(state_dir).read_text().strip()
    except OSError:
        return None
    token = text.split()[0] if text else ""
    if token.startswith("{"):  # tolerate a JSON pid file: {"pid": 123, ...}
        import json

        try:
            token = str(json.loads(text).get("pid", ""))
        except (ValueError, AttributeError):
            return None
    return int(token) if token.isdigit() and int(token) > 0 else None


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


def looks_like_engine(pid: int) -> bool:
    """Guard against recycled pids: the command line must mention arbctl or the engine."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists() and is_alive(pid)  # no procfs: trust it
    except OSError:
        return False
    return b"arbctl" in cmdline or b"engine" in cmdline


def signal_pid(pid: int, sig: signal.Signals) -> str | None:
    """Send `sig`; None on success, else why it could not be sent."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return "no such process"
    except PermissionError:
        return "permission denied"
    return None


def wait_for_exit(pid: int, timeout: float) -> bool:
    """Poll until the pid is gone; True if it exited within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while is_alive(pid):
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
