"""The test command runs the static checks (ruff lint, ruff format, mypy) before pytest.

scripts/test.sh is what CI runs, so a check it skips is enforced by nothing. The script runs
here in a scratch copy of the repo's layout whose tools (.venv/bin/ruff, mypy, python) and
helper scripts only log their arguments: what is under test is the order and the exit code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("ruff", "mypy", "python")


def _stub(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/usr/bin/env bash\n{body}\n")
    path.chmod(0o755)


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "test.sh", tmp_path / "scripts" / "test.sh")
    for helper in ("venv.sh", "services.sh"):
        _stub(tmp_path / "scripts" / helper, "exit 0")
    for tool in TOOLS:
        name = tool.upper()
        _stub(
            tmp_path / ".venv" / "bin" / tool,
            f'echo "{tool} $*" >> "$CALLS"; exit "${{FAIL_{name}:-0}}"',
        )
    return tmp_path


def _run(scratch: Path, **fail: str) -> tuple[int, list[str]]:
    calls = scratch / "calls.log"
    calls.touch()
    env = {**os.environ, "CALLS": str(calls), **fail}
    done = subprocess.run(
        [str(scratch / "scripts" / "test.sh")], env=env, capture_output=True, check=False
    )
    return done.returncode, [line.strip() for line in calls.read_text().splitlines()]


def test_the_test_command_lints_formats_and_type_checks_before_pytest(scratch: Path) -> None:
    code, calls = _run(scratch)
    assert code == 0
    assert calls[:3] == ["ruff check .", "ruff format --check .", "mypy"]
    assert calls[3].startswith("python -m pytest")


@pytest.mark.parametrize("failing", ["FAIL_RUFF", "FAIL_MYPY"])
def test_a_failing_check_fails_the_test_command_and_pytest_does_not_run(
    scratch: Path, failing: str
) -> None:
    code, calls = _run(scratch, **{failing: "1"})
    assert code != 0
    assert not any(call.startswith("python -m pytest") for call in calls)


def test_mypy_is_a_dev_tool_and_checks_the_core_strictly() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert any(dep.startswith("mypy") for dep in project["project"]["optional-dependencies"]["dev"])
    mypy = project["tool"]["mypy"]
    assert mypy["files"] == ["engine", "arbctl", "screens"] and mypy["warn_unused_ignores"]
    assert "ignore_missing_imports" not in mypy
    strict = next(o for o in mypy["overrides"] if "engine.strategy.*" in o["module"])
    assert {"engine.execution.*", "engine.market.*"} <= set(strict["module"])
    assert strict["disallow_untyped_defs"] and strict["warn_return_any"]
