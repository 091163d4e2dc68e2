"""Typed extraction of JSON-RPC params, so every handler rejects bad input the same way."""

from __future__ import annotations

import time
from typing import Any

from engine import protocol
from engine.protocol import ProtocolError

MAX_REASON = 500
PERIODS = ("today", "1h", "24h", "7d", "30d", "all")


def _invalid(message: str) -> ProtocolError:
    return ProtocolError(protocol.INVALID_PARAMS, message)


def reason(params: dict[str, Any]) -> str:
    """State-changing calls must say why: the audit trail is useless without it."""
    value = params.get("reason")
    if not isinstance(value, str) or not value.strip():
        raise _invalid('"reason" is required: a non-empty string saying why')
    if len(value) > MAX_REASON:
        raise _invalid(f'"reason" is longer than {MAX_REASON} characters')
    return value.strip()


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
    return float(value)


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
    return value


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
