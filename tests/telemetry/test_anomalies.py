"""Anomalies: a planted outlier is flagged; normal data (seeded noise) is not."""

from __future__ import annotations

import math
import random

from engine import protocol
from engine.config import MetricsSection
from engine.telemetry.anomalies import AnomalyLog, RobustZ
from engine.telemetry.metrics import Metrics
from tests.telemetry.conftest import T0, Clock, heartbeat, opportunity, trade

DAY = 86400.0


def normal(n: int, mean: float = 100.0, sd: float = 5.0, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(mean, sd) for _ in range(n)]


def uniform(n: int, low: float, high: float, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(low, high) for _ in range(n)]


def test_normal_data_is_not_flagged_and_a_planted_outlier_is() -> None:
    detector = RobustZ(window=200, min_samples=30, threshold=3.5)
    assert [v for v in uniform(500, 90, 110) if detector.judge(v)] == []
    flagged = detector.judge(160.0)
    assert flagged is not None
    score, median = flagged
    assert score > 3.5 and abs(median - 100) < 2
    assert detector.judge(101.0) is None  # the outlier did not widen "normal" much


def test_gaussian_noise_is_flagged_about_as_rarely_as_its_tails_are() -> None:
    detector = RobustZ(window=200, min_samples=30, threshold=3.5)
    flagged = [v for v in normal(2000, seed=7) if detector.judge(v)]
    assert len(flagged) <= 4  # 3.5 sigma: about 1 in 2000 for a normal distribution


def test_nothing_is_judged_before_min_samples() -> None:
    detector = RobustZ(window=200, min_samples=30, threshold=3.5)
    for value in normal(29):
        assert detector.judge(value) is None
    assert detector.judge(10_000.0) is None  # 29 values: not enough to say "unusual"
    assert detector.judge(10_000.0) is not None


def test_high_only_ignores_values_below_the_median() -> None:
    detector = RobustZ(window=200, min_samples=30, threshold=3.5, high_only=True)
    for value in normal(100):
        detector.judge(value)
    assert detector.judge(0.0) is None
    assert detector.judge(200.0) is not None


def test_the_floor_ignores_deviations_too_small_to_matter() -> None:
    detector = RobustZ(window=200, min_samples=30, threshold=3.5, floor=25.0)
    for value in normal(100, mean=2.0, sd=0.1):
        detector.judge(value)
    assert detector.judge(20.0) is None  # a huge z, but only 18 ms
    assert detector.judge(40.0) is not None


def test_mostly_identical_values_fall_back_to_the_mean_absolute_deviation() -> None:
    detector = RobustZ(window=200, min_samples=30, threshold=3.5)
    values = [0.0] * 60 + uniform(40, -1000.0, 1000.0, seed=2)  # MAD is 0
    random.Random(3).shuffle(values)
    assert [v for v in values if detector.judge(v)] == []
    assert detector.judge(9000.0) is not None


def test_a_series_without_spread_judges_nothing() -> None:
    detector = RobustZ(window=50, min_samples=30, threshold=3.5)
    for _ in range(40):
        detector.judge(5.0)
    assert detector.judge(6.0) is None


def test_a_heavy_tailed_series_is_judged_on_a_log_scale() -> None:
    unit = 1e6
    detector = RobustZ(
        200, 30, 3.5, scale=lambda x: math.asinh(x / unit), unscale=lambda y: math.sinh(y) * unit
    )
    rng = random.Random(4)
    profits = [rng.lognormvariate(math.log(10 * unit), 0.8) for _ in range(300)]
    assert len([p for p in profits if detector.judge(p)]) <= 3  # a lognormal tail is normal
    flagged = detector.judge(5000 * unit)  # 500x the median
    assert flagged is not None and 5 * unit < flagged[1] < 20 * unit


def test_the_log_counts_today_and_keeps_a_recent_list() -> None:
    detector = RobustZ(window=200, min_samples=30, threshold=3.5)
    log = AnomalyLog({"x": detector}, {"x": "ms"}, recent=3)
    for i, value in enumerate(normal(50)):
        assert log.observe("x", value, T0 + i) is None
    for i in range(4):
        assert log.observe("x", 500.0 + i, T0 + 100 + i, subject=f"s{i}") is not None
    data = log.to_dict(T0 + 200)
    assert (data["today"], data["total"]) == (4, 4)
    assert [a["subject"] for a in data["recent"]] == ["s3", "s2", "s1"]  # newest first, bounded
    assert data["recent"][0]["unit"] == "ms" and data["recent"][0]["kind"] == "x"
    assert log.today(T0 + DAY) == 0  # a new UTC day
    assert log.since(T0 + 102) == 2
    assert log.observe("unknown", 1.0, T0) is None


def test_metrics_flag_slippage_profit_and_loop_latency_outliers() -> None:
    clock = Clock()
    section = MetricsSection(anomaly_min_samples=30, slippage_floor_bps=100.0)
    metrics = Metrics(section, "USDC", 6, clock, machine_memory=lambda: 1.0)
    rng = random.Random(5)
    for n in range(60):  # normal trades: realised 95-100 % of the quote, ~10 USDC profit
        quoted = 1_000_000
        metrics.observe(protocol.TOPIC_OPPORTUNITY, opportunity(n, quoted), clock.now)
        realised = quoted - rng.randint(0, 50_000)
        profit = int(rng.uniform(8, 12) * 10**6)
        metrics.observe(
            protocol.TOPIC_TRADE, trade(n, profit_quote=profit, profit_token=realised), clock.now
        )
        metrics.observe(
            protocol.TOPIC_HEARTBEAT, heartbeat(loop_latency_ms=rng.uniform(0.5, 3)), clock.now
        )
        clock.advance(1)
    assert metrics.snapshot()["anomalies"]["today"] == 0
    metrics.observe(protocol.TOPIC_OPPORTUNITY, opportunity(100, 1_000_000), clock.now)
    slipped = trade(100, profit_quote=10 * 10**6, profit_token=200_000)  # 80 % of the quote lost
    metrics.observe(protocol.TOPIC_TRADE, slipped, clock.now)
    metrics.observe(protocol.TOPIC_OPPORTUNITY, opportunity(101, 1_000_000), clock.now)
    windfall = trade(101, profit_quote=20_000 * 10**6, profit_token=1_000_000)
    metrics.observe(protocol.TOPIC_TRADE, windfall, clock.now)
    metrics.observe(protocol.TOPIC_HEARTBEAT, heartbeat(loop_latency_ms=400.0), clock.now)
    anomalies = metrics.snapshot()["anomalies"]
    found = {(a["kind"], a["subject"]) for a in anomalies["recent"]}
    assert found == {("slippage", "t-100"), ("profit_per_trade", "t-101"), ("loop_latency", "")}
    assert anomalies["today"] == 3
    slippage = next(a for a in anomalies["recent"] if a["kind"] == "slippage")
    assert slippage["value"] == 8000.0 and slippage["unit"] == "bps"
