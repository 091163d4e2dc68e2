"""A small terminal chart: one column per sample, from the right, with its scale.

Textual's Sparkline stretches whatever it has over its width, so a single sample filled
the panel, and it says nothing of its range. Here a column is a sample (a new console
shows a short line growing from the right), equal samples draw a low line (a flat
series is not "full"), and the scale is always said: as `min–max` beside the title in a
one- or two-row chart, as a labelled axis (max at the top, min at the bottom) when the
chart is at least three rows tall and wide enough to spare the labels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text
from textual.widget import Widget

BLOCKS = " ▁▂▃▄▅▆▇█"
AXIS_MIN_HEIGHT = 3
AXIS_MIN_WIDTH = 24
Fmt = Callable[[float], str]


def _levels(samples: Sequence[float], height: int) -> list[int]:
    """Each sample's height in eighths of a row (1 at least: a zero is still drawn)."""
    low, high = min(samples), max(samples)
    span = high - low
    top = height * 8
    if span <= 0:
        return [1] * len(samples)
    return [1 + round((value - low) / span * (top - 1)) for value in samples]


def _plot(samples: Sequence[float], width: int, height: int) -> list[str]:
    shown = list(samples)[-width:] if width > 0 else []
    levels = _levels(shown, height) if shown else []
    pad = " " * (width - len(shown))
    rows = []
    for row in range(height):  # top row first
        floor = (height - 1 - row) * 8
        cells = (BLOCKS[max(0, min(8, level - floor))] for level in levels)
        rows.append(pad + "".join(cells))
    return rows


def chart_lines(samples: Sequence[float], width: int, height: int, fmt: Fmt) -> list[str]:
    """The chart as `height` strings of `width` characters (an axis when there is room)."""
    if height <= 0 or width <= 0:
        return []
    if not samples:
        return [" " * width] * height
    if height < AXIS_MIN_HEIGHT or width < AXIS_MIN_WIDTH:
        return _plot(samples, width, height)
    top, bottom = fmt(max(samples)), fmt(min(samples))
    label = max(len(top), len(bottom))
    plot = _plot(samples, width - label - 1, height)
    out = []
    for row, line in enumerate(plot):
        name = top if row == 0 else bottom if row == height - 1 else ""
        tick = "┤" if name else "│"
        out.append(f"{name:>{label}}{tick}{line}")
    return out


def scale(samples: Sequence[float], fmt: Fmt) -> str:
    """'0.2–1.9ms': the range a compact chart spans (a shared unit said once)."""
    if not samples:
        return ""
    low, high = fmt(min(samples)), fmt(max(samples))
    unit = ""
    while low and high and low[-1] == high[-1] and not low[-1].isdigit():
        unit, low, high = low[-1] + unit, low[:-1], high[:-1]
    return f"{low}–{high}{unit}"


class Chart(Widget):
    """A chart of the samples it was last given, drawn at whatever size it has."""

    DEFAULT_CSS = "Chart { height: 1fr; }"

    def __init__(self, fmt: Fmt = str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.fmt = fmt
        self.samples: list[float] = []

    def set_samples(self, samples: Sequence[float]) -> None:
        fresh = list(samples)
        if fresh != self.samples:
            self.samples = fresh
            self.refresh()

    @property
    def has_axis(self) -> bool:
        size = self.content_size
        return size.height >= AXIS_MIN_HEIGHT and size.width >= AXIS_MIN_WIDTH

    def render(self) -> Text:
        size = self.content_size
        lines = chart_lines(self.samples, size.width, size.height, self.fmt)
        return Text("\n".join(lines), no_wrap=True, overflow="crop")
