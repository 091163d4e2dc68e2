"""Typed extraction of JSON-RPC params, so every handler rejects bad input the same way.

Invariant: a string a handler gets from here is one clean line of text: valid Unicode (no
lone surrogate, so it encodes as UTF-8 and every database, log and terminal takes it), no
control characters (reasons, names, ids and paths end up in log lines, audit rows and
console cells, one per line), and no longer than its field allows. Why: one "\\ud800"
accepted as a pause reason once wedged the ledger writer for good. Every refusal is
-32602 naming the field, and never echoes an oversized value back whole.
"""

from __future__ import annotations

import math
import time
from typing import Any

from engine import protocol
from engine.protocol import ProtocolError

MAX_REASON = 500
MAX_NAME = 200  # names, ids, topics, periods, client labels
MAX_PATH = 4096  # PATH_MAX
_LIMITS = {"reason": MAX_REASON, "path": MAX_PATH}
PERIODS = ("today", "1h", "24h", "7d", "30d", "all")


def _invalid(message: str) -> ProtocolError:
    return ProtocolError(protocol.INVALID_PARAMS, message)


def unicode_problem(value: str) -> str | None:
    """Why `value` cannot be stored or printed as text (a lone surrogate), or None."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"is not valid Unicode (a lone surrogate at position {exc.start})"
    return None


def line_problem(value: str, limit: int) -> str | None:
    """What is wrong with `value` as one line of at most `limit` characters, or None."""
    if len(value) > limit:
        return f"is {len(value)} characters long; at most {limit}"
    if (problem := unicode_problem(value)) is not None:
        return problem
    if (found := protocol.CONTROL_CHARS.search(value)) is not None:
        code, at = ord(found.group()), found.start()
        return f"holds a control character (U+{code:04X} at position {at}); one line expected"
    return None


def one_line(value: str, name: str, limit: int | None = None) -> str:
    """`value` if it is one clean line for field `name`; -32602 naming the field if not."""
    problem = line_problem(value, limit or _LIMITS.get(name, MAX_NAME))
    if problem is not None:
        raise _invalid(f'"{name}" {problem}')
    return value


def kill_reason(params: dict[str, Any]) -> str:
    """A kill's reason, cleaned rather than refused (`protocol.clean_line`): the halt
    matters more than its words. Only a missing or blank reason is refused."""
    value = params.get("reason")
    text = protocol.clean_line(value, MAX_REASON) if isinstance(value, str) else ""
    if not text:
        raise _invalid('"reason" is required: a non-empty string saying why')
    return text


def reason(params: dict[str, Any]) -> str:
    """State-changing calls must say why: the audit trail is useless without it."""
    value = params.get("reason")
    if not isinstance(value, str) or not value.strip():
        raise _invalid('"reason" is required: a non-empty string saying why')
    return one_line(value.strip(), "reason")


def optional_int(
    params: dict[str, Any], name: str, default: int | None = None, lo: int = 0, hi: int = 1 << 62
) -> int | None:
    value = params.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(f'"{name}" must be an integer, got {type(value).__name__}')
    if not lo <= value <= hi:
        raise _invalid(f'"{name}" must be between {lo} and {hi}')
    return value


def optional_float(params: dict[str, Any], name: str, default: float | None = None) -> float | None:
    value = params.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(f'"{name}" must be a number, got {type(value).__name__}')
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float: no time or timeout is that big
        raise _invalid(f'"{name}" is out of range') from None
    if not math.isfinite(number):
        raise _invalid(f'"{name}" must be a finite number')
    return number


def optional_bool(params: dict[str, Any], name: str, default: bool = False) -> bool:
    value = params.get(name, default)
    if not isinstance(value, bool):
        raise _invalid(f'"{name}" must be true or false, got {type(value).__name__}')
    return value


def optional_str(params: dict[str, Any], name: str, default: str | None = None) -> str | None:
    value = params.get(name, default)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(f'"{name}" must be a string, got {type(value).__name__}')
    return one_line(value, name)


def required_str(params: dict[str, Any], name: str) -> str:
    value = optional_str(params, name)
    if not value:
        raise _invalid(f'"{name}" is required')
    return value


def choice(params: dict[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = optional_str(params, name, default)
    if value not in allowed:
        raise _invalid(f'"{name}" must be one of {", ".join(allowed)}; got {value!r}')
    return value


def topics(params: dict[str, Any]) -> list[str] | None:
    value = params.get("topics")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise _invalid('"topics" must be a list of strings')
    for topic in value:
        one_line(topic, "topics")
    return value


def period_start(period: str, now: float | None = None) -> float:
    """Start of a reporting period; 'today' is since 00:00 UTC (the ledger's day)."""
    now = time.time() if now is None else now
    spans = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
    if period == "all":
        return 0.0
    if period == "today":
        return now - (now % 86400)
    return now - spans[period]
