"""How the console writes numbers, money and times.

Money arrives as integers in base units and becomes text through `engine.units` (integer
arithmetic, one implementation for every surface) under the one presentation rule the CLI
uses too (`money`); this module holds the console's presets. Times are shown in UTC so
two operators in different time zones (and the snapshot tests) read the same clock.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from engine import units as _units

# The console's presets of the one units module: thousands separators, a decimal point on
# whole amounts, an en dash for "no value" (narrow columns), and + on gains.
units = partial(_units.to_text, separators=True, keep_point=True, missing=_units.EN_DASH)
signed_units = partial(units, plus=True)
# Money as a person reads it: the CLI's presentation rule (`engine.units.human`: thousands
# separators, cents from 100 up, four significant digits below, never a non-zero amount
# shown as zero), so a trade reads the same in `arbctl trades` and on the dashboard.
money = partial(_units.human, missing=_units.EN_DASH)
signed_money = partial(money, plus=True)


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


duration = partial(_units.duration, missing=_units.EN_DASH)
# Head age: tenths under a minute, where freshness matters.
age = partial(_units.duration, tenths=True, missing=_units.EN_DASH)


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
