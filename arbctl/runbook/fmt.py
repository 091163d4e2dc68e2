"""Display formats shared by checklists, triage, reports and incidents.

Only for people: the --json documents keep raw numbers (base-unit integers, epoch
seconds). Token amounts go through `engine.units` (integers, never floats), so a displayed profit is
the ledger's number with a decimal point put in, not a rounded approximation of it.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from engine import units

_SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def stamp(ts: float | None) -> str:
    """Local time, to the second, with the date: reports outlive the day they were made."""
    if not ts:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def clock_hm(ts: float) -> str:
    """`14:05` in UTC: the ledger's day runs 00:00–24:00 UTC, and so do the day's charts."""
    return time.strftime("%H:%M", time.gmtime(ts))


def size(count: int | None) -> str:
    if count is None:
        return "—"
    value = float(count)
    for unit in _SIZE_UNITS:
        if value < 1024 or unit == _SIZE_UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"


# `+1449.052272 USDC`: gains marked, every significant digit (engine.units does the math).
tokens = partial(units.tokens, plus=True)


def pct(rate: Any) -> str:
    """A 0..1 ratio as a percentage; `—` when there is none (no trades)."""
    return "—" if rate is None else f"{float(rate) * 100:.1f} %"


def gwei(wei: Any) -> str:
    return "—" if not isinstance(wei, int | float) else f"{wei / 1e9:.1f} gwei"


def audit(entry: dict[str, Any]) -> str:
    """`pause by uid 1000 (arbctl-cli): gas spike [ok]`: one audit entry as a sentence."""
    return (
        f"{entry.get('action')} by uid {entry.get('uid')} ({entry.get('client')}): "
        f"{entry.get('reason')} [{entry.get('outcome')}]"
    )


def halt(marker: dict[str, Any]) -> str:
    """Who halted, how, when and why: the halt marker's four fields as one sentence."""
    return (
        f"halt by uid {marker.get('uid')} via {marker.get('source')} at "
        f"{stamp(marker.get('ts'))}: {marker.get('reason')}"
    )
