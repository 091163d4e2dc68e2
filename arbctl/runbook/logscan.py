"""The engine's JSON logs as evidence: error counts, top error patterns, freshness.

The runbooks grep logs (`… | grep -i error | sort | uniq -c | sort -rn | head`). The
reading itself is `arbctl logs`' (arbctl/logfiles.py: rotated files as one
stream, read backwards, stopping at --since), reused here; what this module adds is the
`uniq -c` step done properly: messages that differ only in numbers, ids and addresses
are one pattern, so "ledger unavailable: … (812 rows kept)" and "(813 rows kept)" count
together.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from arbctl import logfiles

Record = dict[str, Any]
TOP_PATTERNS = 10
_PATTERN_CHARS = 160

_HEX = re.compile(r"0x[0-9a-fA-F]+")
_ID = re.compile(r"\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{6,}\b")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def log_dir(state_dir: Path) -> Path:
    return state_dir / logfiles.LOG_DIR


def records_since(
    state_dir: Path, since: float | None, match: Callable[[Record], bool] | None = None
) -> list[Record]:
    """Every record at or after `since` (None: all), oldest first, rotated files included."""
    return logfiles.last_matching(log_dir(state_dir), match or _any, 0, None, since)


def last_records(state_dir: Path, count: int) -> list[Record]:
    """The last `count` records, oldest first: `arbctl logs --tail N`."""
    return logfiles.last_matching(log_dir(state_dir), _any, count, None, None)


def _any(record: Record) -> bool:
    return True


def is_error(record: Record) -> bool:
    return record.get("level") in logfiles.ERROR_LEVELS


def render(record: Record) -> str:
    """The line `arbctl logs` prints for a record (local time, level, logger, message)."""
    return logfiles.render(record)


def pattern(message: str) -> str:
    """The message with its variable parts (addresses, ids, numbers) folded away."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    text = _NUMBER.sub("N", _ID.sub("<id>", _HEX.sub("<hex>", first)))
    return text[:_PATTERN_CHARS]


def top_patterns(records: list[Record], limit: int = TOP_PATTERNS) -> list[dict[str, Any]]:
    """`sort | uniq -c | sort -rn | head`: the most frequent patterns, with an example."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for record in records:
        msg = str(record.get("msg", record.get("raw", "")))
        key = (str(record.get("logger", "")), pattern(msg))
        group = groups.setdefault(
            key, {"logger": key[0], "pattern": key[1], "count": 0, "example": msg[:500]}
        )
        group["count"] += 1
        group["last_ts"] = record.get("ts")
        group["level"] = record.get("level")
    ranked = sorted(groups.values(), key=lambda g: (-g["count"], str(g["pattern"])))
    return ranked[:limit]


def error_summary(state_dir: Path, since: float, limit: int = TOP_PATTERNS) -> dict[str, Any]:
    """ERROR and CRITICAL records since `since`: count and top patterns."""
    errors = records_since(state_dir, since, is_error)
    return {
        "since": since,
        "count": len(errors),
        "critical": sum(r.get("level") == "CRITICAL" for r in errors),
        "top": top_patterns(errors, limit),
        "files": [p.name for p in logfiles.log_files(log_dir(state_dir))],
    }


def freshness(state_dir: Path) -> dict[str, Any]:
    """When the live log was last written: "logs not updated → engine not running"."""
    path = log_dir(state_dir) / logfiles.LOG_FILE
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return {"path": str(path), "exists": False, "mtime": None, "age_s": None}
    return {
        "path": str(path),
        "exists": True,
        "mtime": mtime,
        "age_s": round(max(0.0, time.time() - mtime), 1),
    }


def oldest_ts(state_dir: Path) -> float | None:
    """The first record's time in the oldest rotated file: how far log history reaches."""
    files = logfiles.log_files(log_dir(state_dir))
    if not files:
        return None
    try:
        with files[-1].open("r", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                record = logfiles.parse(line)
                if "ts" in record:
                    return float(record["ts"])
    except (OSError, ValueError):
        return None
    return None
