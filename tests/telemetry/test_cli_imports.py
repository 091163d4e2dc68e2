"""`metrics`, `alerts` and `logs` stay on the light path: no web3, textual, numpy or
engine internals; no rich with --json (the pattern of tests/arbctl/test_imports.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.arbctl.test_imports import ALLOWED_ENGINE, HEAVY, _modules_after


@pytest.mark.parametrize(
    "argv",
    [
        ["metrics", "--json"],
        ["metrics", "--help"],
        ["alerts", "--json"],
        ["logs", "--json", "--state-dir", "/tmp/arbctl-test-no-such-dir"],
        ["logs", "--errors", "--search", "x", "--since", "1h", "--state-dir", "/tmp/nowhere"],
    ],
    ids=lambda a: " ".join(a),
)
def test_observe_commands_import_nothing_heavy(argv: list[str]) -> None:
    loaded = _modules_after([argv])
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}
    assert {m for m in loaded if m.split(".")[0] == "engine"} <= ALLOWED_ENGINE


def test_logs_json_does_not_load_rich(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "engine.log").write_text('{"ts": 1.0, "level": "INFO", "msg": "hello"}\n')
    loaded = _modules_after([["logs", "--json", "--state-dir", str(tmp_path)]])
    assert not {m for m in loaded if m.split(".")[0] == "rich"}


@pytest.mark.parametrize("command", ["metrics", "alerts", "logs"])
def test_help_explains_exit_codes(command: str) -> None:
    from typer.testing import CliRunner

    from arbctl.cli import app

    result = CliRunner().invoke(app, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0 and "Exit codes" in result.output
