"""The metric names a PromQL text uses, and the ones the engine exports, so rules and
dashboards are checked against what a scrape really holds (a typo is a panel that is
silently empty, or an alert that never fires)."""

from __future__ import annotations

import json
import re
from pathlib import Path

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


REPO = Path(__file__).resolve().parents[2]
ALERT_RULES = REPO / "scripts" / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = REPO / "scripts" / "deploy" / "grafana" / "arbctl.json"


def alert_rule_blocks() -> dict[str, str]:
    """{alert name: its text} (alerts.yml keeps one `- alert:` per rule at one indent)."""
    parts = re.split(r"\n      - alert: ", ALERT_RULES.read_text())[1:]
    return {part.split("\n", 1)[0].strip(): part for part in parts}


def alert_expressions() -> list[str]:
    return [block.split("labels:", 1)[0] for block in alert_rule_blocks().values()]


def dashboard_expressions() -> list[str]:
    """Every panel query and variable query of the Grafana dashboard."""
    board = json.loads(DASHBOARD.read_text())
    found = [t["expr"] for p in board["panels"] if p["type"] != "row" for t in p["targets"]]
    variables = board["templating"]["list"]
    return found + [v["query"]["query"] for v in variables if v["type"] == "query"]
