"""scripts/deploy/prometheus/alerts.yml: every rule of both runbooks, accepted by the
real `promtool check rules`, each rule shown firing on a synthetic series and not on a
normal one by `promtool test rules` (scripts/deploy/prometheus/alerts_test.yml), every
series it reads exported by the engine, every rule carrying a severity and an action."""

from __future__ import annotations

import re

import pytest

from tests.support.prometheus_tools import promtool
from tests.support.promql import ALERT_RULES as RULES
from tests.support.promql import alert_rule_blocks as rule_blocks
from tests.support.promql import arbctl_names, exported_names

HERE = RULES.parent
UNIT_TESTS = HERE / "alerts_test.yml"

# Each runbook rule, by the alert(s) that ship it.
RUNBOOK_RULES = {
    "health check failed > 3 consecutive times -> page": {
        "ArbctlHealthCheckFailing",
        "ArbctlScrapeFailing",
    },
    "CPU > 80% for 5 minutes -> warning": {"ArbctlCpuHigh"},
    "memory > 90% for 2 minutes -> critical": {"ArbctlMemoryHigh"},
    "no trades for 30 minutes (trading hours) -> warning": {"ArbctlNoTrades"},
    "error rate > 50/min for 5 minutes -> critical": {"ArbctlErrorRateHigh"},
    "success rate < 70%": {"ArbctlSuccessRateLow"},
    "gas price > 150 gwei": {"ArbctlGasPriceHigh"},
    "P&L (hourly) < -$100": {"ArbctlHourlyLoss"},
    "response time > 2000 ms": {"ArbctlRpcResponseSlow"},
    "failed trades > 10/hour": {"ArbctlFailedTradesHigh"},
    "circuit breaker open": {"ArbctlBreakerOpen"},
}


def test_promtool_check_rules_accepts_the_file() -> None:
    checked = promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rule_blocks())} rules found" in checked.stdout


def test_every_rule_fires_on_a_synthetic_series_and_not_on_a_normal_one() -> None:
    tested = promtool("test", "rules", UNIT_TESTS.name, cwd=HERE)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    cases = re.findall(r"alertname: (\w+)\n        exp_alerts:( \[\])?", UNIT_TESTS.read_text())
    firing = {name for name, empty in cases if not empty}
    quiet = {name for name, empty in cases if empty}
    assert firing == quiet == set(rule_blocks())


def test_every_runbook_rule_is_shipped() -> None:
    shipped = set(rule_blocks())
    for rule, alerts in RUNBOOK_RULES.items():
        assert alerts <= shipped, rule


@pytest.mark.parametrize("alert", sorted(rule_blocks()))
def test_each_rule_has_a_severity_a_runbook_action_and_reads_exported_series(alert: str) -> None:
    block = rule_blocks()[alert]
    assert re.search(r"\n          severity: P[0-3]\n", block), alert
    for annotation in ("summary", "description", "action", "runbook"):
        assert re.search(rf"\n          {annotation}: \".+\"", block), (alert, annotation)
    expr = block.split("labels:", 1)[0]
    assert arbctl_names(expr) <= exported_names(), alert
