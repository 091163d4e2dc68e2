"""ArbExecutor.run: mixed V2/V3 routes, lenders, and what an attacker would try.

Profits are predicted with the engine's own integer math — `engine.market.amm` for V2
hops, `engine.market.v3.pool.swap` on the state `engine.market.evm.v3_pools` reads for
V3 hops — so "the predicted profit" means to the base unit. Every test runs inside
`clean_chain` (anvil snapshot/revert).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from engine.devnet import artifacts
from engine.devnet.chain import DevnetChainError, send_signed, transact
from engine.devnet.world import World
from tests.devnet.routes import HOP_V2, HOP_V3, balance, best, hops, v3_pool

pytestmark = [pytest.mark.devnet, pytest.mark.usefixtures("clean_chain")]

LOAN_NONE, LOAN_V3_FLASH = 0, 1


def test_a_v3_then_v2_cycle_from_inventory_pays_exactly_the_predicted_profit(
    w3: Web3, world: World, allowed: Contract, operator_key: bytes, erc20: Callable[[str], Contract]
) -> None:
    usdc, weth = world.token("USDC").address, world.weth
    size, predicted = best(w3, world, usdc, weth)
    transact(erc20(usdc).functions.transfer(allowed.address, size), world.deployer)
    before = balance(erc20, usdc, world.operator)
    call = allowed.functions.run(hops(world, usdc, weth), usdc, size, 1, LOAN_NONE, world.deployer)
    assert call.call({"from": world.operator}) == predicted
    send_signed(call, operator_key)
    assert balance(erc20, usdc, world.operator) - before == predicted
    assert balance(erc20, usdc, allowed.address) == size, "the inventory is back, whole"


def test_a_v3_flash_loan_from_a_pool_off_the_route_is_repaid_with_its_fee(
    w3: Web3, world: World, allowed: Contract, operator_key: bytes, erc20: Callable[[str], Contract]
) -> None:
    usdc, weth = world.token("USDC").address, world.weth
    size, gross = best(w3, world, usdc, weth)
    lender = v3_pool(world, "USDC", "DAI", 100)
    fee = -(-size * lender.fee_pips // 1_000_000)  # FullMath.mulDivRoundingUp
    lender_before = balance(erc20, usdc, lender.address)
    before = balance(erc20, usdc, world.operator)
    call = allowed.functions.run(
        hops(world, usdc, weth), usdc, size, 1, LOAN_V3_FLASH, lender.address
    )
    assert call.call({"from": world.operator}) == gross - fee
    send_signed(call, operator_key)
    assert balance(erc20, usdc, world.operator) - before == gross - fee
    assert balance(erc20, usdc, lender.address) - lender_before == fee
    assert balance(erc20, usdc, allowed.address) == 0


def test_callbacks_from_anyone_outside_our_own_run_are_refused(
    w3: Web3, world: World, allowed: Contract, traders: list[str]
) -> None:
    stranger = traders[0]
    usdc = world.token("USDC").address
    data = Web3.to_bytes(hexstr="0x" + usdc[2:].rjust(64, "0"))
    calls = [
        allowed.functions.uniswapV3SwapCallback(10**6, 0, data),
        allowed.functions.uniswapV3FlashCallback(0, 0, b""),
        allowed.functions.receiveFlashLoan([usdc], [1], [0], b""),
        allowed.functions.executeOperation(usdc, 1, 0, allowed.address, b""),
    ]
    for call in calls:
        with pytest.raises(DevnetChainError, match="unexpected callback"):
            transact(call, stranger)


def test_a_v3_flash_someone_else_starts_toward_us_cannot_make_us_pay(
    w3: Web3,
    world: World,
    allowed: Contract,
    traders: list[str],
    erc20: Callable[[str], Contract],
) -> None:
    """A V3 pool calls back its caller, not the recipient: the stranger's own flash fails
    and the executor neither pays a fee nor keeps anything."""
    usdc = world.token("USDC").address
    lender = v3_pool(world, "USDC", "DAI", 100)
    pool = w3.eth.contract(address=lender.address, abi=artifacts.load(artifacts.V3_POOL).abi)
    amount0, amount1 = (10**6, 0) if lender.token0 == usdc else (0, 10**6)
    with pytest.raises(DevnetChainError):
        transact(pool.functions.flash(allowed.address, amount0, amount1, b""), traders[0])
    assert balance(erc20, usdc, allowed.address) == 0


def test_strangers_cannot_run_withdraw_pause_or_allow(
    world: World, allowed: Contract, traders: list[str]
) -> None:
    usdc, weth = world.token("USDC").address, world.weth
    calls = [
        allowed.functions.run(hops(world, usdc, weth), usdc, 10**6, 0, LOAN_NONE, world.deployer),
        allowed.functions.withdraw(usdc, traders[0]),
        allowed.functions.setPaused(True),
        allowed.functions.setLender(traders[0], True),
        allowed.functions.allowV3Factory(traders[0], b"\x00" * 32),
    ]
    for call in calls:
        with pytest.raises(DevnetChainError, match="not the owner"):
            transact(call, traders[0])


def test_a_paused_executor_runs_nothing(
    world: World, allowed: Contract, operator_key: bytes
) -> None:
    usdc, weth = world.token("USDC").address, world.weth
    send_signed(allowed.functions.setPaused(True), operator_key)
    call = allowed.functions.run(hops(world, usdc, weth), usdc, 10**6, 0, LOAN_NONE, world.deployer)
    with pytest.raises(ContractLogicError, match="paused"):
        call.call({"from": world.operator})


def test_a_pool_not_created_by_an_allowed_factory_is_refused(
    world: World, allowed: Contract, erc20: Callable[[str], Contract]
) -> None:
    usdc, weth = world.token("USDC").address, world.weth
    transact(erc20(usdc).functions.transfer(allowed.address, 10**6), world.deployer)
    pair = world.pair("uniswap", "WETH", "USDC")
    hops = [(HOP_V3, pair.address, weth, 0), (HOP_V2, pair.address, usdc, 30)]
    call = allowed.functions.run(hops, usdc, 10**6, 0, LOAN_NONE, world.deployer)
    with pytest.raises(ContractLogicError, match="not a known V3 pool"):
        call.call({"from": world.operator})
