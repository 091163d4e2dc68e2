"""The runbook scripts on a machine set up by the README: arbctl only in the repo's .venv.

`./scripts/run.sh` installs arbctl into `.venv/bin/arbctl` and nowhere else, so every
script finds it next to itself first, then `$ARBCTL`, then PATH, and says which it used.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from engine import protocol
from tests.conftest import EngineHandle, _alive, wait_until
from tests.scripts.runbook.conftest import REPO, SCRIPTS
from tests.scripts.runbook.test_emergency_shutdown import (
    REASON,
    alerts,
    assert_state_preserved,
    hooked_engine,
)

BESIDE = REPO / ".venv" / "bin" / "arbctl"
BARE_PATH = "/usr/bin:/bin"  # no arbctl here: what a fresh login shell has
BACKUP = "0x" + "1" * 40


def readme_env(handle: EngineHandle, **extra: str) -> dict[str, str]:
    """The engine's paths, no ARBCTL, no ARBCTL_PYTHON, and a PATH without arbctl."""
    env = handle.env()
    env.update({"PATH": BARE_PATH, **extra})
    if handle.config.exists():
        env["ARBCTL_CONFIG"] = str(handle.config)
    return env


def run(script: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(autouse=True)
def _readme_install() -> None:
    if not BESIDE.exists():
        pytest.skip(f"no {BESIDE}: run ./scripts/run.sh (or link the venv) first")
    assert shutil.which("arbctl", path=BARE_PATH) is None


def test_emergency_shutdown_as_installed_halts_logs_alerts_and_backs_up(
    engine_factory: Callable[..., EngineHandle],
) -> None:
    handle, sink = hooked_engine(engine_factory)

    result = run(SCRIPTS / "emergency-shutdown.sh", readme_env(handle), REASON)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"using arbctl {BESIDE} (next to the script)" in result.stderr
    assert "HALT NOT CONFIRMED" not in result.stdout
    assert wait_until(lambda: not _alive(handle.pid))
    halt = protocol.read_halt_marker(handle.state_dir)
    assert halt is not None and halt["reason"] == f"emergency shutdown: {REASON}"
    assert_state_preserved(handle)
    assert wait_until(lambda: any(a["rule"] == "emergency_halt" for a in alerts(sink)))


@pytest.mark.parametrize(
    ("script", "checklist"),
    [("daily-startup.sh", "morning"), ("daily-shutdown.sh", "evening")],
)
def test_the_daily_scripts_as_installed_run_their_checklist(
    engine: EngineHandle, tmp_path: Path, script: str, checklist: str
) -> None:
    args = ["--json"] + (["--reports-dir", str(tmp_path)] if checklist == "evening" else [])

    result = run(SCRIPTS / script, readme_env(engine), *args)

    assert json.loads(result.stdout)["checklist"] == checklist, result.stderr
    assert f"using arbctl {BESIDE} (next to the script)" in result.stderr


def test_key_compromise_halts_before_any_check_that_could_fail(engine: EngineHandle) -> None:
    """`--sweep-to … --yes` without `--config`: rotate refuses (usage), but only after the
    engine is halted — a compromised key must stop signing first."""
    env = readme_env(engine)
    del env["ARBCTL_CONFIG"]

    result = run(SCRIPTS / "key-compromise.sh", env, "--sweep-to", BACKUP, "--yes", "laptop")

    assert result.returncode == 2, result.stdout + result.stderr
    assert "needs --config" in result.stderr
    assert f"using arbctl {BESIDE} (next to the script)" in result.stderr
    status = json.loads(engine.cli("status", "--json").stdout)
    assert status["state"] == "halted"
    assert status["halt"]["reason"] == "key compromise: laptop"


@pytest.fixture
def scripts_elsewhere(tmp_path: Path) -> Path:
    """The scripts copied where no .venv is beside them (e.g. /usr/local/bin in an image)."""
    target = tmp_path / "bin"
    target.mkdir()
    for path in SCRIPTS.glob("*.sh"):
        shutil.copy2(path, target / path.name)
    return target


def fake_arbctl(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "arbctl"
    path.write_text(f'#!/bin/sh\nexec {sys.executable} -m arbctl "$@"\n')
    path.chmod(0o755)
    return path


def test_without_a_venv_beside_them_the_scripts_use_arbctl_env_then_path(
    no_engine: EngineHandle, scripts_elsewhere: Path, tmp_path: Path
) -> None:
    chosen = fake_arbctl(tmp_path / "chosen")
    on_path = fake_arbctl(tmp_path / "on-path")
    script = scripts_elsewhere / "daily-startup.sh"

    by_env = run(script, readme_env(no_engine, ARBCTL=str(chosen)), "--json")
    by_path = run(script, readme_env(no_engine, PATH=f"{on_path.parent}:{BARE_PATH}"), "--json")
    nowhere = run(script, readme_env(no_engine), "--json")

    assert f"using arbctl {chosen} ($ARBCTL)" in by_env.stderr
    assert f"using arbctl {on_path} (PATH)" in by_path.stderr
    assert json.loads(by_path.stdout)["checklist"] == "morning"
    assert nowhere.returncode == 127
    assert "no arbctl found" in nowhere.stderr and "$ARBCTL" in nowhere.stderr


def test_emergency_shutdown_without_any_arbctl_says_the_halt_is_not_confirmed(
    no_engine: EngineHandle, scripts_elsewhere: Path
) -> None:
    result = run(scripts_elsewhere / "emergency-shutdown.sh", readme_env(no_engine), REASON)

    assert result.returncode == 1
    assert "HALT NOT CONFIRMED" in result.stdout and "no arbctl found" in result.stderr
