"""The runbook commands stay on the light path (tests/arbctl/test_imports.py's rule): no
web3, textual, numpy or engine internals, even when they read the state directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.arbctl.test_imports import ALLOWED_ENGINE, HEAVY, _modules_after

STATE = "{tmp}/state"


@pytest.mark.parametrize(
    "argv",
    [
        ["checklist", "morning", "--json", "--state-dir", STATE],
        ["checklist", "evening", "--json", "--state-dir", STATE, "--reports-dir", STATE],
        ["triage", "--json", "--state-dir", STATE],
        ["report", "daily", "--json", "--state-dir", STATE],
        ["report", "performance", "--json", "--state-dir", STATE],
        ["incident", "new", "-s", "P2", "-t", "x", "--json", "--out", "{tmp}/x.md"],
        ["status", "--json"],  # registering the runbook commands costs a plain command nothing
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_runbook_commands_import_nothing_heavy(argv: list[str], tmp_path: Path) -> None:
    loaded = _modules_after([[arg.format(tmp=tmp_path) for arg in argv]])
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}
    assert {m for m in loaded if m.split(".")[0] == "engine"} <= ALLOWED_ENGINE


def test_plain_commands_do_not_load_the_runbook_package() -> None:
    loaded = _modules_after([["status", "--json"], ["health", "--json"]])
    assert "arbctl.runbook" not in loaded


@pytest.mark.parametrize(
    "command",
    [
        ["checklist", "morning"],
        ["checklist", "evening"],
        ["triage"],
        ["report", "daily"],
        ["report", "performance"],
        ["incident", "new"],
    ],
)
def test_help_explains_exit_codes(command: list[str]) -> None:
    from typer.testing import CliRunner

    from arbctl.cli import app

    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0 and "Exit codes" in result.output
