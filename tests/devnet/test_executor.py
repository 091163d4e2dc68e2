"""ArbExecutor on the devnet: exact profits, and everything that must revert.

Every test that changes the chain runs inside `clean_chain` (anvil snapshot/revert).
Profits are predicted with the engine's integer math on reserves read just before the
transaction, so "exactly the predicted profit" means to the base unit.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from web3 import Web3
from web3.contract import Contract

from engine.devnet import artifacts
from engine.devnet.chain import DevnetChainError, send_signed, transact
from engine.devnet.market_spec import DEADLINE
from engine.devnet.world import World
from engine.market.amm import get_amount_out

pytestmark = [pytest.mark.devnet, pytest.mark.usefixtures("clean_chain")]

FEE_BPS = 30


Reserves = dict[str, tuple[int, int]]


def _reserves(w3: Web3, pairs: list[str]) -> Reserves:
    abi = artifacts.load(artifacts.PAIR).abi
    found = {}
    for address in pairs:
        reserve0, reserve1, _ = (
            w3.eth.contract(address=address, abi=abi).functions.getReserves().call()
        )
        found[address] = (reserve0, reserve1)
    return found


def _route_out(
    world: World, reserves: Reserves, pairs: list[str], token_in: str, amount_in: int
) -> int:
    """What the route returns for `amount_in`, hop by hop with the engine's math."""
    records = {p.address: p for p in world.pairs}
    token, amount = token_in, amount_in
    for address in pairs:
        pair = records[address]
        reserve0, reserve1 = reserves[address]
        zero_for_one = token == pair.token0
        reserve_in, reserve_out = (reserve0, reserve1) if zero_for_one else (reserve1, reserve0)
        amount = get_amount_out(amount, reserve_in, reserve_out, FEE_BPS)
        token = pair.token1 if zero_for_one else pair.token0
    assert token == token_in
    return amount


def _best_trade(
    w3: Web3, world: World, pairs: list[str], token_in: str, high: int
) -> tuple[int, int]:
    """(amount_in, profit) maximising the (concave) profit over (0, high], by ternary search."""
    reserves = _reserves(w3, pairs)

    def profit(amount: int) -> int:
        return _route_out(world, reserves, pairs, token_in, amount) - amount

    low = 1
    while high - low > 2:
        a, b = low + (high - low) // 3, high - (high - low) // 3
        low, high = (low, b) if profit(a) >= profit(b) else (a, high)
    return low, profit(low)


def _swap(w3: Web3, world: World, dex: str, sell: str, buy: str, amount: int) -> None:
    """The deployer (approved on both routers, rich in every token) moves a price."""
    router = w3.eth.contract(
        address=world.dex(dex).router, abi=artifacts.load(artifacts.ROUTER02).abi
    )
    path = [world.token(sell).address, world.token(buy).address]
    call = router.functions.swapExactTokensForTokens(amount, 0, path, world.deployer, DEADLINE)
    transact(call, world.deployer)


def _two_pair_opportunity(w3: Web3, world: World) -> tuple[list[str], str, int, int]:
    """Push WETH up on uniswap's WETH/DAI; sell WETH there, buy it back on sushiswap."""
    _swap(w3, world, "uniswap", "DAI", "WETH", 30_000 * 10**18)
    pairs = [
        world.pair("uniswap", "WETH", "DAI").address,
        world.pair("sushiswap", "WETH", "DAI").address,
    ]
    amount, profit = _best_trade(w3, world, pairs, world.weth, 50 * 10**18)
    assert profit > 0, "the dislocation should be profitable"
    return pairs, world.weth, amount, profit


def _three_pair_opportunity(w3: Web3, world: World) -> tuple[list[str], str, int, int]:
    """Make USDC dear on sushiswap's DAI/USDC; go WETH → USDC → DAI → WETH."""
    _swap(w3, world, "sushiswap", "DAI", "USDC", 20_000 * 10**18)
    pairs = [
        world.pair("uniswap", "WETH", "USDC").address,
        world.pair("sushiswap", "USDC", "DAI").address,
        world.pair("uniswap", "WETH", "DAI").address,
    ]
    amount, profit = _best_trade(w3, world, pairs, world.weth, 50 * 10**18)
    assert profit > 0, "the dislocation should be profitable"
    return pairs, world.weth, amount, profit


