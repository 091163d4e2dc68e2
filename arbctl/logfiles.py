"""The engine's JSON log files, read the way `arbctl logs` and the runbook commands need.

Stdlib only, and independent of a running engine: a tail, a search or a follow must
work when the engine is down, and rotated files (engine.log.1, .2, ...) read as one log.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

LOG_DIR, LOG_FILE = "logs", "engine.log"
FOLLOW_POLL_S = 0.25
BLOCK = 64 * 1024
ERROR_LEVELS = frozenset({"ERROR", "CRITICAL"})

Record = dict[str, Any]


def log_files(directory: Path) -> list[Path]:
    """engine.log, engine.log.1, engine.log.2, …: newest first (RotatingFileHandler)."""
    rotated = []
    for path in directory.glob(f"{LOG_FILE}.*"):
        suffix = path.name.rsplit(".", 1)[-1]
        if suffix.isdigit():
            rotated.append((int(suffix), path))
    current = directory / LOG_FILE
    return ([current] if current.exists() else []) + [p for _, p in sorted(rotated)]


def last_matching(
    directory: Path,
    match: Callable[[Record], bool],
    limit: int,
    current_end: int | None,
    since: float | None,
) -> list[Record]:
    """The last `limit` matching records (0: all), oldest first. Files are read backwards
    from the newest, so a tail of a big rotated log reads only its end; with --since the
    reading stops at the first record older than it."""
    found: list[Record] = []
    for index, path in enumerate(log_files(directory)):
        end = current_end if index == 0 else None
        for line in _reverse_lines(path, end):
            record = parse(line)
            if since is not None and "raw" not in record and float(record.get("ts") or 0) < since:
                return found[::-1]
            if match(record):
                found.append(record)
                if limit and len(found) >= limit:
                    return found[::-1]
    return found[::-1]


def _reverse_lines(path: Path, end: int | None = None) -> Iterator[str]:
    """The file's complete lines, last first, reading blocks from the end (or `end`)."""
    try:
        handle = path.open("rb")
    except OSError:
        return
    with handle:
        position = handle.seek(0, os.SEEK_END) if end is None else end
        rest = b""
        while position > 0:
            step = min(BLOCK, position)
            position -= step
            handle.seek(position)
            chunk = handle.read(step) + rest
            lines = chunk.split(b"\n")
            rest = lines.pop(0)
            for line in reversed(lines):
                if line.strip():
                    yield line.decode("utf-8", errors="replace")
        if rest.strip():
            yield rest.decode("utf-8", errors="replace")


def parse(line: str) -> Record:
    try:
        record = json.loads(line)
    except ValueError:
        return {"raw": line}
    return record if isinstance(record, dict) else {"raw": line}


def render(record: Record) -> str:
    """`2025-11-21 09:00:01.123 ERROR arbctl.ledger: message` in local time."""
    if "raw" in record:
        return str(record["raw"])
    ts = float(record.get("ts") or 0.0)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) + f".{int(ts * 1000) % 1000:03d}"
    level = str(record.get("level") or "?")
    return f"{stamp} {level:<7} {record.get('logger', '')}: {record.get('msg', '')}"


def open_for_follow(path: Path) -> IO[bytes] | None:
    """The current log, positioned at its end: what is after it is 'new'."""
    try:
        handle = path.open("rb")
    except OSError:
        return None
    handle.seek(0, os.SEEK_END)
    return handle


def follow(path: Path, handle: IO[bytes] | None) -> Iterator[Record]:
    """New records as they are appended; on rotation the old file is drained first,
    then the new one is read from its start. A missing file is waited for."""
    partial = b""
    while True:
        data = b""
        if handle is None:
            handle = _open_from_start(path)
        if handle is not None:
            data = handle.read()
            lines = (partial + data).split(b"\n")
            partial = lines.pop()
            yield from (parse(line.decode("utf-8", "replace")) for line in lines if line.strip())
            if not data:
                newer = _reopen_if_rotated(path, handle)
                partial = partial if newer is handle else b""
                handle = newer
        if not data:
            time.sleep(FOLLOW_POLL_S)


def _open_from_start(path: Path) -> IO[bytes] | None:
    try:
        return path.open("rb")
    except OSError:
        return None


def _reopen_if_rotated(path: Path, handle: IO[bytes]) -> IO[bytes] | None:
    """The same handle while it is still the current file; else the new file (or None)."""
    try:
        current = path.stat()
    except OSError:
        return handle  # between rename and re-create: keep draining the old one
    mine = os.fstat(handle.fileno())
    if current.st_ino == mine.st_ino and current.st_size >= handle.tell():
        return handle
    if current.st_ino == mine.st_ino:  # truncated in place
        handle.seek(0)
        return handle
    handle.close()
    return _open_from_start(path)
