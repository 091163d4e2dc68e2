"""Session fixtures for the devnet suite: one npm install, one anvil, one deployed world.

Deploying takes about a second, but every test starts from the same world anyway: tests
that change chain state take the `clean_chain` fixture, which snapshots anvil before the
test and reverts after it, so order never matters.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from web3 import Web3
from web3.contract import Contract

from engine.devnet import anvil, artifacts, compile, lifecycle, npm, operator_files
from engine.devnet.chain import connect
from engine.devnet.lifecycle import Devnet
from engine.devnet.world import World


@pytest.fixture(scope="session")
def npm_root() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("the devnet suite needs node and npm on PATH")
    return npm.ensure_installed(progress=lambda _line: None)


@pytest.fixture(scope="session")
def devnet(npm_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    state = tmp_path_factory.mktemp("devnet")
    running = lifecycle.up(state, progress=lambda _line: None)
    yield running
    lifecycle.down(state)


@pytest.fixture(scope="session")
def world(devnet: Devnet) -> World:
    return devnet.world


@pytest.fixture(scope="session")
def w3(world: World) -> Web3:
    return connect(world.rpc_url)


@pytest.fixture
def clean_chain(world: World) -> Iterator[None]:
    """The shared chain as it was, txpool included: tests that stop automine (recovery,
    reconcile) may leave transactions pending, which a revert alone keeps, and the next
    test's identical transaction is then refused as "already imported"."""
    anvil.rpc(world.rpc_url, "anvil_dropAllTransactions")
    anvil.set_automine(world.rpc_url, True)
    snapshot = anvil.snapshot(world.rpc_url)
    yield
    anvil.revert(world.rpc_url, snapshot)
    anvil.rpc(world.rpc_url, "anvil_dropAllTransactions")


@pytest.fixture(scope="session")
def operator_key(world: World) -> bytes:
    return operator_files.read_key(Path(world.key_file))


@pytest.fixture(scope="session")
def executor(w3: Web3, world: World, npm_root: Path) -> Contract:
    abi = compile.compile_contracts(npm_root)["ArbExecutor"].abi
    return w3.eth.contract(address=world.executor, abi=abi)


@pytest.fixture(scope="session")
def traders(w3: Web3) -> list[str]:
    """Anvil's unlocked accounts other than the deployer: strangers to the executor."""
    return list(w3.eth.accounts[4:8])


@pytest.fixture(scope="session")
def erc20(w3: Web3) -> Callable[[str], Contract]:
    abi = artifacts.load(artifacts.ERC20).abi
    return lambda address: w3.eth.contract(address=address, abi=abi)


@pytest.fixture
def allowed(world: World, executor: Contract) -> Contract:
    """The devnet executor, which `devnet up` allowed to use the V3 factory and lenders."""
    assert world.v3 is not None
    assert executor.functions.v3Factories().call()[0][0] == world.v3.factory
    return executor
