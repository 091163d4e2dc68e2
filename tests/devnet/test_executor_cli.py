"""`arbctl executor deploy|status|withdraw` on a chain `arbctl devnet` did not create.

Each test module run starts its own anvil and deploys bare contracts from the npm
artifacts itself (Uniswap V2 factory, WETH9, two of our test tokens and a pair; a Uniswap
V3 factory and one pool; the Balancer V2 Vault), writes an operator config pointing at
them with a fresh 0600 key, and runs the CLI as an operator would: as a process. What
the CLI claims is checked against the chain (read here with web3) and the audit table
(read from the config's own SQLite ledger).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_keys import keys
from web3 import Web3
from web3.contract import Contract

from engine.devnet import anvil, artifacts, compile, lenders
from engine.devnet.chain import anvil_call, connect, deploy, transact
from engine.ledger.records import AuditEntry
from engine.ledger.sqlite import SqliteLedger

pytestmark = pytest.mark.devnet

E18 = 10**18


@dataclass
class Chain:
    """A bare chain: what the test deployed on it, and an operator's files for it."""

    url: str
    w3: Web3
    factory: str
    v3_factory: str
    v3_pool: str
    vault: str
    tokens: dict[str, Contract]
    directory: Path

    def config(
        self, name: str, key: Path, url: str | None = None, v3_as_market: bool = False
    ) -> Path:
        """The operator's config; `v3_as_market`: the V3 factory is named as a market
        (`evm.v3_factories`) instead of through a `uniswap-v3://` lender."""
        v3_market = f'v3_factories = [{{ name = "bare-v3", address = "{self.v3_factory}" }}]'
        v3_lender = (
            f'\n[[providers]]\nname = "v3-flash"\nkind = "liquidity"\n'
            f'url = "uniswap-v3://{self.v3_pool}?fee_bps=5"\n'
        )
        tokens = ",\n".join(
            f'  {{ address = "{t.address}", symbol = "{s}", decimals = 18 }}'
            for s, t in self.tokens.items()
        )
        text = f"""# an operator's config, written by hand
[market]
venue = "evm"
native = "WETH"
quote = "USDC"

[engine]
state_dir = "{self.directory / "state"}"

[evm]
chain_id = {self.w3.eth.chain_id}
key_file = "{key}"
tokens = [
{tokens},
]
factories = [{{ name = "bare-v2", address = "{self.factory}" }}]
{v3_market if v3_as_market else ""}

[[providers]]
name = "node"
url = "{url or self.url}"

[[providers]]
name = "vault"
kind = "liquidity"
url = "balancer-v2://{self.vault}"
{"" if v3_as_market else v3_lender}
[strategy]
base_tokens = ["WETH", "USDC"]
"""
        path = self.directory / name
        path.write_text(text)
        return path


def new_key(directory: Path, w3: Web3 | None = None) -> tuple[Path, str]:
    """A fresh 0600 key file; funded with gas on `w3` when given."""
    key = keys.PrivateKey(secrets.token_bytes(32))
    path = directory / f"{key.public_key.to_checksum_address()}.key"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key.to_hex() + "\n")
    address = key.public_key.to_checksum_address()
    if w3 is not None:
        anvil_call(w3, "anvil_setBalance", address, hex(10 * E18))
    return path, address


