"""The deployed world and the files `devnet up` hands to the engine."""

from __future__ import annotations

import stat
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3
from web3.contract import Contract

from engine.devnet import artifacts
from engine.devnet.world import World

pytestmark = pytest.mark.devnet


def _config(world: World) -> dict:
    return tomllib.loads(Path(world.config_file).read_text())


def test_config_names_the_evm_venue_and_its_currencies(world: World) -> None:
    market = _config(world)["market"]

    assert market == {"venue": "evm", "native": "WETH", "quote": "USDC"}


def test_config_lists_every_token_with_its_decimals(world: World) -> None:
    tokens = {t["symbol"]: t for t in _config(world)["evm"]["tokens"]}

    assert set(tokens) == {"WETH", "USDC", "DAI", "WBTC", "LINK"}
    assert tokens["USDC"]["decimals"] == 6
    assert tokens["WETH"]["address"] == world.weth


def test_config_lists_both_factories_with_routers_and_fees(world: World) -> None:
    factories = _config(world)["evm"]["factories"]

    assert [f["name"] for f in factories] == ["uniswap", "sushiswap"]
    assert all(f["fee_bps"] == 30 for f in factories)
    assert factories[0]["router"] != factories[1]["router"]


def test_config_points_at_the_running_node_executor_and_key(world: World) -> None:
    config = _config(world)

    assert config["evm"]["chain_id"] == 31337
    assert config["evm"]["executor"] == world.executor
    assert config["evm"]["key_file"] == world.key_file
    assert config["providers"][0] == {"name": "anvil", "url": world.rpc_url, "priority": 0}
    assert config["strategy"]["base_tokens"] == ["WETH", "USDC"]


def test_config_trades_the_v3_pools_borrowing_from_the_devnet_s_lenders(world: World) -> None:
    config = _config(world)
    assert world.v3 is not None

    assert config["evm"]["v3_factories"] == [{"name": "uniswap-v3", "address": world.v3.factory}]
    sources = [p for p in config["providers"] if p.get("kind") == "liquidity"]
    vault, aave = world.lender("balancer-v2").address, world.lender("aave-v3").address
    # lenders first (a V3 hop cannot be paid by a V2 flash swap), the first pair last
    assert [(p["url"], p["priority"]) for p in sources] == [
        (f"balancer-v2://{vault}?fee_bps=0", 0),
        (f"aave-v3://{aave}?fee_bps=9", 1),
        ("pair://first-hop", 2),
    ]


def test_key_file_is_private_to_its_owner(world: World) -> None:
    mode = stat.S_IMODE(Path(world.key_file).stat().st_mode)

    assert mode == 0o600


def test_key_file_holds_the_operators_key(world: World, operator_key: bytes) -> None:
    assert Account.from_key(operator_key).address == world.operator


def test_operator_is_funded_for_gas(w3: Web3, world: World) -> None:
    assert w3.eth.get_balance(world.operator) >= 10**18


def test_executor_is_owned_by_the_operator_and_knows_both_factories(
    executor: Contract, world: World
) -> None:
    assert executor.functions.owner().call() == world.operator
    assert executor.functions.factories().call() == [d.factory for d in world.dexes]


def test_the_two_dexes_share_bytecode_at_different_addresses(w3: Web3, world: World) -> None:
    uniswap, sushiswap = world.dexes

    assert uniswap.factory != sushiswap.factory
    # Factories only: a router's runtime code embeds its factory address as an immutable.
    assert w3.eth.get_code(uniswap.factory) == w3.eth.get_code(sushiswap.factory)


def test_every_pair_is_where_the_router_computes_it(w3: Web3, world: World) -> None:
    init_code_hash = bytes.fromhex(world.pair_init_code_hash)
    for pair in world.pairs:
        factory = world.dex(pair.dex).factory
        salt = Web3.solidity_keccak(["address", "address"], [pair.token0, pair.token1])
        digest = Web3.keccak(b"\xff" + bytes.fromhex(factory[2:]) + salt + init_code_hash)

        assert Web3.to_checksum_address(digest[12:]) == pair.address


def test_same_pair_is_priced_differently_on_the_two_dexes(w3: Web3, world: World) -> None:
    pair_abi = artifacts.load(artifacts.PAIR).abi
    prices = {}
    for dex in ("uniswap", "sushiswap"):
        record = world.pair(dex, "WETH", "USDC")
        reserve0, reserve1, _ = (
            w3.eth.contract(record.address, abi=pair_abi).functions.getReserves().call()
        )
        prices[dex] = reserve1 * 10**18 // reserve0  # integer price, scaled

    assert prices["uniswap"] != prices["sushiswap"]


def test_stable_coin_has_six_decimals_on_chain(
    world: World, erc20: Callable[[str], Contract]
) -> None:
    usdc = erc20(world.token("USDC").address)

    assert usdc.functions.decimals().call() == 6
