"""The procedures' parts on real files, no engine: charts, log patterns, the archive's
retention, exit codes, post-mortem files and log-line parsing."""

from __future__ import annotations

import gzip
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from arbctl.runbook import archive, charts, checks, incident, logscan, trends, triage


def write_log(state_dir: Path, records: list[dict[str, Any]], name: str = "engine.log") -> Path:
    """Records in the engine's JSON-lines format (engine/telemetry/logs.py)."""
    path = state_dir / "logs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        for record in records:
            handle.write(json.dumps({"level": "INFO", "logger": "arbctl.engine", **record}) + "\n")
    return path


# --- charts --------------------------------------------------------------------------------
def test_sparkline_scales_and_marks_missing_values() -> None:
    assert charts.sparkline([0, 2, None, 14]) == "▁▂·█"
    assert charts.sparkline([None, None]) == "··"
    assert charts.sparkline([5, 5]) == "▅▅"


def test_bars_are_proportional_and_show_losses_and_gaps() -> None:
    lines = charts.bars([("a", 10), ("bb", 5), ("c", None), ("d", -5)], "USDC", width=10)
    assert lines[0] == "a  │██████████ 10 USDC"
    assert lines[1] == "bb │█████ 5 USDC"
    assert lines[2] == "c  │· no data"
    assert lines[3] == "d  │░░░░░ -5 USDC"
    assert charts.bar(1, 16, width=2) == "▏"  # an eighth of a cell


# --- logs ----------------------------------------------------------------------------------
def test_error_patterns_fold_numbers_ids_and_addresses(tmp_path: Path) -> None:
    now = time.time()
    write_log(
        tmp_path,
        [
            {"ts": now - 7200, "level": "ERROR", "logger": "arbctl.ledger", "msg": "old 1"},
            {"ts": now - 30, "level": "ERROR", "logger": "arbctl.ledger",
             "msg": "ledger unavailable: connection refused (812 rows kept)"},
            {"ts": now - 20, "level": "ERROR", "logger": "arbctl.ledger",
             "msg": "ledger unavailable: connection refused (813 rows kept)"},
            {"ts": now - 10, "level": "CRITICAL", "logger": "arbctl.evm",
             "msg": "order 0xdeadbeef stuck at nonce 7"},
            {"ts": now - 5, "msg": "trade sim-1a1fe98f4c9-000044 reverted"},
        ],
    )  # fmt: skip
    summary = logscan.error_summary(tmp_path, now - 3600)
    assert summary["count"] == 3 and summary["critical"] == 1
    top = summary["top"][0]
    assert (
        top["count"] == 2
        and top["pattern"] == "ledger unavailable: connection refused (N rows kept)"
    )
    assert summary["top"][1]["pattern"] == "order <hex> stuck at nonce N"
    assert logscan.pattern("trade sim-1a1fe98f4c9-000044 x") == "trade sim-<id>-<id> x"
    assert logscan.oldest_ts(tmp_path) == pytest.approx(now - 7200)


def test_rotated_logs_are_read_as_one_stream(tmp_path: Path) -> None:
    now = time.time()
    write_log(tmp_path, [{"ts": now - 50, "level": "ERROR", "msg": "rotated"}], "engine.log.1")
    write_log(tmp_path, [{"ts": now - 10, "level": "ERROR", "msg": "current"}])
    records = logscan.records_since(tmp_path, now - 60, logscan.is_error)
    assert [r["msg"] for r in records] == ["rotated", "current"]
    assert logscan.freshness(tmp_path)["exists"] is True


