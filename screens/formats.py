"""How the console writes numbers, money and times.

Money arrives as integers in base units and is only ever turned into text here, with
integer arithmetic: a float would print 0.1 + 0.2 USDC as 0.30000000000000004 and, worse,
round a whale's balance. Times are shown in UTC so two operators in different time zones
(and the snapshot tests) read the same clock.
"""

from __future__ import annotations

import time
from typing import Any


def units(amount: int | None, decimals: int, places: int | None = None) -> str:
    """`amount` base units as a decimal string, e.g. (1_234_567, 6, 2) → "1.23".

    `places` rounds half away from zero; None keeps every significant digit.
    """
    if amount is None:
        return "–"
    sign = "-" if amount < 0 else ""
    magnitude = abs(int(amount))
    if places is not None and places < decimals:
        step = 10 ** (decimals - places)
        magnitude = (magnitude + step // 2) // step
        decimals = places
    whole, frac = divmod(magnitude, 10**decimals) if decimals else (magnitude, 0)
    if decimals == 0:
        return f"{sign}{whole:,}"
    digits = str(frac).rjust(decimals, "0")
    if places is None:
        digits = digits.rstrip("0") or "0"
    if magnitude == 0:
        sign = ""
    return f"{sign}{whole:,}.{digits}"


def signed_units(amount: int | None, decimals: int, places: int | None = None) -> str:
    """Like `units`, with an explicit + on gains so a glance tells profit from loss."""
    text = units(amount, decimals, places)
    return f"+{text}" if amount is not None and amount > 0 else text


def clock(ts: float | None) -> str:
    """HH:MM:SS in UTC, or a dash for 'never'."""
    if not ts:
        return "–"
    return time.strftime("%H:%M:%S", time.gmtime(float(ts)))


def stamp(ts: float | None) -> str:
    """Full UTC date and time, for detail views."""
    if not ts:
        return "–"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(ts))) + "Z"


def duration(seconds: float | None) -> str:
    """A compact age or uptime: 42s, 7m05s, 3h12m, 2d04h."""
    if seconds is None:
        return "–"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def age(seconds: float | None) -> str:
    """Head age with one decimal under a minute: freshness matters at that scale."""
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{max(0.0, seconds):.1f}s"
    return duration(seconds)


def megabytes(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value / 1e6:.0f}MB"


def ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f}ms" if value >= 10 else f"{value:.1f}ms"


def percent(value: float | None) -> str:
    """A ratio (0.93) as a percentage."""
    if value is None:
        return "–"
    return f"{value * 100:.0f}%"


def short(text: Any, width: int) -> str:
    """Cut long ids and hashes with an ellipsis so columns keep their width."""
    value = "" if text is None else str(text)
    return value if len(value) <= width else value[: max(1, width - 1)] + "…"


def tail(text: Any, width: int) -> str:
    """Keep the end of ids whose start is shared ("sim-1a1fe96f0b7-000042" → "…7-000042")."""
    value = "" if text is None else str(text)
    return value if len(value) <= width else "…" + value[-(width - 1) :]