@pytest.mark.parametrize("opportunity", [_two_pair_opportunity, _three_pair_opportunity])
def test_execute_pays_the_owner_exactly_the_predicted_profit(
    w3: Web3,
    world: World,
    executor: Contract,
    operator_key: bytes,
    erc20: Callable[[str], Contract],
    opportunity: Callable[[Web3, World], tuple[list[str], str, int, int]],
) -> None:
    pairs, token_in, amount_in, predicted = opportunity(w3, world)
    weth = erc20(token_in)
    before = weth.functions.balanceOf(world.operator).call()

    send_signed(executor.functions.execute(pairs, token_in, amount_in, predicted), operator_key)

    assert weth.functions.balanceOf(world.operator).call() - before == predicted
    assert weth.functions.balanceOf(executor.address).call() == 0


def test_a_dry_run_of_execute_returns_the_profit(
    w3: Web3, world: World, executor: Contract
) -> None:
    pairs, token_in, amount_in, predicted = _two_pair_opportunity(w3, world)

    quoted = executor.functions.execute(pairs, token_in, amount_in, 0).call(
        {"from": world.operator}
    )

    assert quoted == predicted


def test_profit_below_minimum_reverts(
    w3: Web3, world: World, executor: Contract, operator_key: bytes
) -> None:
    pairs, token_in, amount_in, predicted = _two_pair_opportunity(w3, world)
    call = executor.functions.execute(pairs, token_in, amount_in, predicted + 1)

    with pytest.raises(DevnetChainError, match="ArbExecutor: profit below minimum"):
        send_signed(call, operator_key)


def test_a_losing_route_reverts_even_with_zero_minimum(
    world: World, executor: Contract, operator_key: bytes
) -> None:
    # Undisturbed uniswap -> sushiswap WETH/DAI: sushiswap's WETH is cheaper, so this loses.
    pairs = [
        world.pair("uniswap", "WETH", "DAI").address,
        world.pair("sushiswap", "WETH", "DAI").address,
    ]
    call = executor.functions.execute(pairs, world.weth, 10**18, 0)

    with pytest.raises(DevnetChainError, match="ArbExecutor: profit below minimum"):
        send_signed(call, operator_key)


def test_a_non_owner_cannot_execute(
    w3: Web3, world: World, executor: Contract, traders: list[str]
) -> None:
    pairs, token_in, amount_in, _ = _two_pair_opportunity(w3, world)

    with pytest.raises(DevnetChainError, match="ArbExecutor: caller is not the owner"):
        transact(executor.functions.execute(pairs, token_in, amount_in, 0), traders[0])


def test_a_direct_callback_from_a_non_pair_reverts(executor: Contract, traders: list[str]) -> None:
    call = executor.functions.uniswapV2Call(executor.address, 10**18, 0, b"\x01")

    with pytest.raises(DevnetChainError, match="ArbExecutor: caller is not a known pair"):
        transact(call, traders[0])


def test_a_flash_swap_started_by_a_stranger_is_rejected(
    w3: Web3, world: World, executor: Contract, traders: list[str]
) -> None:
    pair = w3.eth.contract(
        address=world.pair("uniswap", "WETH", "DAI").address, abi=artifacts.load(artifacts.PAIR).abi
    )
    call = pair.functions.swap(10**15, 10**15, executor.address, b"\x01")

    with pytest.raises(DevnetChainError, match="ArbExecutor: swap not initiated by this contract"):
        transact(call, traders[0])


def test_the_owner_can_sweep_a_token_balance(
    world: World,
    executor: Contract,
    operator_key: bytes,
    erc20: Callable[[str], Contract],
) -> None:
    usdc = erc20(world.token("USDC").address)
    transact(usdc.functions.transfer(executor.address, 1_234_567), world.deployer)

    send_signed(executor.functions.withdraw(usdc.address, world.operator), operator_key)

    assert usdc.functions.balanceOf(world.operator).call() == 1_234_567
    assert usdc.functions.balanceOf(executor.address).call() == 0


def test_a_non_owner_cannot_sweep(world: World, executor: Contract, traders: list[str]) -> None:
    call = executor.functions.withdraw(world.token("USDC").address, traders[0])

    with pytest.raises(DevnetChainError, match="ArbExecutor: caller is not the owner"):
        transact(call, traders[0])