# --- the log archive -----------------------------------------------------------------------
def test_archive_copies_every_log_and_prunes_only_old_archives(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    live = write_log(tmp_path, [{"ts": 1.0, "msg": "live"}])
    write_log(tmp_path, [{"ts": 0.5, "msg": "rotated"}], "engine.log.1")
    (logs / "notes.txt").write_text("not a log")
    folder = logs / "archive"
    folder.mkdir()
    old = folder / "2020-01-01_engine.log.gz"
    old.write_bytes(gzip.compress(b"old"))
    recent = folder / f"{time.strftime('%Y-%m-%d')}_engine.log.1.gz"
    recent.write_bytes(gzip.compress(b"replaced today"))
    before = live.read_bytes()

    result = archive.archive_logs(logs, retention_days=30)

    names = sorted(Path(a["archive"]).name for a in result["archived"])
    day = time.strftime("%Y-%m-%d")
    assert names == [f"{day}_engine.log.1.gz", f"{day}_engine.log.gz"]
    assert gzip.decompress((folder / f"{day}_engine.log.gz").read_bytes()) == before
    assert result["pruned"] == ["2020-01-01_engine.log.gz"] and not old.exists()
    assert live.read_bytes() == before and (logs / "notes.txt").exists()
    assert not [p for p in folder.iterdir() if p.name.endswith(".partial")]


def test_archive_retention_zero_keeps_everything(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    write_log(tmp_path, [{"ts": 1.0, "msg": "x"}])
    (logs / "archive").mkdir()
    old = logs / "archive" / "2020-01-01_engine.log.gz"
    old.write_bytes(b"")
    os.utime(old, (0, 0))
    assert archive.archive_logs(logs, retention_days=0)["pruned"] == [] and old.exists()


# --- verdicts ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("statuses", "code"),
    [([], 0), (["PASS"], 0), (["PASS", "WARN"], 1), (["WARN", "FAIL", "PASS"], 2)],
)
def test_checklist_exit_code_is_the_worst_status(statuses: list[str], code: int) -> None:
    assert checks.exit_code(checks.RunbookCheck("x", s, "") for s in statuses) == code


@pytest.mark.parametrize(("worst", "code"), [(None, 0), ("P3", 0), ("P2", 1), ("P1", 2), ("P0", 2)])
def test_triage_exit_code_follows_the_worst_severity(worst: str | None, code: int) -> None:
    assert triage.exit_code(worst) == code


def test_graded_drops_the_next_step_of_a_pass() -> None:
    assert checks.graded("x", "PASS", "fine", "do something").next_step == ""
    assert checks.graded("x", "WARN", "hm", "do something").next_step == "do something"


# --- post-mortems --------------------------------------------------------------------------
def test_incident_files_are_never_overwritten(tmp_path: Path) -> None:
    assert incident.slug("  DB down: role locked!! ") == "db-down-role-locked"
    assert incident.slug("???") == "incident"
    first = incident.write("one", None, tmp_path, "DB down", 0.0)
    second = incident.write("two", None, tmp_path, "DB down", 0.0)
    assert first.name == "1970-01-01-db-down.md" or first.name.endswith("-db-down.md")
    assert second.name.endswith("-db-down-2.md") and first.read_text() == "one"
    with pytest.raises(FileExistsError):
        incident.write("three", first, tmp_path, "DB down", 0.0)


def test_log_lines_become_timeline_entries() -> None:
    audit = {"ts": 5.0, "msg": "AUDIT pause by uid=1000 (arbctl-cli): gas spike [ok]"}
    entry = incident.log_entry(audit)
    assert entry is not None and entry.kind == "mitigation" and "gas spike" in entry.text
    resume = incident.log_entry({"ts": 6.0, "msg": "AUDIT resume by uid=0 (arbctl-tui): ok [ok]"})
    assert resume is not None and resume.kind == "restored"
    refused = "AUDIT resume by uid=0 (arbctl-cli): x [refused: engine is running]"
    assert incident.log_entry({"ts": 7.0, "msg": refused}).kind == "event"  # type: ignore[union-attr]
    guard = {"ts": 8.0, "msg": "GUARD max_failed_trades_per_hour breaker_open: 11 > 10"}
    assert incident.log_entry(guard).kind == "detected"  # type: ignore[union-attr]
    note = {"rule": "breaker_open", "severity": "P1", "status": "firing", "repeat": 0,
            "summary": "circuit breaker OPEN", "ts": 9.0}  # fmt: skip
    alert = incident.log_entry({"ts": 9.0, "msg": "ALERT …", "alert": note})
    assert alert is not None and alert.kind == "detected" and alert.source == "alert"
    assert incident.log_entry({"ts": 1.0, "msg": "trade x success"}) is None


def test_milestones_say_ongoing_when_trouble_came_back() -> None:
    entries = [
        incident.Entry(10.0, "detected", "alert", "a"),
        incident.Entry(20.0, "mitigation", "audit", "pause"),
        incident.Entry(30.0, "restored", "audit", "resume"),
    ]
    done = incident.milestones(entries, 100.0)
    assert (done["detected_at"], done["restored_at"], done["duration_s"]) == (10.0, 30.0, 20.0)
    again = incident.milestones([*entries, incident.Entry(40.0, "detected", "logs", "b")], 100.0)
    assert again["ongoing"] is True and again["duration_s"] == 90.0


# --- trends --------------------------------------------------------------------------------
def test_buckets_say_no_data_outside_a_sources_reach() -> None:
    trades = [
        {"detected_at": 150.0, "submitted_at": 150.1, "mined_at": 151.0, "status": "success",
         "profit_quote": 5},
        {"detected_at": 250.0, "submitted_at": 250.1, "mined_at": 250.5, "status": "reverted",
         "profit_quote": -2},
    ]  # fmt: skip
    coverage = {"trades_available": True, "trades_from": 100.0, "logs_from": 200.0}
    rows = trends.buckets(trades, [{"ts": 210.0}], 0.0, 300.0, 100, coverage)
    assert [r["trades"] for r in rows] == [None, 1, 1]
    assert [r["log_errors"] for r in rows] == [None, None, 1]
    assert rows[2]["error_rate"] == 1.0 and rows[1]["net_profit_quote"] == 5
    assert rows[1]["inclusion_ms_p50"] == pytest.approx(1000.0)
    assert trends.nice_bucket(86400.00003) == 86400 and trends.nice_bucket(1) == 60
    assert len(trends.buckets([], [], 0.0, 3600.00003, 120, coverage)) == 30
    unanswered = {**coverage, "trades_available": False}
    assert {r["trades"] for r in trends.buckets([], [], 0.0, 300.0, 100, unanswered)} == {None}


def test_a_provider_going_from_down_to_degraded_is_not_service_restored() -> None:
    """Issue 16: a provider still degraded is better, not restored; a flicker of a provider
    that never went down is no restoration either."""
    down: set[str] = set()
    gone = incident.provider_entry(
        4.0, {"event": "status", "name": "a", "previous": "healthy", "status": "down"}, down
    )
    assert gone is not None and gone.kind == "detected"
    partly = incident.provider_entry(
        5.0, {"event": "status", "name": "a", "previous": "down", "status": "degraded"}, down
    )
    assert partly is not None and partly.kind == "event" and "degraded" in partly.text
    back = incident.provider_entry(
        6.0, {"event": "status", "name": "a", "previous": "degraded", "status": "healthy"}, down
    )
    assert back is not None and back.kind == "restored"
    flicker = incident.provider_entry(
        7.0, {"event": "status", "name": "b", "previous": "degraded", "status": "healthy"}, down
    )
    assert flicker is None


def test_the_incident_timeline_points_are_in_time_order_and_follow_the_detection() -> None:
    """A pause an hour before the incident is not its response; the summary lists the
    points in the order they happened."""
    entries = [
        incident.Entry(5.0, "mitigation", "audit", "pause for an unrelated deploy"),
        incident.Entry(6.0, "restored", "audit", "resume after the deploy"),
        incident.Entry(10.0, "detected", "alert", "breaker open"),
        incident.Entry(12.0, "mitigation", "audit", "kill"),
        incident.Entry(30.0, "restored", "audit", "resume"),
    ]
    done = incident.milestones(entries, 100.0)
    assert (done["detected_at"], done["response_at"], done["mitigated_at"]) == (10.0, 12.0, 12.0)
    doc = {
        **done,
        "timeline": [e.to_dict() for e in entries],
        "since": 0.0,
        "until": 100.0,
    }
    points = [line for line in incident._timeline_lines(doc) if line.startswith("- ")][:4]
    labels = [line.split(": ", 1)[1].split(" — ")[0] for line in points]
    assert labels == [
        "Incident detected",
        "Response initiated",
        "Mitigation deployed",
        "Service restored",
    ]


def test_charts_with_an_axis_show_min_and_max_and_the_time_span() -> None:
    lines = charts.axis_chart([1.0, 3.0, None, -2.0, 5.0], "USDC", start="09:00", end="10:00")
    assert lines[0].startswith("max 5.00 USDC") and lines[-1].endswith("10:00")
    assert any("min -2.00 USDC" in line for line in lines)
    assert charts.axis_chart([], "ms", start="a", end="b") == ["no data"]
