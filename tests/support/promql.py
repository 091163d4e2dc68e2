"""The metric names a PromQL text uses, and the ones the engine exports, so rules and
dashboards are checked against what a scrape really holds (a typo is a panel that is
silently empty, or an alert that never fires)."""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families

from engine import protocol
from engine.telemetry.prometheus import exposition

ARBCTL_NAME = re.compile(r"\barbctl_[a-zA-Z0-9_:]+")


def arbctl_names(promql: str) -> set[str]:
    """Every `arbctl_*` series name in a PromQL expression (labels and strings aside)."""
    without_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', promql)
    return set(ARBCTL_NAME.findall(without_strings))


def exported_names() -> set[str]:
    """Sample names (with `_total`, `_bucket`, `_sum`, `_count`) of a busy engine's scrape:
    trades, guards, errors, blocks, heartbeats with providers, a halt."""
    from tests.telemetry.test_prometheus_conventions import busy

    metrics, _, series = busy()
    metrics.observe(protocol.TOPIC_STATE, {"state": "running"}, 0)
    text = exposition(series)
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}
