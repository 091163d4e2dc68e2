"""The runbook's gaps in the CLI (issue 16, finding 11), against a real engine.

High Gas Costs' diagnosis (gas as % of revenue), `metrics --since 24h`, `logs` saying
nothing matched, `export --out reports/x.csv` creating its folder, `gas` not passing a
setting off as a measurement, and `rpc-check --help` showing `[[providers]]`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import EngineHandle


def test_gas_says_what_share_of_todays_revenue_went_to_gas(trading: EngineHandle) -> None:
    pnl = json.loads(trading.cli("pnl", "--json").stdout)
    doc = json.loads(trading.cli("gas", "--json").stdout)
    today = doc["today"]
    assert today["gas_cost_quote"] >= pnl["gas_cost_quote"] > 0
    revenue = today["net_profit_quote"] + today["gas_cost_quote"]  # the runbook's formula
    assert today["gas_pct_of_revenue"] == round(today["gas_cost_quote"] * 100 / revenue, 1)
    human = trading.cli("gas").stdout
    assert re.search(r"gas share of revenue \(today\)\s+\d+\.\d % ", human), human


def test_gas_does_not_show_the_headroom_setting_as_a_measurement(trading: EngineHandle) -> None:
    human = trading.cli("gas").stdout
    assert "headroom 100%" not in human
    assert re.search(r"gas now\s+\d+ % of the cap", human), human
    assert "gas_headroom_pct" in human  # named as the setting it is


def test_pnl_shows_the_gas_share_of_revenue(trading: EngineHandle) -> None:
    assert re.search(r"gas share of revenue\s+\d+\.\d %", trading.cli("pnl").stdout)


def test_metrics_since_summarises_the_window(trading: EngineHandle) -> None:
    doc = json.loads(trading.cli("metrics", "--since", "24h", "--json").stdout)
    window = doc["window"]
    assert window["trades"] > 0 and 0 < window["success_rate"] <= 1
    assert window["since"] < window["until"] and "errors" in window
    human = trading.cli("metrics", "--since", "24h")
    assert human.returncode == 0 and "last 24h" in human.stdout, human.stdout
    assert trading.cli("metrics", "--since", "yesterday-ish").returncode == 2


def test_logs_say_so_when_nothing_matches(trading: EngineHandle) -> None:
    result = trading.cli("logs", "--search", "no-such-thing-in-any-log-line")
    assert result.returncode == 0 and result.stdout == ""
    assert "no log record matches" in result.stderr


def test_export_creates_the_reports_folder(trading: EngineHandle, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "daily" / "x.csv"
    result = trading.cli("export", "trades", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_text().startswith("id,")


def test_rpc_check_help_shows_the_providers_table_name() -> None:
    result = EngineHandle(dir=Path("/nonexistent")).cli("rpc-check", "--help")
    assert "[[providers]]" in result.stdout


def test_the_daily_report_charts_todays_pnl_and_latency_with_axis_and_min_max(
    trading: EngineHandle,
) -> None:
    """Deliver 6 (the CLI part): `arbctl report daily` draws today's cumulative P&L and the
    loop and RPC latency as terminal charts, each with its max, min and time axis."""
    result = trading.cli("report", "daily")
    text = result.stdout
    assert "## Today at a glance" in text, text
    charts = text.split("## Today at a glance", 1)[1].split("\n## ", 1)[0]
    for title, unit in (("Cumulative P&L", "USDC"), ("Loop latency", "ms"), ("RPC latency", "ms")):
        assert title in charts, charts
        assert re.search(rf"max -?[\d,.]+ {unit}", charts), (title, charts)
        assert re.search(rf"min -?[\d,.]+ {unit}", charts), (title, charts)
    assert "00:00" in charts and all(len(line) <= 80 for line in charts.splitlines())
    doc = json.loads(trading.cli("report", "daily", "--json").stdout)["today"]
    assert len(doc["pnl_cumulative_quote"]) == doc["buckets"] and doc["pnl_cumulative_quote"][-1]
    assert any(v is not None for v in doc["loop_ms"]) and any(v is not None for v in doc["rpc_ms"])
