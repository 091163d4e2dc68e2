"""`arbctl wallet rotate` on the devnet: the Key Compromise Response, checked on-chain.

The old wallet and the executor are given tokens by the deployer (one of anvil's
unlocked accounts), an engine runs on a copy of the devnet's config and key, and every
balance is read straight from the chain with plain JSON-RPC, never through the code
under test. `clean_chain` reverts the chain after each test.
"""

from __future__ import annotations

import json
import os
import pty
import secrets
import shutil
import stat
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_keys import keys

from engine.devnet import anvil
from engine.devnet.batch_call import Send, send_many
from engine.devnet.world import World
from engine.market.evm.abi import calldata
from tests.conftest import EngineHandle, new_engine_dir

pytestmark = pytest.mark.devnet

TRANSFER = "transfer(address,uint256)"
E18 = 10**18
FUNDING = {  # symbol: (to the old wallet, to the executor)
    "WETH": (1 * E18, 2 * E18),
    "USDC": (1_000 * 10**6, 250 * 10**6),
    "DAI": (500 * E18, 0),
}


@dataclass
class Setup:
    world: World
    handle: EngineHandle
    key: Path
    backup: str

    @property
    def config(self) -> Path:
        return self.handle.config

    def rotate(self, *args: str, stdin: int | None = subprocess.DEVNULL) -> subprocess.Popen:
        argv = [sys.executable, "-m", "arbctl", "wallet", "rotate", "--sweep-to", self.backup]
        argv += ["--config", str(self.config), "--json", *args]
        return subprocess.Popen(
            argv,
            env=self.handle.env(),
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def balances(world: World, holder: str) -> dict[str, int]:
    """ETH and every devnet token of `holder`, read in one JSON-RPC batch."""
    calls = [("eth_getBalance", [holder, "latest"])]
    data = calldata("balanceOf(address)", (holder,))
    calls += [("eth_call", [{"to": t.address, "data": data}, "latest"]) for t in world.tokens]
    found = anvil.rpc_batch(world.rpc_url, calls)
    result = {"ETH": int(found[0], 16)}
    result.update({t.symbol: int(r, 16) for t, r in zip(world.tokens, found[1:], strict=True)})
    return result


def fund(world: World) -> None:
    """Tokens for the old wallet and the executor, from the deployer."""
    weth = world.token("WETH").address
    sends = [Send(world.deployer, weth, "deposit()", value=sum(FUNDING["WETH"]))]
    for symbol, amounts in FUNDING.items():
        token = world.token(symbol).address
        for holder, amount in zip((world.operator, world.executor), amounts, strict=True):
            if amount:
                sends.append(Send(world.deployer, token, TRANSFER, (holder, amount)))
    assert all(send_many(world.rpc_url, sends))


def key_hex(path: Path) -> str:
    return path.read_text().strip().lower().removeprefix("0x")


@pytest.fixture
def setup(world: World, clean_chain: None) -> Iterator[Setup]:
    """A copy of the devnet's key and config in a short /tmp dir, tokens to sweep."""
    handle = EngineHandle(dir=new_engine_dir())
    key = handle.dir / "operator.key"
    shutil.copy2(world.key_file, key)
    handle.config_text = Path(world.config_file).read_text().replace(world.key_file, str(key))
    fund(world)
    backup = keys.PrivateKey(secrets.token_bytes(32)).public_key.to_checksum_address()
    yield Setup(world, handle, key, backup)
    handle.cleanup()


def test_rotate_halts_sweeps_everything_to_the_backup_and_switches_the_key(
    setup: Setup,
) -> None:
    world, handle = setup.world, setup.handle
    handle.start()
    old_config = setup.config.read_text()

    process = setup.rotate("--yes")
    out, err = process.communicate(timeout=120)

    assert process.returncode == 0, out + err
    report = json.loads(out)
    assert report["ok"] and report["halted"]
    assert json.loads(handle.cli("status", "--json").stdout)["state"] == "halted"
    # the new key: 0600, named in the report, and the config points at it
    new_key = Path(report["new_key_file"])
    assert stat.S_IMODE(new_key.stat().st_mode) == 0o600
    derived = keys.PrivateKey(bytes.fromhex(key_hex(new_key))).public_key
    assert derived.to_checksum_address() == report["new_address"]
    config = tomllib.loads(setup.config.read_text())
    assert config["evm"]["key_file"] == str(new_key)
    assert Path(report["config_backup"]).read_text() == old_config
    expected = tomllib.loads(old_config)
    expected["evm"]["key_file"] = str(new_key)
    assert config == expected
    # on-chain: nothing left with the old key, everything with the backup address
    left = balances(world, world.operator)
    assert left["ETH"] < 10**15  # ≈ 0 (exactly 0 with a legacy-priced last transfer)
    assert {s: a for s, a in left.items() if s != "ETH" and a} == {}
    assert {s: a for s, a in balances(world, world.executor).items() if s != "ETH" and a} == {}
    received, before = balances(world, setup.backup), report["before"]
    for symbol, (to_wallet, to_executor) in FUNDING.items():
        had = before["wallet"][symbol], before["executor"][symbol]
        assert had[0] >= to_wallet and had[1] >= to_executor
        assert received[symbol] == sum(had)
        assert report["swept"]["executor"].get(symbol, 0) == had[1]
    assert received["ETH"] == report["swept"]["wallet"]["native"]
    assert received["ETH"] + left["ETH"] + report["gas_wei"] == before["wallet"]["native"]
    # every step reported, in order
    names = [step["step"] for step in report["steps"]]
    assert names[:4] == ["halt", "balances", "confirm", "new_key"]
    assert names[-3:] == ["sweep native", "verify", "switch_config"]
    swept = {"withdraw WETH", "withdraw USDC", "transfer WETH", "transfer USDC", "transfer DAI"}
    assert swept <= set(names)
    assert any("new ArbExecutor" in line for line in report["next_steps"])
    for secret in (key_hex(setup.key), key_hex(new_key)):
        assert secret not in (out + err).lower()
    # the documented consequence: the old executor is not the new key's
    handle.stop()
    restart = handle.cli("engine", "run", "--config", str(setup.config))  # exits by itself
    assert restart.returncode == 1
    assert f"is owned by {world.operator}" in restart.stderr


def test_rotate_refuses_without_yes_when_stdin_is_not_a_terminal(setup: Setup) -> None:
    setup.handle.start()
    before = setup.config.read_text()
    keys_before = sorted(setup.handle.dir.glob("*.key"))

    process = setup.rotate()
    out, _ = process.communicate(timeout=60)

    assert process.returncode == 2
    assert "stdin is not a terminal" in json.loads(out)["error"]["message"]
    assert json.loads(setup.handle.cli("status", "--json").stdout)["state"] == "running"
    assert setup.config.read_text() == before
    assert sorted(setup.handle.dir.glob("*.key")) == keys_before


def test_a_mistyped_backup_address_sweeps_nothing(setup: Setup) -> None:
    """On a terminal the operator types the address; a wrong one stops after the halt."""
    world = setup.world
    setup.handle.config.write_text(setup.handle.config_text)  # no engine: the fallback halts
    before = {who: balances(world, who) for who in (world.operator, world.executor)}
    controller, terminal = pty.openpty()
    os.write(controller, b"0x000000000000000000000000000000000000dEaD\n")
    try:
        process = setup.rotate(stdin=terminal)
        out, err = process.communicate(timeout=60)
    finally:
        os.close(terminal)
        os.close(controller)

    assert process.returncode == 1, out + err
    report = json.loads(out)
    assert [s["step"] for s in report["steps"]] == ["halt", "balances", "confirm"]
    assert report["halted"] and not report["steps"][2]["ok"]
    assert "Type the backup address to confirm" in err
    assert (setup.handle.state_dir / "halt.json").exists()
    assert {who: balances(world, who) for who in before} == before
    assert setup.config.read_text() == setup.handle.config_text
    assert sorted(p.name for p in setup.handle.dir.glob("*.key")) == ["operator.key"]


def test_rotate_with_redeploy_leaves_an_executor_the_new_key_owns_named_in_the_config(
    setup: Setup,
) -> None:
    world = setup.world
    setup.handle.start()

    process = setup.rotate("--yes", "--redeploy")
    out, err = process.communicate(timeout=300)

    assert process.returncode == 0, out + err
    report = json.loads(out)
    names = [step["step"] for step in report["steps"]]
    assert names.index("fund_new_key") < names.index("sweep native")
    assert names[-2:] == ["switch_config", "redeploy"]
    new_executor = report["new_executor"]
    assert new_executor and new_executor != world.executor
    owner = anvil.rpc(
        world.rpc_url, "eth_call", [{"to": new_executor, "data": calldata("owner()", ())}, "latest"]
    )
    assert "0x" + owner[-40:] == report["new_address"].lower()
    config = tomllib.loads(setup.config.read_text())
    assert config["evm"]["executor"] == new_executor
    assert config["evm"]["key_file"] == report["new_key_file"]
    # the old wallet paid the new key's deploy gas, the backup got the rest
    received = balances(world, setup.backup)
    funded = report["swept"]["wallet"]["deploy_gas"]
    left = balances(world, world.operator)["ETH"]
    assert (
        received["ETH"] + funded + left + report["gas_wei"] == report["before"]["wallet"]["native"]
    )
    for secret in (key_hex(setup.key), key_hex(Path(report["new_key_file"]))):
        assert secret not in (out + err).lower()
