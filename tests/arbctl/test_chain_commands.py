"""The preamble every on-chain operator command shares (`arbctl executor …`, `arbctl
wallet rotate`): a config is required (exit 2), it must load and be for the evm venue
(exit 2, the venue named), and the RPC endpoints are --rpc-url else the config's HTTP
providers (tests/execution/test_operator_rpc.py). No chain is needed to see the refusals.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from arbctl.evm_config import EvmConfigRefused, load_evm_config
from tests.scripts.runbook.test_wallet_rotate_usage import EVM_CONFIG

SIM_CONFIG = "[sim]\nblock_ms = 50\nv3_pools = false\n"


def arbctl(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as installed, with no $ARBCTL_CONFIG to fall back on."""
    env = {k: v for k, v in os.environ.items() if k != "ARBCTL_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "arbctl", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def test_an_evm_config_loads(tmp_path: Path) -> None:
    path = tmp_path / "engine.toml"
    path.write_text(EVM_CONFIG)

    assert load_evm_config(path).evm.chain_id == 31337


def test_a_config_for_the_simulated_market_is_refused_naming_its_venue(tmp_path: Path) -> None:
    path = tmp_path / "engine.toml"
    path.write_text(SIM_CONFIG)

    with pytest.raises(EvmConfigRefused) as refused:
        load_evm_config(path)

    assert str(refused.value) == f"{path}: market.venue is 'sim', not 'evm'"


def test_a_config_that_does_not_validate_is_refused_as_invalid(tmp_path: Path) -> None:
    path = tmp_path / "engine.toml"
    path.write_text(EVM_CONFIG.replace('executor = "0x84eA', 'executor = "0xZZ'))

    with pytest.raises(EvmConfigRefused, match=r"^invalid config: "):
        load_evm_config(path)


def test_a_deploy_loads_a_config_that_names_no_executor_yet(tmp_path: Path) -> None:
    path = tmp_path / "engine.toml"
    path.write_text("\n".join(x for x in EVM_CONFIG.splitlines() if "executor" not in x))

    with pytest.raises(EvmConfigRefused):
        load_evm_config(path)
    assert load_evm_config(path, not_yet=("evm.executor",)).evm.executor == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["executor", "status"],
        ["wallet", "rotate", "--sweep-to", "0x" + "1" * 40, "--yes"],
    ],
    ids=["executor", "wallet"],
)
def test_both_command_groups_refuse_a_sim_config_alike(tmp_path: Path, argv: list[str]) -> None:
    path = tmp_path / "engine.toml"
    path.write_text(SIM_CONFIG)

    done = arbctl(*argv, "--config", str(path), "--json")

    assert done.returncode == 2
    message = json.loads(done.stdout)["error"]["message"]
    assert message == f"{path}: market.venue is 'sim', not 'evm'"


@pytest.mark.parametrize(
    "argv",
    [["executor", "status"], ["wallet", "rotate", "--sweep-to", "0x" + "1" * 40, "--yes"]],
    ids=["executor", "wallet"],
)
def test_both_command_groups_need_a_config(argv: list[str]) -> None:
    done = arbctl(*argv, "--json")

    assert done.returncode == 2
    assert json.loads(done.stdout)["error"]["message"] == "needs --config FILE (or $ARBCTL_CONFIG)"
