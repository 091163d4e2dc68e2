"""The operator's key and the real daemon on the devnet: refused when exposed, never shown.

The daemon runs as `arbctl engine run --config <the devnet's own config>` in a
subprocess, on its own socket and state directory; every byte it printed or logged is
searched for the key in each spelling.
"""

from __future__ import annotations

import copy
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.config import EvmSection
from engine.devnet import anvil
from engine.devnet.batch_call import Send, send_many
from engine.devnet.market_spec import DEADLINE
from engine.devnet.world import World
from engine.execution.signer import KeyLoadError, load_signer

pytestmark = pytest.mark.devnet

SWAP = "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)"
WAIT_S = 60.0


def key_text(world: World) -> str:
    return Path(world.key_file).read_text().strip()


def spellings(world: World) -> list[str]:
    bare = key_text(world).lower().removeprefix("0x")
    return [bare, bare.upper()]


def assert_no_key(world: World, text: str) -> None:
    for spelling in spellings(world):
        assert spelling not in text and spelling.lower() not in text.lower()


def exposed_copy(world: World, directory: Path) -> Path:
    path = directory / "operator.key"
    path.write_text(key_text(world) + "\n")
    path.chmod(0o644)
    return path


# --- the signer ----------------------------------------------------------------------------
def test_a_key_file_readable_by_others_is_refused(world: World, tmp_path: Path) -> None:
    exposed = exposed_copy(world, tmp_path)

    with pytest.raises(KeyLoadError) as refused:
        load_signer(EvmSection(key_file=str(exposed)))

    message = str(refused.value)
    assert f"key file {exposed} has mode 0644" in message
    assert "chmod 600" in message
    assert_no_key(world, message)


def test_the_key_can_come_from_the_environment(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARBCTL_TEST_KEY", key_text(world))

    signer = load_signer(EvmSection(key_file="", key_env="ARBCTL_TEST_KEY"))

    assert signer.address == world.operator


def test_a_missing_key_names_both_places_to_put_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARBCTL_TEST_KEY", raising=False)

    with pytest.raises(KeyLoadError, match=r"evm\.key_file .* ARBCTL_TEST_KEY"):
        load_signer(EvmSection(key_file="", key_env="ARBCTL_TEST_KEY"))


def test_the_signer_shows_its_address_and_never_its_key(world: World) -> None:
    signer = load_signer(EvmSection(key_file=world.key_file))

    for shown in (repr(signer), str(signer), f"{signer!r}"):
        assert world.operator in shown
        assert_no_key(world, shown)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(signer)
    with pytest.raises(TypeError, match="cannot be pickled"):
        copy.copy(signer)


# --- the daemon ----------------------------------------------------------------------------
class Daemon:
    """`arbctl engine run` on a config, with its socket and state in a short /tmp path."""

    def __init__(self, config: Path) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="arbevm", dir="/tmp"))
        self.config = config
        self.process: subprocess.Popen[str] | None = None
        self.output = ""

    @property
    def log(self) -> Path:
        return self.dir / "state" / "logs" / "engine.log"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARBCTL_")}
        env.update(ARBCTL_SOCKET=str(self.dir / "engine.sock"))
        env["XDG_RUNTIME_DIR"] = str(self.dir / "run")
        env["XDG_STATE_HOME"] = str(self.dir / "xdg-state")
        return env

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "arbctl",
            "engine",
            "run",
            "--config",
            str(self.config),
            "--socket",
            str(self.dir / "engine.sock"),
            "--state-dir",
            str(self.dir / "state"),
        ]
        self.process = subprocess.Popen(
            command, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def status(self) -> dict[str, Any] | None:
        done = subprocess.run(
            [sys.executable, "-m", "arbctl", "status", "--json"],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=30,
        )
        return json.loads(done.stdout) if done.returncode == 0 else None

    def wait_for(self, predicate: Any, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, self.finish()
            status = self.status()
            if status is not None and predicate(status):
                return status
            time.sleep(0.1)
        pytest.fail(f"timed out waiting for {what}")

    def finish(self, sig: signal.Signals | None = None) -> int:
        """Stop it (if `sig`), wait, and keep everything it printed and logged."""
        assert self.process is not None
        if sig is not None and self.process.poll() is None:
            self.process.send_signal(sig)
        out, _ = self.process.communicate(timeout=WAIT_S)
        self.output = out + (self.log.read_text() if self.log.exists() else "")
        return self.process.returncode

    def cleanup(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    made: list[Daemon] = []
    yield made
    for daemon in made:
        daemon.cleanup()


def operator_nonce(world: World) -> int:
    count = anvil.rpc(world.rpc_url, "eth_getTransactionCount", [world.operator, "pending"])
    return int(count, 16)


def noise_swap(world: World) -> int:
    path = [world.token("DAI").address, world.token("WETH").address]
    args = (30_000 * 10**18, 0, path, world.deployer, DEADLINE)
    send = Send(world.deployer, world.dex("uniswap").router, SWAP, args, gas=300_000)
    assert send_many(world.rpc_url, [send]) == [True]
    return int(anvil.rpc(world.rpc_url, "eth_blockNumber"), 16)


def test_the_daemon_runs_on_the_devnet_config_as_is_and_never_logs_the_key(
    world: World, clean_chain: None, daemons: list[Daemon]
) -> None:
    daemon = Daemon(Path(world.config_file))
    daemons.append(daemon)
    daemon.start()

    daemon.wait_for(lambda s: s["state"] == "running" and s.get("venue") == "evm", "running")
    block = noise_swap(world)
    status = daemon.wait_for(lambda s: (s.get("block") or 0) >= block, "the swap's block")
    code = daemon.finish(signal.SIGTERM)

    assert code == 0, daemon.output
    assert status["chain"] == "anvil-31337"
    assert "evm venue on anvil-31337" in daemon.output
    assert_no_key(world, daemon.output)


def test_the_daemon_refuses_a_wrong_chain_id_and_sends_nothing(
    world: World, tmp_path: Path, daemons: list[Daemon]
) -> None:
    config = tmp_path / "wrong-chain.toml"
    config.write_text(
        Path(world.config_file).read_text().replace("chain_id = 31337", "chain_id = 1")
    )
    first_nonce = operator_nonce(world)
    daemon = Daemon(config)
    daemons.append(daemon)
    daemon.start()

    code = daemon.finish()

    assert code != 0
    assert "serves chain id 31337, but evm.chain_id is 1" in daemon.output
    assert operator_nonce(world) == first_nonce
    assert_no_key(world, daemon.output)


def test_the_daemon_refuses_a_key_file_readable_by_others(
    world: World, tmp_path: Path, daemons: list[Daemon]
) -> None:
    exposed = exposed_copy(world, tmp_path)
    config = tmp_path / "exposed-key.toml"
    config.write_text(Path(world.config_file).read_text().replace(world.key_file, str(exposed)))
    daemon = Daemon(config)
    daemons.append(daemon)
    daemon.start()

    code = daemon.finish()

    assert code != 0
    assert f"key file {exposed} has mode 0644" in daemon.output
    assert_no_key(world, daemon.output)
