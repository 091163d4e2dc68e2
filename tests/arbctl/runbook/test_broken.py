"""A broken engine on the simulated market: the breaker tripped by a guard threshold
(`max_failed_trades_per_hour = 0`: the first revert opens it) and an RPC provider that
fails every request. The checklist fails on them, triage names both with evidence and
the runbook's step, and the post-mortem finds when trouble was detected."""

from __future__ import annotations

from tests.accounting.conftest import cli_json
from tests.arbctl.runbook.conftest import by_name, consistent_exit, keys
from tests.conftest import EngineHandle


def test_morning_fails_on_the_breaker_and_flags_the_provider(broken: EngineHandle) -> None:
    code, doc = cli_json(broken, "checklist", "morning")
    checks = by_name(doc)
    breaker = checks["breaker"]
    assert breaker["status"] == "FAIL"
    assert "max_failed_trades_per_hour" in breaker["evidence"]
    assert "Circuit Breaker Triggered" in breaker["next_step"]
    assert breaker["data"]["state"] == "open"
    providers = checks["providers"]
    assert providers["status"] in ("WARN", "FAIL") and "alpha-rpc" in providers["data"]["down"]
    assert "Provider Failure" in providers["next_step"]
    assert checks["engine"]["status"] == "PASS"  # running: the breaker is not the kill switch
    assert code == 2 and doc["verdict"] == "FAIL"
    consistent_exit(code, doc)


def test_triage_names_the_breaker_and_the_failing_provider(broken: EngineHandle) -> None:
    code, doc = cli_json(broken, "triage")
    found = keys(doc)
    breaker = found["breaker_open"]
    assert breaker["severity"] == "P1"
    assert any("max_failed_trades_per_hour" in line for line in breaker["evidence"])
    assert "breaker reset" in breaker["next_step"]
    provider = found["provider_down"]
    assert provider["severity"] in ("P1", "P2") and "alpha-rpc" in provider["title"]
    evidence = " ".join(provider["evidence"])
    assert "failover" in evidence and "active" in evidence
    assert doc["findings"][0]["severity"] in ("P0", "P1")  # most severe first
    order = [f["severity"] for f in doc["findings"]]
    assert order == sorted(order)
    assert code == 2 and doc["worst"] == "P1"


def test_triage_for_humans_prints_severity_evidence_and_next_step(broken: EngineHandle) -> None:
    result = broken.cli("triage")
    assert result.returncode == 2
    assert "P1" in result.stdout and "Circuit breaker OPEN" in result.stdout
    assert "→" in result.stdout


def test_incident_detects_the_breaker_opening(broken: EngineHandle) -> None:
    args = ("incident", "new", "--severity", "P1", "--title", "Breaker tripped", "--since", "10m")
    code, doc = cli_json(broken, *args)
    assert code == 0
    detected = [e for e in doc["timeline"] if e["kind"] == "detected"]
    assert any(e["source"] in ("breaker", "alert") for e in detected), doc["timeline"]
    assert doc["detected_at"] is not None and doc["ongoing"] is True
    assert doc["pnl"]["reverted"] >= 1
