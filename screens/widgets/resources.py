"""Resources: CPU, memory, loop latency, events/s and P&L, each as a sparkline with its
latest value, so a trend (a leak, a stalling loop, a bleeding day) is visible at a glance."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline

from screens import formats
from screens.state import HEADER, RESOURCES, ConsoleModel
from screens.widgets.view import VIEW_CLASS, ModelView


class Metric(Vertical):
    """A title with the latest value above a sparkline of the recent samples."""

    def __init__(self, title: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.title = title
        # held, not queried: the model may be painted before these are mounted
        self.value = Label(title, classes="metric-value")
        self.sparkline = Sparkline([], summary_function=max)

    def compose(self) -> ComposeResult:
        yield self.value
        yield self.sparkline

    def set(self, latest: str, samples: Sequence[float]) -> None:
        self.value.update(f"{self.title} {latest}")
        self.sparkline.data = list(samples)


MetricSpec = tuple[str, str, Callable[[ConsoleModel], tuple[str, Sequence[float]]]]


def _last(samples: Sequence[float]) -> float | None:
    return samples[-1] if samples else None


def _pnl(model: ConsoleModel) -> tuple[str, Sequence[float]]:
    u = model.units
    return formats.signed_units(model.pnl_today_quote(), u.quote_decimals, 2), model.series.pnl


METRICS: list[MetricSpec] = [
    ("cpu", "CPU", lambda m: (f"{_last(m.series.cpu) or 0:.0f}%", m.series.cpu)),
    ("rss", "RSS", lambda m: (formats.megabytes(_last(m.series.rss)), m.series.rss)),
    ("loop", "loop", lambda m: (formats.ms(_last(m.series.loop_ms)), m.series.loop_ms)),
    ("eps", "ev/s", lambda m: (f"{_last(m.series.events_per_s) or 0:.0f}", m.series.events_per_s)),
    ("pnl", "P&L", _pnl),
]


class ResourcesPanel(ModelView, Horizontal):
    """The five sparklines side by side."""

    panels: ClassVar[tuple[str, ...]] = (RESOURCES, HEADER)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(classes=VIEW_CLASS, **kwargs)  # type: ignore[arg-type]
        self.metrics = {key: Metric(title, id=f"metric-{key}") for key, title, _ in METRICS}

    def compose(self) -> ComposeResult:
        yield from self.metrics.values()

    def show(self, model: ConsoleModel) -> None:
        for key, _, read in METRICS:
            latest, samples = read(model)
            self.metrics[key].set(latest, samples)
