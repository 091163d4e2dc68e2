"""Every command's --help teaches: what it does, and what its exit codes mean."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from arbctl.cli import app

COMMANDS = [
    ["status"],
    ["health"],
    ["events"],
    ["audit"],
    ["pause"],
    ["resume"],
    ["kill"],
    ["opportunities"],
    ["trades"],
    ["trade"],
    ["pnl"],
    ["up"],
    ["down"],
    ["engine", "run"],
    ["config", "validate"],
    ["config", "show"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_explains_exit_codes(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "Exit codes" in result.output


def test_top_level_help_lists_the_commands_and_the_exit_code_convention() -> None:
    result = CliRunner().invoke(app, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    for name in ("status", "health", "kill", "up", "down", "config"):
        assert name in result.output
    assert "3 UNKNOWN" in result.output


@pytest.mark.parametrize("command", ["pause", "resume", "kill"])
def test_state_changes_without_reason_say_what_is_missing(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--socket", "/tmp/arbctl-none.sock"])
    assert result.exit_code == 2
    assert "--reason" in result.output
