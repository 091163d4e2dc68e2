"""What this machine and the engine's state directory say, without asking the engine.

These are the facts an operator gathers by hand when the socket is silent: is the pid in
`engine.pid` alive (or SIGSTOPped), is a halt persisted, how full is the disk, what was
the engine doing at its last snapshot. The snapshot is read straight from the SQLite
ledger file, read-only, with the stdlib driver: no engine code is imported, so a broken
engine install cannot break the triage of that engine.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from arbctl import process
from engine import protocol

LEDGER_FILE = "ledger.sqlite3"  # the engine's default ([ledger] path unset)
_SIZE_PARTS = {"logs": "logs", "reports": "reports", "incidents": "incidents"}


def halt_marker(state_dir: Path) -> dict[str, Any] | None:
    """The persisted kill latch: an engine started now would come up halted."""
    return protocol.read_halt_marker(state_dir)


def pid_info(state_dir: Path, socket_path: Path) -> dict[str, Any]:
    """`{pid, alive, stopped, engine, proof}` from `<state_dir>/engine.pid` (pid None: no
    file); `engine` only when the pid is proven to be the engine on `socket_path`."""
    pid = process.read_pid(state_dir)
    if pid is None:
        return {"pid": None, "alive": False, "stopped": False, "engine": False, "proof": None}
    alive = process.is_alive(pid)
    proof = process.prove_engine(state_dir, socket_path)
    return {
        "pid": pid,
        "alive": alive,
        "stopped": alive and process.is_stopped(pid),
        "engine": isinstance(proof, process.Proof),
        "proof": proof.evidence if isinstance(proof, process.Proof) else proof.why,
    }


def disk_usage(path: Path) -> dict[str, Any]:
    """The filesystem holding `path` (its nearest existing parent): what `df -h` says.

    Use% as df computes it, used / (used + available): blocks reserved for root are not
    space the engine can fill, so a disk that df calls full is full here too.
    """
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    usage = shutil.disk_usage(probe)
    room = usage.used + usage.free
    return {
        "path": str(probe),
        "total_bytes": usage.total,
        "used_bytes": usage.used,
        "free_bytes": usage.free,
        "used_percent": round(usage.used * 100 / room, 1) if room else None,
    }


def dir_sizes(state_dir: Path) -> dict[str, int]:
    """Bytes under the state dir in total and per part (logs, ledger files, reports, …)."""
    sizes = {"total": _tree_size(state_dir), "ledger": 0}
    for key, name in _SIZE_PARTS.items():
        sizes[key] = _tree_size(state_dir / name)
    for path in state_dir.glob(f"{LEDGER_FILE}*"):  # the file and its -wal / -shm
        sizes["ledger"] += _size(path)
    return sizes


def _tree_size(root: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(root):
        total += sum(_size(Path(folder) / name) for name in files)
    return total


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def last_snapshot(state_dir: Path) -> dict[str, Any]:
    """The newest session snapshot in the SQLite ledger: `{found, path, snapshot|error}`.

    A snapshot with status "running" that is the newest of all means the session never
    stopped cleanly: a crash, a SIGKILL, or an engine still running.
    """
    path = state_dir / LEDGER_FILE
    if not path.is_file():
        return {"found": False, "path": str(path), "error": "no SQLite ledger file here"}
    try:
        row = _read_snapshot(path)
    except sqlite3.Error as exc:
        return {"found": False, "path": str(path), "error": f"unreadable: {exc}"}
    if row is None:
        return {"found": False, "path": str(path), "error": "no snapshot stored yet"}
    session, ts, kind, status, state = row
    return {
        "found": True,
        "path": str(path),
        "snapshot": {
            "session_id": session,
            "ts": ts,
            "kind": kind,
            "status": status,
            "state": _json_object(state),
        },
    }


def _read_snapshot(path: Path) -> tuple[Any, ...] | None:
    uri = f"{path.absolute().as_uri()}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=2.0)
    try:
        return conn.execute(
            "SELECT session_id, ts, kind, status, state FROM session_snapshots "
            "ORDER BY ts DESC LIMIT 1"
        ).fetchone()
    finally:
        conn.close()


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def host() -> dict[str, Any]:
    """`uptime`, load and memory of this machine (Linux /proc; None where unknown)."""
    try:
        load: list[float] | None = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    memory = _meminfo()
    return {
        "hostname": os.uname().nodename,
        "uptime_s": _uptime(),
        "load": load,
        "cpus": os.cpu_count(),
        "memory_total_bytes": memory.get("MemTotal"),
        "memory_available_bytes": memory.get("MemAvailable"),
    }


def _uptime() -> float | None:
    try:
        return float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _meminfo() -> dict[str, int]:
    found: dict[str, int] = {}
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            found[name] = int(parts[0]) * 1024  # kB
    return found