def bare_chain(directory: Path, chain_id: int, npm_root: Path) -> tuple[anvil.AnvilHandle, Chain]:
    handle = anvil.start(directory, chain_id=chain_id)
    w3 = connect(handle.url)
    deployer = w3.eth.accounts[0]
    test_token = compile.compile_contracts(npm_root)["TestToken"]
    tokens = {"WETH": deploy(w3, artifacts.load(artifacts.WETH9, npm_root), deployer)}
    tokens["USDC"] = deploy(w3, test_token, deployer, "Test USD", "USDC", 18, 10**9 * E18)
    transact(tokens["WETH"].functions.deposit(), deployer, value=100 * E18)
    factory = deploy(w3, artifacts.load(artifacts.FACTORY, npm_root), deployer, deployer)
    transact(factory.functions.createPair(tokens["WETH"].address, tokens["USDC"].address), deployer)
    pair_address = factory.functions.getPair(tokens["WETH"].address, tokens["USDC"].address).call()
    pair = w3.eth.contract(address=pair_address, abi=artifacts.load(artifacts.PAIR, npm_root).abi)
    transact(tokens["WETH"].functions.transfer(pair_address, 10 * E18), deployer)
    transact(tokens["USDC"].functions.transfer(pair_address, 30_000 * E18), deployer)
    transact(pair.functions.mint(deployer), deployer)
    v3 = deploy(w3, artifacts.load(artifacts.V3_FACTORY, npm_root), deployer)
    a, b = tokens["WETH"].address, tokens["USDC"].address
    transact(v3.functions.createPool(a, b, 500), deployer)
    v3_pool = v3.functions.getPool(a, b, 500).call()
    vault = lenders.deploy_balancer(w3, deployer, a, npm_root).vault.address
    chain = Chain(handle.url, w3, factory.address, v3.address, v3_pool, vault, tokens, directory)
    return handle, chain


