"""A healthy engine: the checklists pass, triage finds nothing serious, the reports and
the post-mortem are complete, and every --json document has its documented fields."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

from tests.accounting.conftest import cli_json
from tests.arbctl.runbook.conftest import by_name, consistent_exit, keys
from tests.conftest import EngineHandle

CHECKLIST_FIELDS = {
    "checklist", "ts", "engine", "state_dir", "verdict", "exit_code", "counts", "checks",
}  # fmt: skip
CHECK_FIELDS = {"name", "status", "evidence", "next_step", "data"}
MORNING = [
    "engine", "health", "ledger", "redis", "logs", "loop_latency", "breaker", "halt",
    "balances", "trades", "activity", "providers", "gas", "errors", "disk", "resources",
]  # fmt: skip
EVENING = ["pnl", "export", "anomalies", "log_archive", "reconcile"]
FINDING_FIELDS = {"severity", "key", "title", "evidence", "next_step", "scenario", "alerts"}
# what only a broken engine shows (latency could show on an overloaded test machine)
BROKEN_ONLY = {"engine_down", "halted", "ledger_down", "breaker_open", "provider_down"}
MUST_PASS = {"engine", "health", "ledger", "redis", "logs", "breaker", "halt", "balances"}


def test_morning_passes_the_engine_items_and_documents_every_check(healthy: EngineHandle) -> None:
    code, doc = cli_json(healthy, "checklist", "morning")
    assert set(doc) >= CHECKLIST_FIELDS
    assert [c["name"] for c in doc["checks"]] == MORNING
    assert all(set(c) == CHECK_FIELDS for c in doc["checks"])
    checks = by_name(doc)
    assert {n for n in MUST_PASS if checks[n]["status"] == "PASS"} == MUST_PASS, doc
    assert checks["providers"]["status"] == "PASS" and checks["errors"]["status"] == "PASS"
    assert checks["balances"]["data"]["reconciled"] is True
    assert doc["engine"]["reachable"] is True and doc["engine"]["state"] == "running"
    assert all(c["next_step"] == "" for c in doc["checks"] if c["status"] == "PASS")
    assert all(c["next_step"] for c in doc["checks"] if c["status"] != "PASS")
    consistent_exit(code, doc)


def test_morning_for_humans_is_a_table_with_a_verdict(healthy: EngineHandle) -> None:
    result = healthy.cli("checklist", "morning")
    assert "Morning checklist" in result.stdout and "16 checks" in result.stdout
    assert "balances" in result.stdout


def test_evening_exports_archives_and_reconciles(healthy: EngineHandle, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    code, doc = cli_json(healthy, "checklist", "evening", "--reports-dir", str(reports))
    checks = by_name(doc)
    assert [c["name"] for c in doc["checks"]] == EVENING
    assert checks["export"]["status"] == "PASS" and checks["reconcile"]["status"] == "PASS"
    csv = Path(checks["export"]["data"]["path"])
    assert csv.parent == reports and csv.name.startswith("trades-")
    lines = csv.read_text().splitlines()
    assert lines[0].startswith("id,opportunity_id,")
    assert len(lines) - 1 == checks["export"]["data"]["rows"] > 0
    archive = checks["log_archive"]["data"]
    assert checks["log_archive"]["status"] == "PASS"
    live = healthy.log
    copy = next(a for a in archive["archived"] if a["source"] == str(live))
    first_line = live.read_text().splitlines()[0]
    assert gzip.decompress(Path(copy["archive"]).read_bytes()).decode().startswith(first_line)
    assert Path(copy["archive"]).parent == live.parent / "archive" and live.exists()
    assert checks["pnl"]["data"]["total_trades"] > 0
    consistent_exit(code, doc)


def test_triage_of_a_healthy_engine_finds_nothing_broken(healthy: EngineHandle) -> None:
    code, doc = cli_json(healthy, "triage")
    assert {"ts", "engine", "state_dir", "worst", "exit_code", "findings"} <= set(doc)
    assert not set(keys(doc)) & BROKEN_ONLY, doc["findings"]
    expected = {None: 0, "P3": 0, "P2": 1, "P1": 2, "P0": 2}[doc["worst"]]
    assert code == doc["exit_code"] == expected
    for finding in doc["findings"]:
        assert set(finding) >= FINDING_FIELDS


def test_daily_report_has_every_section(healthy: EngineHandle, tmp_path: Path) -> None:
    out = tmp_path / "daily.md"
    code, doc = cli_json(healthy, "report", "daily", "--out", str(out))
    assert code == 0 and doc["gaps"] == [] and doc["out"] == str(out)
    assert {"service", "uptime", "trading", "errors", "disk", "resources"} <= set(doc)
    assert doc["service"]["state"] == "running" and doc["trading"]["pnl"]["total_trades"] > 0
    assert {"count", "top", "files"} <= set(doc["errors"])
    text = out.read_text()
    for title in ("Service status", "Uptime", "Trading metrics (last 24 h)", "Error summary",
                  "Top errors", "Disk usage", "Resource usage"):  # fmt: skip
        assert f"## {title}" in text
    assert healthy.cli("report", "daily").stdout.startswith("# Daily report")


def test_performance_report_charts_the_trends(healthy: EngineHandle, tmp_path: Path) -> None:
    out = tmp_path / "perf.md"
    code, doc = cli_json(healthy, "report", "performance", "--period", "1h", "--out", str(out))
    assert code == 0, doc["gaps"]
    assert doc["period"] == "1h" and doc["bucket_s"] == 120 and len(doc["buckets"]) >= 30
    assert doc["totals"]["total_trades"] > 0 and sum(b["trades"] for b in doc["buckets"]) > 0
    assert any(b["inclusion_ms_p50"] is not None for b in doc["buckets"])
    assert doc["recent"]["samples"] > 0 and doc["limits"]  # says what it cannot show
    text = out.read_text()
    for title in ("Trading volume trend", "Error rate trend", "Latency trend",
                  "Resource usage trend", "Not available"):  # fmt: skip
        assert f"## {title}" in text
    assert "│█" in text and any(c in text for c in "▁▂▃▄▅▆▇█")


def test_incident_timeline_has_the_pause_and_the_resume(
    healthy: EngineHandle, tmp_path: Path
) -> None:
    assert healthy.cli("pause", "--reason", "runbook test: investigating").returncode == 0
    assert healthy.cli("resume", "--reason", "runbook test: all clear").returncode == 0
    out = tmp_path / "pm.md"
    args = ("incident", "new", "--severity", "P2", "--title", "Test pause", "--since", "10m")
    code, doc = cli_json(healthy, *args, "--out", str(out))
    assert code == 0 and doc["path"] == str(out) and doc["sources"] == "engine"
    kinds = {(e["kind"], e["source"]) for e in doc["timeline"]}
    assert {("mitigation", "audit"), ("restored", "audit")} <= kinds
    assert doc["mitigated_at"] is not None and doc["restored_at"] >= doc["mitigated_at"]
    assert doc["pnl"]["trades"] > 0 and isinstance(doc["pnl"]["net_profit_quote"], int)
    text = out.read_text()
    assert text.startswith("# Incident Post-Mortem: Test pause")
    assert "Mitigation deployed — pause by uid" in text and "runbook test: investigating" in text
    assert "Service restored — resume by uid" in text
    for title in ("Incident Summary", "Timeline", "Root Cause", "Resolution", "Lessons Learned",
                  "Action Items", "Prevention", "P&L impact"):  # fmt: skip
        assert f"## {title}" in text
    again = healthy.cli(*args, "--out", str(out), "--json")
    assert again.returncode == 1 and out.read_text() == text  # never overwritten
    assert json.loads(again.stdout)["error"]


def test_incident_default_path_is_in_the_state_dir(healthy: EngineHandle) -> None:
    args = ("incident", "new", "-s", "P3", "-t", "Logging glitch: odd lines", "--since", "5m")
    first = cli_json(healthy, *args)[1]["path"]
    second = cli_json(healthy, *args)[1]["path"]
    folder = healthy.state_dir / "incidents"
    assert Path(first).parent == folder and first.endswith("-logging-glitch-odd-lines.md")
    assert second.endswith("-logging-glitch-odd-lines-2.md")


SCRIPTS = Path(__file__).resolve().parents[3] / "scripts"


def run_script(engine: EngineHandle, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A runbook script as operators run it, with ARBCTL naming this install's arbctl."""
    env = {**engine.env(), "ARBCTL": str(Path(sys.executable).parent / "arbctl")}
    return subprocess.run(
        [str(SCRIPTS / name), *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_daily_scripts_wrap_the_checklists(healthy: EngineHandle, tmp_path: Path) -> None:
    morning = run_script(healthy, "daily-startup.sh", "--json")
    doc = json.loads(morning.stdout)
    assert doc["checklist"] == "morning" and morning.returncode == doc["exit_code"]
    assert "Daily Startup Checklist" in morning.stderr
    evening = run_script(healthy, "daily-shutdown.sh", "--reports-dir", str(tmp_path), "--json")
    doc = json.loads(evening.stdout)
    assert doc["checklist"] == "evening" and evening.returncode == doc["exit_code"]
    assert list(tmp_path.glob("trades-*.csv"))
