"""Terminal charts for reports: Unicode block sparklines and horizontal bars.

Plain text on purpose: a report is read over SSH, piped into mail, pasted into a ticket
or kept as a markdown file, and a chart that is only characters survives all of them.
Missing values (a bucket with no data) are drawn as `·`, never as zero: "no data" and
"nothing happened" are different answers.
"""

from __future__ import annotations

from collections.abc import Sequence

SPARK = "▁▂▃▄▅▆▇█"
EIGHTHS = " ▏▎▍▌▋▊▉"
FULL = "█"
MISSING = "·"
NEGATIVE = "░"
BAR_WIDTH = 40


def sparkline(values: Sequence[float | None]) -> str:
    """One character per value, scaled between the smallest and largest known value."""
    known = [v for v in values if v is not None]
    if not known:
        return MISSING * len(values)
    low, high = min(known), max(known)
    span = high - low
    out = []
    for value in values:
        if value is None:
            out.append(MISSING)
        elif span == 0:
            out.append(SPARK[len(SPARK) // 2] if high else SPARK[0])
        else:
            out.append(SPARK[round((value - low) / span * (len(SPARK) - 1))])
    return "".join(out)


def bar(value: float, top: float, width: int = BAR_WIDTH) -> str:
    """A bar `value / top` of `width` characters, in eighths of a character."""
    if top <= 0 or value <= 0:
        return ""
    eighths = round(min(value, top) / top * width * 8)
    full, rest = divmod(eighths, 8)
    return FULL * full + (EIGHTHS[rest] if rest else "")


def bars(
    rows: Sequence[tuple[str, float | None]],
    unit: str = "",
    width: int = BAR_WIDTH,
    digits: int = 0,
) -> list[str]:
    """`label │█████▌ 12 unit` per row. A negative value (a loss) is drawn in a lighter
    shade `░░░` of its size and keeps its sign, so a losing bucket is never hidden."""
    known = [abs(v) for _, v in rows if v is not None]
    top = max(known, default=0.0)
    label_width = max((len(label) for label, _ in rows), default=0)
    lines = []
    for label, value in rows:
        if value is None:
            lines.append(f"{label:<{label_width}} │{MISSING} no data")
            continue
        drawn = bar(value, top, width) if value >= 0 else _negative(value, top, width)
        lines.append(f"{label:<{label_width}} │{drawn} {value:,.{digits}f} {unit}".rstrip())
    return lines


def _negative(value: float, top: float, width: int) -> str:
    return NEGATIVE * max(1, round(abs(value) / top * width))
