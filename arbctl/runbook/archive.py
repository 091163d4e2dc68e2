"""The evening log archive: gzip copies of the day's logs, old copies pruned.

Runbook 2 copies `logs/*.log` to `logs/archive/<day>_*.log` and gzips them; runbook 1
deletes archives older than 30 days. Both done here with two rules that the shell
version breaks: the live log is only ever read (the engine keeps its handle on it, and
`RotatingFileHandler` does the rotating), and a copy appears under its final name only
once complete, so an interrupted run never leaves a truncated archive that looks whole.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

ARCHIVE_DIR = "archive"
DAY_S = 86400.0
_LOG_NAME = re.compile(r".+\.log(\.\d+)?$")  # engine.log, engine.log.3, engine.stdio.log
_DAY_PREFIX = re.compile(r"^(\d{4}-\d{2}-\d{2})_")


def archive_logs(log_dir: Path, retention_days: int, now: float | None = None) -> dict[str, Any]:
    """Copy every log file in `log_dir` to `archive/<YYYY-MM-DD>_<name>.gz` (local day,
    as `date +%Y-%m-%d`), then delete archives older than `retention_days` (0: keep all)."""
    moment = time.time() if now is None else now
    day = time.strftime("%Y-%m-%d", time.localtime(moment))
    dest = log_dir / ARCHIVE_DIR
    sources = _logs(log_dir)
    if sources:  # no logs, no archive directory: never create a state dir by accident
        dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    archived = [_gzip_copy(source, dest / f"{day}_{source.name}.gz") for source in sources]
    pruned = prune(dest, retention_days, moment) if retention_days > 0 and dest.is_dir() else []
    return {
        "dir": str(dest),
        "day": day,
        "retention_days": retention_days,
        "archived": archived,
        "pruned": pruned,
    }


def _logs(log_dir: Path) -> list[Path]:
    if not log_dir.is_dir():
        return []
    return sorted(p for p in log_dir.iterdir() if p.is_file() and _LOG_NAME.match(p.name))


def _gzip_copy(source: Path, target: Path) -> dict[str, Any]:
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        with source.open("rb") as src, gzip.open(partial, "wb") as out:
            shutil.copyfileobj(src, out)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return {
        "source": str(source),
        "archive": str(target),
        "bytes": source.stat().st_size,
        "compressed_bytes": target.stat().st_size,
    }


def prune(dest: Path, retention_days: int, now: float) -> list[str]:
    """Delete archives whose day (from the name, else the file's mtime) is older than the
    retention. Only `*.gz` files in the archive directory are ever considered."""
    cutoff = now - retention_days * DAY_S
    removed = []
    for path in sorted(dest.glob("*.gz")):
        if _archived_at(path) < cutoff:
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


def _archived_at(path: Path) -> float:
    match = _DAY_PREFIX.match(path.name)
    if match:
        try:  # the end of that day: a file archived "today" is never older than a day
            return time.mktime(time.strptime(match[1], "%Y-%m-%d")) + DAY_S
        except ValueError:
            pass
    return path.stat().st_mtime
