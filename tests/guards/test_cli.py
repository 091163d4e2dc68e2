"""`arbctl guards`, `breaker` and `gas` as an operator runs them: --json shapes for
scripts, readable tables for people, the breaker on `status` and the heartbeat."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from typer.testing import CliRunner

from arbctl.cli import app
from engine.guards.rules import RULE_NAMES
from tests.arbctl.test_imports import ALLOWED_ENGINE
from tests.conftest import EngineHandle, wait_until
from tests.guards.conftest import QUIET_TRADE_RULES, GuardedEngine, rpc

RULE_FIELDS = {
    "name", "kind", "action", "observes", "unit", "comparison", "threshold",
    "threshold_text", "current", "current_text", "breached", "checked_at", "enabled",
    "triggers", "last_triggered_at",
}  # fmt: skip
BREAKER_FIELDS = {"state", "since", "guard", "reason", "retry_at"}


def test_guards_json_lists_every_rule_with_its_threshold_and_current_value(
    quiet_engine: EngineHandle,
) -> None:
    result = quiet_engine.cli("guards", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [r["name"] for r in data["rules"]] == list(RULE_NAMES)
    assert all(set(r) == RULE_FIELDS for r in data["rules"])
    assert {"breaker", "recent", "reviewed", "approved", "blocked"} <= set(data)


def test_guards_for_people_is_a_table_of_the_rules(quiet_engine: EngineHandle) -> None:
    result = quiet_engine.cli("guards")
    assert result.returncode == 0, result.stderr
    assert "max_gas_price" in result.stdout and "breaker CLOSED" in result.stdout


def test_guards_fit_80_columns_without_folding_a_rule_or_a_value(
    quiet_engine: EngineHandle,
) -> None:
    """EngineHandle's env sets COLUMNS=80, as an operator's tmux pane is."""
    assert wait_until(lambda: _triggers_stored(quiet_engine), 60), "no guard trigger stored"
    done = quiet_engine.cli("guards")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), "\n".join(x for x in lines if len(x) > 80)
    rules = json.loads(quiet_engine.cli("guards", "--json").stdout)["rules"]
    for rule in rules:
        row = next((line for line in lines if line.startswith(rule["name"])), None)
        assert row is not None, (rule["name"], done.stdout)
        if rule.get("threshold_text"):
            assert rule["threshold_text"] in row, (rule["threshold_text"], row)


def _triggers_stored(engine: EngineHandle) -> bool:
    data = json.loads(engine.cli("guards", "--json").stdout or "{}")
    return bool(data.get("recent"))


def test_breaker_json_is_its_state_with_probes_and_history(quiet_engine: EngineHandle) -> None:
    result = quiet_engine.cli("breaker", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["state"] == "closed" and set(data) >= BREAKER_FIELDS
    assert {"probes", "history", "wait_s", "times_opened"} <= set(data)
    assert quiet_engine.cli("breaker").returncode == 0


def test_gas_shows_the_venues_fees_and_the_guards_verdict(quiet_engine: EngineHandle) -> None:
    result = quiet_engine.cli("gas", "--json")
    assert result.returncode == 0, result.stderr
    gas = json.loads(result.stdout)
    assert gas["base_fee"] > 0 and gas["base_fee"] + gas["priority_fee"] == gas["gas_price"]
    expected = "block_unless_profitable" if gas["guard"]["over_cap"] else "allow"
    assert gas["guard"]["verdict"] == expected
    assert [(r["hops"], r["source"]) for r in gas["routes"][:2]] == [(2, "prior"), (3, "prior")]
    assert quiet_engine.cli("gas").returncode == 0


# The simulated executor contract's gas (engine/market/sim/contract.py): 25k base, 45k a
# hop, 5k check, 8k settle.
SIM_GAS = {2: 128_000, 3: 173_000}


def _learnt(engine: EngineHandle) -> list[dict[str, Any]]:
    routes = json.loads(engine.cli("gas", "--json").stdout)["routes"]
    return [r for r in routes if r["source"] == "receipts"]


def test_gas_shows_the_estimate_learnt_per_route_shape_with_its_prior(
    quiet_engine: EngineHandle,
) -> None:
    assert wait_until(lambda: bool(_learnt(quiet_engine)), 60), "no shape learnt from receipts"
    for row in _learnt(quiet_engine):
        assert row["gas_units"] == SIM_GAS[row["hops"]]  # the sim charges exactly this
        assert row["prior"] == {2: 130_000, 3: 180_000}[row["hops"]]
        assert row["observations"] == row["receipts"] >= 1
        assert row["last_used"] == SIM_GAS[row["hops"]]
        assert len(row["dexes"]) == len(row["kinds"]) == row["hops"]
        assert row["shape"].startswith(f"{row['hops']}-hop v2 ")
    text = quiet_engine.cli("gas")
    assert text.returncode == 0, text.stderr
    assert "route shape" in text.stdout and "prior" in text.stdout
    assert all(dex in text.stdout for dex in _learnt(quiet_engine)[0]["dexes"])
    assert "(receipts)" in text.stdout


def test_status_and_the_heartbeat_carry_the_breaker(quiet_engine: EngineHandle) -> None:
    assert set(rpc(quiet_engine, "status")["breaker"]) >= BREAKER_FIELDS

    def heartbeat() -> list[dict]:
        return rpc(quiet_engine, "events.recent", {"topics": ["heartbeat"]})["events"]

    assert wait_until(lambda: bool(heartbeat()))
    assert heartbeat()[-1]["data"]["breaker"]["state"] == "closed"


def test_guard_commands_report_an_unreachable_engine(no_engine: EngineHandle) -> None:
    for argv in (["guards"], ["breaker"], ["gas"], ["breaker", "reset", "-r", "x"]):
        assert no_engine.cli(*argv, "--json").returncode == 3


@pytest.mark.parametrize(
    "argv", [["guards"], ["breaker"], ["breaker", "reset"], ["gas"]], ids=" ".join
)
def test_help_explains_the_exit_codes(argv: list[str]) -> None:
    result = CliRunner().invoke(app, [*argv, "--help"], terminal_width=200)
    assert result.exit_code == 0 and "Exit codes" in result.output


@pytest.mark.parametrize("command", ["guards", "breaker", "gas"])
def test_the_json_path_imports_nothing_heavy(command: str) -> None:
    """Like `status`, these run under monitoring agents: no numpy, rich or engine parts."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "arbctl", command, "--json"],
        capture_output=True,
        text=True,
        env={"ARBCTL_SOCKET": "/tmp/arbctl-test-no-such.sock", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    imported = {
        line.split("|")[-1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert result.returncode == 3
    assert not {m for m in imported if m.split(".")[0] in ("numpy", "rich", "web3", "textual")}
    assert {m for m in imported if m.split(".")[0] == "engine"} <= ALLOWED_ENGINE


def test_metrics_show_the_gas_models_error_in_json_and_text(quiet_engine: EngineHandle) -> None:
    def measured() -> dict[str, Any]:
        return json.loads(quiet_engine.cli("metrics", "--json").stdout)["gas_model"]

    assert wait_until(lambda: measured()["samples"] > 0, 60), "no trade measured"
    gas = measured()
    # the first trades of a shape pay the prior (130k / 180k against 128k / 173k used),
    # the later ones the learnt gas exactly
    assert 0 <= gas["mean_abs"] <= 7_000 and 0 <= gas["p90_abs"] <= 7_000, gas
    assert 0 <= gas["mean_abs_pct"] <= 4.1 and 0 <= gas["p90_abs_pct"] <= 4.1, gas
    assert gas["bias"] >= 0, gas
    text = quiet_engine.cli("metrics")
    assert text.returncode == 0, text.stderr
    assert "gas model" in text.stdout and "p90" in text.stdout, text.stdout


def test_a_restarted_engine_keeps_the_gas_it_learnt(guarded_engine: GuardedEngine) -> None:
    """The model is rebuilt from the ledger's receipts at start (engine/strategy/gas_model.py):
    halted before the restart, the engine trades nothing after it, so what `gas` shows
    learnt from receipts is what the previous run booked."""
    engine = guarded_engine(guards={"disabled": list(QUIET_TRADE_RULES)})
    assert wait_until(lambda: bool(_learnt(engine)), 60), "no shape learnt from receipts"
    assert engine.cli("kill", "--reason", "gas model restart test").returncode == 0
    before = {row["shape"]: row for row in _learnt(engine)}
    engine.stop()
    engine.start()
    after = {row["shape"]: row for row in _learnt(engine)}
    assert set(after) == set(before)
    for shape, row in after.items():
        assert row["receipts"] >= before[shape]["receipts"]
        assert row["gas_units"] == SIM_GAS[row["hops"]]
