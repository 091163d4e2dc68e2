"""Anomalies: a value far outside what the same series has recently been.

The evening checklist asks "any anomalies today?", and the runbook's answer is to review
each one. A fixed threshold cannot say "unusual" for numbers whose normal range depends
on the market (profit per trade, slippage), so each series is judged against its own
recent past with a robust z-score: the distance from the rolling median in units of the
median absolute deviation (Iglewicz & Hoaglin's modified z-score, 0.6745·(x − median) /
MAD, flagged above 3.5 by default). Median and MAD ignore the outliers they are looking
for, where a mean and standard deviation would be dragged towards them.

A value is judged against the window *before* it is added, so an outlier cannot hide
itself. When more than half the window is one value (MAD = 0, common for slippage: most
fills are exactly as quoted) the spread between the 10th and 90th percentiles stands in
(divided by 2.563, which makes it a standard deviation for normal data), and if that is
zero too the series has no spread to judge by and nothing is flagged. A per-series
`floor` ignores deviations too small to matter (a 3 ms loop-latency wobble on a quiet
engine is not an incident).

Statistics are floats on purpose: they only decide what to show a human, never money.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from engine.guards.stats import day_start

MAD_TO_SIGMA = 1.4826  # modified z = (x - median) / (1.4826 MAD) = 0.6745 (x - median) / MAD
DECILES_TO_SIGMA = 2.5631  # P90 - P10 of a normal distribution, in standard deviations


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One flagged value, with what it was compared against."""

    kind: str  # "slippage" | "profit_per_trade" | "loop_latency"
    ts: float
    value: float
    median: float
    score: float  # the robust z-score; its sign says above or below the median
    unit: str
    subject: str = ""  # the trade id, when the value belongs to a trade
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def identity(value: float) -> float:
    return value


class RobustZ:
    """A rolling window of one series and the modified z-score of a new value.

    `scale` maps values before the statistics (and `unscale` maps the median back for
    display): profit per trade is heavy-tailed, so it is judged on `asinh`, a signed log
    under which a trade 300× the median is far out and one 4× the median is not.
    `high_only` flags only values above the median (slippage worse than usual, a loop
    later than usual); `floor` is in the values' own unit, before scaling.
    """

    def __init__(
        self,
        window: int,
        min_samples: int,
        threshold: float,
        floor: float = 0.0,
        high_only: bool = False,
        scale: Callable[[float], float] = identity,
        unscale: Callable[[float], float] = identity,
    ) -> None:
        self.threshold = threshold
        self.floor = floor
        self.high_only = high_only
        self.min_samples = max(3, min_samples)
        self._scale, self._unscale = scale, unscale
        self._values: deque[float] = deque(maxlen=max(window, self.min_samples))

    def __len__(self) -> int:
        return len(self._values)

    def score(self, value: float) -> tuple[float, float] | None:
        """(z, median in the value's unit) against the window; None while it cannot judge."""
        if len(self._values) < self.min_samples:
            return None
        median = statistics.median(self._values)
        shown = self._unscale(median)
        raw_deviation = value - shown
        if abs(raw_deviation) < self.floor or (self.high_only and raw_deviation <= 0):
            return 0.0, shown
        deviation = self._scale(value) - median
        if deviation == 0:
            return 0.0, shown
        sigma = self._sigma(median)
        return (deviation / sigma, shown) if sigma > 0 else None

    def _sigma(self, median: float) -> float:
        """A robust standard deviation: from the MAD, else from the 10–90 % spread."""
        mad = statistics.median(abs(v - median) for v in self._values)
        if mad > 0:
            return MAD_TO_SIGMA * mad
        deciles = statistics.quantiles(self._values, n=10)
        return (deciles[-1] - deciles[0]) / DECILES_TO_SIGMA

    def judge(self, value: float) -> tuple[float, float] | None:
        """Score `value`, then add it; returns (z, median) only when it is an outlier."""
        scored = self.score(value)
        self._values.append(self._scale(value))
        if scored is None or abs(scored[0]) <= self.threshold:
            return None
        return scored


class AnomalyLog:
    """Detectors per series, and what they flagged: today's count and a recent list."""

    def __init__(
        self,
        detectors: dict[str, RobustZ],
        units: dict[str, str],
        recent: int = 50,
    ) -> None:
        self._detectors = detectors
        self._units = units
        self.recent: deque[Anomaly] = deque(maxlen=recent)
        self.total = 0
        self._day = 0.0
        self._today = 0

    def observe(
        self, kind: str, value: float, ts: float, subject: str = "", detail: str = ""
    ) -> Anomaly | None:
        """Judge one value of series `kind`; the anomaly if it is one."""
        detector = self._detectors.get(kind)
        if detector is None:
            return None
        judged = detector.judge(value)
        if judged is None:
            return None
        score, median = judged
        unit = self._units[kind]
        anomaly = Anomaly(kind, ts, value, median, round(score, 2), unit, subject, detail)
        self._count(ts)
        self.recent.appendleft(anomaly)
        return anomaly

    def _count(self, ts: float) -> None:
        self.total += 1
        day = day_start(ts)
        if day != self._day:
            self._day, self._today = day, 0
        self._today += 1

    def today(self, now: float) -> int:
        """Anomalies since 00:00 UTC (the ledger's day, as in `pnl --period today`)."""
        return self._today if day_start(now) == self._day else 0

    def since(self, ts: float, kinds: frozenset[str] | None = None) -> int:
        """How many of the kept recent anomalies (of `kinds`, default all) are at or
        after `ts`: what the alert rules ask ("any in the last 15 minutes?")."""
        return sum(1 for a in self.recent if a.ts >= ts and (kinds is None or a.kind in kinds))

    def to_dict(self, now: float, limit: int = 20) -> dict[str, Any]:
        return {
            "today": self.today(now),
            "total": self.total,
            "recent": [a.to_dict() for a in list(self.recent)[:limit]],
            "samples": {kind: len(d) for kind, d in self._detectors.items()},
        }
