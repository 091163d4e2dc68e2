"""`arbctl wallet rotate` refuses bad input before it does anything (no chain needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.scripts.runbook.conftest import SCRIPTS

# A config the engine would run (the validator refuses an [evm] it could not trade on).
EVM_CONFIG = """[market]
venue = "evm"

[evm]
chain_id = 31337
executor = "0x84eA74d481Ee0A5332c457a4d796187F6Ba67fEB"
tokens = [
  { address = "0x5FbDB2315678afecb367f032d93F642f64180aa3", symbol = "WETH", decimals = 18 },
  { address = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", symbol = "USDC", decimals = 6 },
]
factories = [{ name = "uniswap", address = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0" }]

[[providers]]
name = "anvil"
url = "http://127.0.0.1:8545"
"""


def rotate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "arbctl", "wallet", "rotate", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_rotate_needs_a_backup_address(tmp_path: Path) -> None:
    result = rotate("--config", str(tmp_path / "engine.toml"), "--yes")

    assert result.returncode == 2
    assert "needs --sweep-to" in result.stderr


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("0x8Ba1f109551bD432803012645Ac136ddd64DBA72", "fails its checksum"),
        ("8ba1f109551bd432803012645ac136ddd64dba72", "is not a valid address"),
        ("0x8ba1f109551bd432803012645ac136ddd64dba7", "is not a valid address"),
        ("0x" + "0" * 40, "zero address"),
    ],
    ids=["bad-checksum", "no-0x", "short", "zero"],
)
def test_a_doubtful_backup_address_is_refused_before_anything_happens(
    tmp_path: Path, address: str, problem: str
) -> None:
    config = tmp_path / "engine.toml"
    config.write_text(EVM_CONFIG)

    result = rotate("--sweep-to", address, "--config", str(config), "--yes", "--json")

    assert result.returncode == 2
    assert problem in json.loads(result.stdout)["error"]["message"]
    assert config.read_text() == EVM_CONFIG
    assert sorted(p.name for p in tmp_path.iterdir()) == ["engine.toml"]


def test_a_config_for_the_simulated_market_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "engine.toml"
    config.write_text("[sim]\nblock_ms = 50\nv3_pools = false\n")

    result = rotate("--sweep-to", "0x" + "1" * 40, "--config", str(config), "--yes")

    assert result.returncode == 2
    assert "market.venue is 'sim', not 'evm'" in result.stderr


def test_the_key_compromise_script_passes_its_options_to_wallet_rotate(tmp_path: Path) -> None:
    config = tmp_path / "engine.toml"
    config.write_text(EVM_CONFIG)
    bad = "0x8Ba1f109551bD432803012645Ac136ddd64DBA72"
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        # The script halts first: never the real default engine's socket or state dir.
        "ARBCTL_SOCKET": str(tmp_path / "engine.sock"),
        "ARBCTL_STATE_DIR": str(tmp_path / "state"),
        **({"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}),
    }

    argv = [str(SCRIPTS / "key-compromise.sh"), "--sweep-to", bad, "--config", str(config)]
    result = subprocess.run(
        [*argv, "--yes", "--json", "laptop", "stolen"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=env,
        stdin=subprocess.DEVNULL,
    )

    assert result.returncode == 2
    assert "fails its checksum" in json.loads(result.stdout)["error"]["message"]
    assert "KEY COMPROMISE RESPONSE — key compromise: laptop stolen" in result.stderr
