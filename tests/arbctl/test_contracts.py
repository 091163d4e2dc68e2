"""The CLI's contracts, checked over every command the app has (docs/cli.md "Contracts").

The commands are enumerated from the typer app itself, so a command added tomorrow is
checked tomorrow without anyone remembering to list it:

- engine unreachable exits 3, whatever the command (the exceptions are the commands that
  must work without an engine, each named with its reason in `NO_ENGINE_NEEDED`);
- with --json, stdout is one JSON document even for a usage error (exit 2);
- repeating a state change is not an error: pause twice, resume twice, kill twice exit 0;
- `kill --global` exits 0 when the local halt is persisted, saying what became of the
  global flag.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer._click import core as click
from typer.main import get_command

import arbctl.cli
from tests.conftest import EngineHandle


def _leaf_commands() -> dict[str, Any]:
    """Every invocable command path ("breaker reset", "providers") → its click command."""
    found: dict[str, Any] = {}

    def walk(command: Any, path: list[str], parent: Any) -> None:
        if not hasattr(command, "list_commands"):
            found[" ".join(path)] = command
            return
        if path and command.invoke_without_command:
            found[" ".join(path)] = command
        ctx = click.Context(command, info_name=path[-1] if path else "arbctl", parent=parent)
        for name in command.list_commands(ctx):
            walk(command.get_command(ctx, name), [*path, name], ctx)

    walk(get_command(arbctl.cli.app), [], None)
    return found


COMMANDS = _leaf_commands()

# What a command needs besides its options to get as far as asking the engine.
ARGS: dict[str, list[str]] = {
    "pause": ["-r", "contract"],
    "resume": ["-r", "contract"],
    "trade": ["some-id"],
    "breaker reset": ["-r", "contract"],
    "providers mark-online": ["alpha-rpc", "-r", "contract"],
    "providers mark-offline": ["alpha-rpc", "-r", "contract"],
    "failover": ["--auto", "-r", "contract"],
    "export trades": ["--out", "{dir}/trades.csv"],
    "db cleanup": ["--older-than", "30d"],
    "db backup": ["{dir}/backup.sqlite3"],
    "incident new": ["-s", "P1", "-t", "contract"],
}

# Commands that take --socket yet must not exit 3 when nobody answers, and why.
NO_ENGINE_NEEDED = {
    "kill": "the kill switch persists the halt marker itself: 0 when it is on disk",
    "down": "nothing running is what `down` wants: 0",
    "up": "starts an engine",
    "engine run": "is the engine",
    "tui": "the interactive console shows the engine as not answering and waits",
    "wallet rotate": "halts through `kill` first (and needs --config)",
}


def _argv(name: str, engine: EngineHandle) -> list[str]:
    extra = [a.format(dir=engine.dir) for a in ARGS.get(name, [])]
    return [*name.split(), *extra]


def _options(name: str) -> set[str]:
    return {opt for param in COMMANDS[name].params for opt in getattr(param, "opts", [])}


ENGINE_COMMANDS = sorted(
    n for n in COMMANDS if "--socket" in _options(n) and n not in NO_ENGINE_NEEDED
)
JSON_COMMANDS = sorted(n for n in COMMANDS if "--json" in _options(n))


def test_the_walk_finds_every_command_group_and_the_documented_exceptions_exist() -> None:
    assert {"status", "checklist morning", "triage", "breaker reset", "providers"} <= set(COMMANDS)
    assert set(NO_ENGINE_NEEDED) <= set(COMMANDS)
    assert len(ENGINE_COMMANDS) >= 30


@pytest.mark.parametrize("name", ENGINE_COMMANDS)
def test_an_unreachable_engine_exits_3_with_json_on_stdout(
    no_engine: EngineHandle, name: str
) -> None:
    argv = _argv(name, no_engine)
    result = no_engine.cli(*argv, "--json")
    assert result.returncode == 3, (argv, result.stdout[-400:], result.stderr[-400:])
    json.loads(result.stdout)  # a document, whatever its shape
    human = no_engine.cli(*argv)
    assert human.returncode == 3, (argv, human.stderr[-400:])


@pytest.mark.parametrize("name", JSON_COMMANDS)
def test_a_usage_error_with_json_is_json_on_stdout_with_exit_2(
    no_engine: EngineHandle, name: str
) -> None:
    result = no_engine.cli(*name.split(), "--no-such-option", "--json")
    assert result.returncode == 2, (name, result.stderr[-400:])
    error = json.loads(result.stdout)["error"]
    assert error["kind"] == "usage" and "--no-such-option" in error["message"]


def test_a_bad_choice_with_json_names_the_choices_in_json(no_engine: EngineHandle) -> None:
    result = no_engine.cli("pnl", "--period", "week", "--json")
    assert result.returncode == 2
    assert "'week' is not one of" in json.loads(result.stdout)["error"]["message"]
    assert "╭" not in result.stderr  # no rich box for a script to trip over


def test_a_usage_error_for_humans_still_goes_to_stderr(no_engine: EngineHandle) -> None:
    result = no_engine.cli("pnl", "--period", "week")
    assert result.returncode == 2 and result.stdout == "" and "week" in result.stderr


def test_repeating_a_state_change_is_not_an_error(engine: EngineHandle) -> None:
    for argv in (["pause"], ["pause"], ["resume"], ["resume"], ["kill"], ["kill"]):
        result = engine.cli(*argv, "--reason", "contract: twice")
        assert result.returncode == 0, (argv, result.stdout, result.stderr)
    again = engine.cli("resume", "-r", "clear the halt")
    assert again.returncode == 0
    twice = engine.cli("resume", "-r", "once more", "--json")
    assert twice.returncode == 0 and json.loads(twice.stdout)["already"] is True
    assert "already RUNNING" in engine.cli("resume", "-r", "and again").stdout


def test_kill_global_exits_0_when_the_local_halt_holds_and_says_the_flag_was_not_set(
    engine: EngineHandle,
) -> None:
    argv = ["kill", "--global", "--redis-url", "redis://127.0.0.1:1/0", "-r", "contract"]
    result = engine.cli(*argv, "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["persisted"] is True
    assert report["global"]["ok"] is False
    human = engine.cli(*argv)
    assert human.returncode == 0 and "global halt flag NOT set" in human.stdout


def test_every_exit_code_contract_is_documented() -> None:
    text = (Path(__file__).parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    assert "## Contracts" in text and "tests/arbctl/test_contracts.py" in text
    for name in NO_ENGINE_NEEDED:
        assert f"`{name}`" in text, name


def test_the_module_runs_as_arbctl() -> None:  # the subprocesses above use `python -m arbctl`
    result = subprocess.run(
        [sys.executable, "-m", "arbctl", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
