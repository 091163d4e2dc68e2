"""`arbctl devnet up/status/trade/down` as an operator runs them: separate processes.

Run through `python -m arbctl.commands.devnet` so the suite does not depend on the main
CLI's wiring; the commands are the same typer app either way.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from engine.devnet import anvil, lifecycle, operator_files

pytestmark = pytest.mark.devnet


@dataclass
class Cli:
    directory: Path
    env: dict[str, str]
    transcript: list[str] = field(default_factory=list)  # every byte any command printed

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [
            sys.executable,
            "-m",
            "arbctl.commands.devnet",
            *args,
            "--dir",
            str(self.directory),
        ]
        done = subprocess.run(command, capture_output=True, text=True, env=self.env, timeout=120)
        self.transcript += [done.stdout, done.stderr]
        return done

    def json(self, *args: str) -> dict[str, Any]:
        done = self.run(*args, "--json")
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)


@pytest.fixture(scope="module")
def cli(npm_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    env = {**os.environ, "ARBCTL_NPM_DIR": str(npm_root), "COLUMNS": "200"}
    runner = Cli(tmp_path_factory.mktemp("cli-devnet"), env)
    yield runner
    runner.run("down")


@pytest.fixture(scope="module")
def up(cli: Cli) -> dict[str, Any]:
    return cli.json("up")


@pytest.fixture
def fresh(npm_root: Path, tmp_path: Path) -> Iterator[Cli]:
    """A devnet of the test's own, for tests that stop it or need its whole transcript."""
    runner = Cli(tmp_path, {**os.environ, "ARBCTL_NPM_DIR": str(npm_root), "COLUMNS": "200"})
    yield runner
    runner.run("down")


def test_up_reports_the_node_config_and_contracts(up: dict[str, Any]) -> None:
    assert up["rpc_url"].startswith("http://127.0.0.1:")
    assert Path(up["config_file"]).is_file()
    assert set(up["contracts"]["tokens"]) == {"WETH", "USDC", "DAI", "WBTC", "LINK"}
    assert set(up["contracts"]["dexes"]) == {"uniswap", "sushiswap"}
    assert up["contracts"]["executor"].startswith("0x")


def test_up_writes_the_key_file_with_mode_0600(up: dict[str, Any]) -> None:
    assert stat.S_IMODE(Path(up["key_file"]).stat().st_mode) == 0o600


def test_a_second_up_says_a_devnet_is_already_running(cli: Cli, up: dict[str, Any]) -> None:
    done = cli.run("up", "--json")

    assert done.returncode == 4
    assert json.loads(done.stdout)["error"]["rpc_url"] == up["rpc_url"]


def test_status_reports_block_accounts_and_contracts(cli: Cli, up: dict[str, Any]) -> None:
    status = cli.json("status")

    assert status["block"] > 0
    assert status["contracts"] == up["contracts"]
    operator = next(a for a in status["accounts"] if a["role"] == "operator")
    assert operator["address"] == up["operator"]
    assert operator["eth_wei"] > 0


def test_status_for_humans_shows_the_rpc_url(cli: Cli, up: dict[str, Any]) -> None:
    done = cli.run("status")

    assert done.returncode == 0
    assert up["rpc_url"] in done.stdout


def test_trade_sends_swaps(cli: Cli, up: dict[str, Any]) -> None:
    report = cli.json("trade", "--rate", "50", "--seconds", "1", "--seed", "3")

    assert report["trades"] > 0
    assert report["failed"] == 0
    assert report["last_block"] > report["first_block"]


def test_the_private_key_never_appears_in_any_output(fresh: Cli) -> None:
    up = fresh.run("up")  # the human renderings, then the JSON ones
    assert up.returncode == 0, up.stderr
    key_file = Path(json.loads(fresh.run("status", "--json").stdout)["key_file"])
    key = operator_files.read_key(key_file).hex()
    for args in (["status"], ["trade", "--rate", "20", "--seconds", "0.5"], ["up", "--json"]):
        fresh.run(*args)

    output = "\n".join(fresh.transcript).lower()

    assert key not in output


def test_down_stops_the_node_and_status_then_reports_none(fresh: Cli) -> None:
    devnet = lifecycle.up(fresh.directory, progress=lambda _line: None)  # `up` is tested above

    down = fresh.json("down")

    assert down["stopped"] is True
    assert fresh.run("status", "--json").returncode == 3
    assert not anvil.is_running(devnet.handle)
    assert not Path(devnet.world.key_file).exists()
