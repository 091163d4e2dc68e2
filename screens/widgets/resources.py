"""Resources: CPU, memory, loop latency, events/s and today's P&L, each a small chart with
its latest value and its range, so a trend (a leak, a stalling loop, a bleeding day) is
visible at a glance, and its scale known. Tall enough (160x48), each has an axis."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label

from screens import formats
from screens.state import HEADER, RESOURCES, ConsoleModel
from screens.widgets.chart import Chart, Fmt, scale
from screens.widgets.view import VIEW_CLASS, ModelView


class Metric(Vertical):
    """A title with the latest value (and the range, when there is no axis) above a
    chart of the recent samples."""

    def __init__(self, title: str, fmt: Fmt, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.title = title
        # held, not queried: the model may be painted before these are mounted
        self.value = Label(title, classes="metric-value")
        self.chart = Chart(fmt)
        self.latest = ""

    def compose(self) -> ComposeResult:
        yield self.value
        yield self.chart

    def set(self, latest: str, samples: Sequence[float]) -> None:
        self.latest = latest
        self.chart.set_samples(samples)
        self._relabel()

    def on_resize(self) -> None:
        """The label depends on the width (and on whether the chart has an axis)."""
        self.call_after_refresh(self._relabel)

    def _relabel(self) -> None:
        """The longest label that fits: with the range, without it, the value alone."""
        latest, samples = self.latest, self.chart.samples
        if not latest:
            return
        span = "" if self.chart.has_axis else scale(samples, self.chart.fmt)
        first, number = self.title.split()[0], latest.split(" ")[0]
        labels = [f"{self.title} {latest}", f"{first} {latest}", f"{first} {number}", latest]
        if span:
            labels.insert(0, f"{self.title} {latest} ({span})")
        room = self.size.width
        if room <= 0:
            return  # not laid out yet: on_resize labels it
        self.value.update(next((label for label in labels if len(label) <= room), labels[-1]))


MetricSpec = tuple[str, str, Callable[[ConsoleModel], tuple[str, Sequence[float]]]]


def _last(samples: Sequence[float]) -> float | None:
    return samples[-1] if samples else None


def _pnl(model: ConsoleModel) -> tuple[str, Sequence[float]]:
    u = model.units
    amount = model.pnl_today_quote()
    today = formats.signed_money(amount, u.quote_decimals)
    return f"{today} {u.quote_symbol}", model.series.pnl


def _pct(value: float) -> str:
    return f"{value:.0f}%"


def _count(value: float) -> str:
    return f"{value:.0f}"


def _money(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


METRICS: list[MetricSpec] = [
    ("cpu", "CPU", lambda m: (_pct(_last(m.series.cpu) or 0), m.series.cpu)),
    ("rss", "RSS", lambda m: (formats.megabytes(_last(m.series.rss)), m.series.rss)),
    ("loop", "loop", lambda m: (formats.ms(_last(m.series.loop_ms)), m.series.loop_ms)),
    ("eps", "ev/s", lambda m: (_count(_last(m.series.events_per_s) or 0), m.series.events_per_s)),
    ("pnl", "P&L today", _pnl),
]
FORMATS: dict[str, Fmt] = {
    "cpu": _pct,
    "rss": lambda v: formats.megabytes(v),
    "loop": lambda v: formats.ms(v),
    "eps": _count,
    "pnl": _money,
}


class ResourcesPanel(ModelView, Horizontal):
    """The five charts side by side (stacked, each with an axis, when wide)."""

    panels: ClassVar[tuple[str, ...]] = (RESOURCES, HEADER)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(classes=VIEW_CLASS, **kwargs)  # type: ignore[arg-type]
        self.metrics = {
            key: Metric(title, FORMATS[key], id=f"metric-{key}") for key, title, _ in METRICS
        }

    def compose(self) -> ComposeResult:
        yield from self.metrics.values()

    def show(self, model: ConsoleModel) -> None:
        for key, _, read in METRICS:
            latest, samples = read(model)
            self.metrics[key].set(latest, samples)
