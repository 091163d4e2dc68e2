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


AXIS_HEIGHT = 6


def axis_chart(
    values: Sequence[float | None],
    unit: str,
    *,
    start: str,
    end: str,
    height: int = AXIS_HEIGHT,
    digits: int = 2,
) -> list[str]:
    """A small column chart with its scale: the max on the top row, the min on the bottom
    row, and the time axis under it (`start` … `end`). One column per value, in eighths of
    a row; the smallest value still shows as `▁`, a missing one as `·` on the base line.

        max 1,204.50 USDC ┤          ▂▄▆█
                          │      ▁▃▅▇████
        min -12.00 USDC   ┤▁▂▃▄▅▆████████
                           00:00     14:05
    """
    known = [v for v in values if v is not None]
    if not known:
        return ["no data"]
    low, high = min(known), max(known)
    labels = (f"max {high:,.{digits}f} {unit}".rstrip(), f"min {low:,.{digits}f} {unit}".rstrip())
    width = max(len(label) for label in labels)
    eighths = [None if v is None else _eighths(v, low, high, height) for v in values]
    lines = []
    for row in range(height):
        level = height - 1 - row  # rows above the base line
        cells = "".join(_cell(e, level) for e in eighths)
        label = labels[0] if row == 0 else labels[1] if row == height - 1 else ""
        tick = "┤" if label else "│"
        lines.append(f"{label:<{width}} {tick}{cells}")
    gap = max(1, len(values) - len(start) - len(end))
    lines.append(f"{'':<{width}}  {start}{' ' * gap}{end}")
    return lines


def _eighths(value: float, low: float, high: float, height: int) -> int:
    """The column's height in eighths of a row: 1 (the minimum) to height * 8."""
    if high == low:
        return height * 4
    return 1 + round((value - low) / (high - low) * (height * 8 - 1))


def _cell(eighths: int | None, level: int) -> str:
    if eighths is None:
        return MISSING if level == 0 else " "
    filled = min(8, max(0, eighths - level * 8))
    return SPARK[filled - 1] if filled else " "
