"""`arbctl up` says what came up: the config error by its key, HALTED and why, which config.

Issue 11: `up --json` said only "engine failed to start … exit code N" for a config the
engine refused (finding 7), and never said that the engine came up halted or which
config file it runs (finding 9).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from engine.protocol import write_halt_marker
from tests.conftest import EngineHandle

BROKEN = [
    ("negative sim.block_ms", "[sim]\nblock_ms = -5\n", "sim.block_ms"),
    ("postgres without a dsn", '[ledger]\nbackend = "postgres"\n', "ledger.dsn"),
    # Only the engine knows the simulated market's symbols: refused at start, not by validate.
    ("unknown base token", '[strategy]\nbase_tokens = ["WETH", "NOPE"]\n', "strategy.base_tokens"),
]


def _up(handle: EngineHandle, *extra: str):
    handle.config.write_text(handle.config_text)
    result = handle.cli("up", "--config", str(handle.config), *extra)
    if result.returncode == 0 and "--json" in extra:
        handle.started.append(int(json.loads(result.stdout)["pid"]))
    return result


@pytest.mark.parametrize(("text", "key"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_up_with_a_broken_config_reports_the_key(
    engine_factory: Callable[..., EngineHandle], text: str, key: str
) -> None:
    handle = engine_factory(start=False)
    handle.config_text = text
    human = _up(handle)
    assert human.returncode == 1
    assert key in human.stderr
    assert "exit code" not in human.stderr and "exited with code" not in human.stderr
    result = _up(handle, "--json")
    error = json.loads(result.stdout)["error"]
    assert result.returncode == 1
    assert error["kind"] == "invalid_config"
    assert error["key"] == key
    assert key in {e["key"] for e in error["errors"]}
    assert error["file"] == str(handle.config)


def test_up_reports_halted_with_the_reason_when_a_halt_marker_exists(
    engine_factory: Callable[..., EngineHandle],
) -> None:
    handle = engine_factory(start=False)
    write_halt_marker(handle.state_dir, "runaway losses on pool 7", 1000, "cli")
    result = _up(handle, "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0, result.stderr
    assert report["halted"] is True
    assert report["halt"]["reason"] == "runaway losses on pool 7"
    handle.stop()
    human = _up(handle)
    assert human.returncode == 0, human.stderr
    assert "HALTED" in human.stdout
    assert "runaway losses on pool 7" in human.stdout
    assert "resume" in human.stdout


def test_up_names_the_config_file_it_runs(engine_factory: Callable[..., EngineHandle]) -> None:
    handle = engine_factory(start=False)
    result = _up(handle, "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0, result.stderr
    assert report["config_source"] == str(handle.config)
    assert report["halted"] is False and report["halt"] is None
    handle.stop()
    human = _up(handle)
    assert human.returncode == 0, human.stderr
    assert f"config: {handle.config}" in human.stdout
    assert "HALTED" not in human.stdout


def test_up_without_a_config_says_it_runs_the_defaults(
    engine_factory: Callable[..., EngineHandle],
) -> None:
    handle = engine_factory(start=False)
    result = handle.cli("up", "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0, result.stderr
    handle.started.append(int(report["pid"]))
    assert report["config_source"] == "<defaults>"
