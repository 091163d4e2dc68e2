"""scripts/deploy/grafana/arbctl.json: a Grafana dashboard that is valid JSON, shows the
runbook's six headline metrics, its key metrics, P&L, provider health and guard triggers,
per engine and for the fleet, and queries only series the engine really exports, in
PromQL the real `promtool` accepts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.prometheus_tools import promtool
from tests.support.promql import DASHBOARD, arbctl_names, dashboard_expressions, exported_names

HEADLINE = (  # the runbook's dashboard (docs/observability.md), then the quant runbook's
    "Trades per minute",
    "Errors per minute",
    "WS latency",
    "Loop latency",
    "Guard triggers per minute",
    "P&L change per minute",
    "Success rate (1 h)",
    "Gas price",
    "P&L (hourly)",
    "Response time",
    "Failed trades (1 h)",
    "Circuit breaker",
)


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def expressions(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in panels(dashboard) for t in p["targets"]]


def test_it_is_a_grafana_dashboard_with_unique_panel_ids(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 30
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels(dashboard):
        assert panel["targets"] and set(panel["gridPos"]) == {"h", "w", "x", "y"}, panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]


def test_it_shows_the_runbook_metrics_pnl_providers_guards_and_the_fleet(
    dashboard: dict[str, Any],
) -> None:
    titles = [p["title"] for p in panels(dashboard)]
    for wanted in HEADLINE:
        assert any(title.startswith(wanted) for title in titles), wanted
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    for section in ("P&L", "Providers", "Guards", "Fleet"):
        assert any(row.startswith(section) for row in rows), section


def test_every_query_is_per_engine_and_chain_by_the_dashboard_variables(
    dashboard: dict[str, Any],
) -> None:
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "engine", "chain"} <= variables
    for expr in expressions(dashboard):
        for selector in re.findall(r"arbctl_\w+(\{[^}]*\})?", expr):
            assert 'engine=~"$engine"' in selector and 'chain=~"$chain"' in selector, expr


def test_every_query_reads_series_the_engine_exports(dashboard: dict[str, Any]) -> None:
    exported = exported_names()
    for expr in dashboard_expressions():
        assert arbctl_names(expr) <= exported, (expr, arbctl_names(expr) - exported)


def test_every_query_is_promql_that_promtool_accepts(
    dashboard: dict[str, Any], tmp_path: Path
) -> None:
    """Each panel query becomes a recording rule, and `promtool check rules` parses it."""
    rules = [
        {
            "record": f"dashboard:query_{n}",
            "expr": expr.replace("$engine", ".*").replace("$chain", ".*"),
        }
        for n, expr in enumerate(expressions(dashboard))
    ]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = promtool("check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