@pytest.fixture(scope="module")
def chain(npm_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    directory = tmp_path_factory.mktemp("bare")
    handle, built = bare_chain(directory, 31337, npm_root)
    yield built
    anvil.stop(handle)


def arbctl(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "arbctl", "executor", *args, "--json"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False)


def audit_rows(chain: Chain) -> list[AuditEntry]:
    async def read() -> list[AuditEntry]:
        store = SqliteLedger(chain.directory / "state" / "ledger.sqlite3")
        await store.open()
        try:
            return await store.list_audit()
        finally:
            await store.close()

    return list(reversed(asyncio.run(read())))


def executor_abi(npm_root: Path) -> list[dict[str, object]]:
    return compile.compile_contracts(npm_root)["ArbExecutor"].abi


def test_deploy_on_a_chain_arbctl_did_not_create_allows_the_config_and_writes_the_address(
    chain: Chain, npm_root: Path
) -> None:
    key, operator = new_key(chain.directory, chain.w3)
    config = chain.config("deploy.toml", key)
    before = config.read_text()

    done = arbctl("deploy", "--config", str(config))

    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    address = report["executor"]["address"]
    assert report["dry_run"] is False and report["executor"]["owner"] == operator
    executor = chain.w3.eth.contract(address=address, abi=executor_abi(npm_root))
    assert executor.functions.owner().call() == operator
    assert executor.functions.factories().call() == [chain.factory]
    v3 = executor.functions.v3Factories().call()
    assert [f for f, _ in v3] == [chain.v3_factory]
    assert bytes(v3[0][1]).hex() == artifacts.v3_pool_init_code_hash(npm_root)
    assert executor.functions.isLender(chain.vault).call()
    assert not executor.functions.paused().call()
    code_hash = "0x" + Web3.keccak(chain.w3.eth.get_code(address)).hex().removeprefix("0x")
    assert report["executor"]["code_hash"] == code_hash
    # the config names the new executor; the old file is kept whole
    assert f'executor = "{address}"' in config.read_text()
    assert Path(report["config_backup"]).read_text() == before
    assert config.read_text().replace(f'executor = "{address}"\n', "") == before
    # audited: the intent before sending, then the outcome
    rows = [(r.action, r.outcome, r.client) for r in audit_rows(chain)][-2:]
    assert rows == [
        ("executor.deploy", "started", "arbctl executor"),
        ("executor.deploy", "ok", "arbctl executor"),
    ]
    assert key.read_text().strip().removeprefix("0x") not in (done.stdout + done.stderr)
    assert "deploying ArbExecutor" in done.stderr  # progress, on stderr


def test_a_v3_factory_named_as_a_market_is_allowed_so_its_pools_callbacks_are_trusted(
    chain: Chain, npm_root: Path
) -> None:
    """A V3 hop's swap callback is paid only to a pool of an allowed factory: a factory
    the config trades on (`evm.v3_factories`) must be on the allowlist, lender or not."""
    key, _ = new_key(chain.directory, chain.w3)
    config = chain.config("v3-market.toml", key, v3_as_market=True)
    assert "uniswap-v3://" not in config.read_text()

    done = arbctl("deploy", "--config", str(config))

    assert done.returncode == 0, done.stdout + done.stderr
    address = json.loads(done.stdout)["executor"]["address"]
    executor = chain.w3.eth.contract(address=address, abi=executor_abi(npm_root))
    v3 = executor.functions.v3Factories().call()
    assert [f for f, _ in v3] == [chain.v3_factory]
    assert bytes(v3[0][1]).hex() == artifacts.v3_pool_init_code_hash(npm_root)


def test_status_and_withdraw_move_the_funds_to_the_given_address_and_are_audited(
    chain: Chain,
) -> None:
    key, _operator = new_key(chain.directory, chain.w3)
    config = chain.config("withdraw.toml", key)
    assert arbctl("deploy", "--config", str(config)).returncode == 0
    executor = json.loads(arbctl("status", "--config", str(config)).stdout)["address"]
    deployer = chain.w3.eth.accounts[0]
    usdc, weth = chain.tokens["USDC"], chain.tokens["WETH"]
    transact(usdc.functions.transfer(executor, 1_234 * E18), deployer)
    transact(weth.functions.transfer(executor, 2 * E18), deployer)
    _, receiver = new_key(chain.directory)

    status = json.loads(arbctl("status", "--config", str(config)).stdout)
    assert status["balances"] == {"WETH": 2 * E18, "USDC": 1_234 * E18}
    assert status["key_is_owner"] and status["code_matches_build"]
    assert status["lenders"] == {chain.vault: True} and status["paused"] is False

    one = arbctl("withdraw", "USDC", "--to", receiver, "--reason", "test", "--config", str(config))
    assert one.returncode == 0, one.stdout + one.stderr
    assert usdc.functions.balanceOf(receiver).call() == 1_234 * E18
    assert usdc.functions.balanceOf(executor).call() == 0
    assert weth.functions.balanceOf(executor).call() == 2 * E18, "only the token asked for"
    moved = json.loads(one.stdout)["withdrawn"]
    assert [(m["symbol"], m["amount"]) for m in moved] == [("USDC", 1_234 * E18)]

    rest = arbctl(
        "withdraw", "--all", "--to", receiver, "--reason", "empty", "--config", str(config)
    )
    assert rest.returncode == 0, rest.stdout + rest.stderr
    assert weth.functions.balanceOf(receiver).call() == 2 * E18
    assert weth.functions.balanceOf(executor).call() == 0
    rows = [(r.action, r.outcome, r.reason) for r in audit_rows(chain)][-4:]
    assert rows == [
        ("executor.withdraw", "started", "test"),
        ("executor.withdraw", "ok", "test"),
        ("executor.withdraw", "started", "empty"),
        ("executor.withdraw", "ok", "empty"),
    ]


def test_withdraw_with_a_key_that_does_not_own_the_executor_is_refused_before_sending(
    chain: Chain,
) -> None:
    key, _ = new_key(chain.directory, chain.w3)
    config = chain.config("owner.toml", key)
    assert arbctl("deploy", "--config", str(config)).returncode == 0
    executor = json.loads(arbctl("status", "--config", str(config)).stdout)["address"]
    transact(chain.tokens["USDC"].functions.transfer(executor, E18), chain.w3.eth.accounts[0])
    stranger_key, stranger = new_key(chain.directory, chain.w3)
    stolen = config.read_text().replace(str(key), str(stranger_key))
    (chain.directory / "stranger.toml").write_text(stolen)

    done = arbctl(
        "withdraw", "--all", "--to", stranger, "--reason", "theft",
        "--config", str(chain.directory / "stranger.toml"),
    )  # fmt: skip

    assert done.returncode == 1
    assert "only the owner may withdraw" in json.loads(done.stdout)["error"]["message"]
    assert chain.tokens["USDC"].functions.balanceOf(executor).call() == E18
    status = json.loads(arbctl("status", "--config", str(chain.directory / "stranger.toml")).stdout)
    assert status["key_is_owner"] is False


def test_a_dead_rpc_endpoint_exits_3_naming_it(chain: Chain) -> None:
    key, _ = new_key(chain.directory)
    dead = f"http://127.0.0.1:{anvil.free_port()}"
    config = chain.config("dead.toml", key, url=dead)

    done = arbctl("deploy", "--config", str(config))

    assert done.returncode == 3
    assert "no usable RPC endpoint" in json.loads(done.stdout)["error"]["message"]
    assert "127.0.0.1" in done.stdout


def test_a_missing_or_unreadable_key_is_a_usage_error(chain: Chain) -> None:
    key, _ = new_key(chain.directory)
    key.chmod(0o644)
    config = chain.config("wide.toml", key)

    done = arbctl("deploy", "--config", str(config))

    assert done.returncode == 2
    assert "0600" in done.stdout


def test_on_a_mainnet_chain_id_deploy_is_a_dry_run_until_yes(
    npm_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory = tmp_path_factory.mktemp("mainnet")
    handle, mainnet = bare_chain(directory, 1, npm_root)
    try:
        key, operator = new_key(directory, mainnet.w3)
        config = mainnet.config("mainnet.toml", key)
        before = config.read_text()

        rehearsal = arbctl("deploy", "--config", str(config))

        assert rehearsal.returncode == 0, rehearsal.stdout + rehearsal.stderr
        report = json.loads(rehearsal.stdout)
        assert report["dry_run"] is True and report["chain_id"] == 1
        assert report["rehearsal"]["creation_gas"] > 1_000_000
        assert report["rehearsal"]["follow_up_transactions"] == 2
        assert mainnet.w3.eth.get_transaction_count(operator) == 0, "nothing was sent"
        assert config.read_text() == before

        real = arbctl("deploy", "--config", str(config), "--yes")

        assert real.returncode == 0, real.stdout + real.stderr
        address = json.loads(real.stdout)["executor"]["address"]
        assert mainnet.w3.eth.get_code(address)
        assert f'executor = "{address}"' in config.read_text()

        usdc = mainnet.tokens["USDC"]
        transact(usdc.functions.transfer(address, 5 * E18), mainnet.w3.eth.accounts[0])
        _, receiver = new_key(directory)
        argv = ["withdraw", "USDC", "--to", receiver, "--reason", "r", "--config", str(config)]
        dry = arbctl(*argv)
        assert dry.returncode == 0, dry.stdout + dry.stderr
        assert json.loads(dry.stdout) == {
            "executor": address,
            "to": receiver,
            "dry_run": True,
            "would_withdraw": {"USDC": 5 * E18},
        }
        assert usdc.functions.balanceOf(address).call() == 5 * E18
        assert arbctl(*argv, "--yes").returncode == 0
        assert usdc.functions.balanceOf(receiver).call() == 5 * E18
    finally:
        anvil.stop(handle)


def test_a_key_without_gas_money_is_told_to_fund_itself_and_the_failure_is_audited(
    chain: Chain,
) -> None:
    key, operator = new_key(chain.directory)  # never funded
    config = chain.config("unfunded.toml", key)
    before = config.read_text()

    done = arbctl("deploy", "--config", str(config))

    assert done.returncode == 1
    message = json.loads(done.stdout)["error"]["message"]
    assert f"{operator} holds 0 wei" in message and "fund the key" in message
    assert chain.w3.eth.get_transaction_count(operator) == 0
    assert config.read_text() == before
    rows = [(r.action, r.outcome) for r in audit_rows(chain)][-2:]
    assert rows == [("executor.deploy", "started"), ("executor.deploy", "failed")]
