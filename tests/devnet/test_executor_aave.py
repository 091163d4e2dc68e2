"""ArbExecutor borrowing from a real Aave V3 Pool (`@aave/core-v3`) on the devnet.

The market is deployed from the registry's artifacts (provider, ACL, Pool and
PoolConfigurator behind their proxies, logic libraries linked), USDC listed as a reserve
with flash loans on and supplied. `flashLoanSimple` charges the pool's premium
(`percentMul`, half up) and pulls amount + premium with `transferFrom`: the executor
approves exactly that, so no allowance is left; a paused reserve refuses the loan; a
loan a stranger starts toward the executor reverts in our callback.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from web3 import Web3
from web3.contract import Contract

from engine.devnet import lenders
from engine.devnet.chain import DevnetChainError, send_signed, transact
from engine.devnet.world import World
from tests.devnet.routes import balance, best, hops

pytestmark = [pytest.mark.devnet, pytest.mark.usefixtures("clean_chain")]

LOAN_AAVE = 3
SUPPLIED_USDC = 10**12


@pytest.fixture
def aave(
    w3: Web3,
    world: World,
    erc20: Callable[[str], Contract],
    operator_key: bytes,
    allowed: Contract,
) -> lenders.Aave:
    market = lenders.deploy_aave(w3, world.deployer)
    usdc = erc20(world.token("USDC").address)
    lenders.list_aave_reserve(w3, market, world.deployer, usdc, SUPPLIED_USDC)
    send_signed(allowed.functions.setLender(market.pool.address, True), operator_key)
    return market


def test_an_aave_flash_loan_is_repaid_with_its_premium_and_leaves_no_allowance(
    w3: Web3,
    world: World,
    allowed: Contract,
    aave: lenders.Aave,
    operator_key: bytes,
    erc20: Callable[[str], Contract],
) -> None:
    usdc, weth = world.token("USDC").address, world.weth
    size, gross = best(w3, world, usdc, weth)
    premium = lenders.aave_premium(size)
    before = balance(erc20, usdc, world.operator)
    call = allowed.functions.run(
        hops(world, usdc, weth), usdc, size, 1, LOAN_AAVE, aave.pool.address
    )
    assert call.call({"from": world.operator}) == gross - premium
    send_signed(call, operator_key)
    assert balance(erc20, usdc, world.operator) - before == gross - premium
    assert erc20(usdc).functions.allowance(allowed.address, aave.pool.address).call() == 0
    assert balance(erc20, usdc, allowed.address) == 0


def test_a_paused_aave_reserve_refuses_the_loan(
    world: World, allowed: Contract, aave: lenders.Aave
) -> None:
    usdc, weth = world.token("USDC").address, world.weth
    transact(aave.configurator.functions.setReservePause(usdc, True), world.deployer)
    call = allowed.functions.run(
        hops(world, usdc, weth), usdc, 10**6, 0, LOAN_AAVE, aave.pool.address
    )
    with pytest.raises(Exception, match="reverted: 29"):  # Aave Errors.RESERVE_PAUSED
        call.call({"from": world.operator})


def test_an_aave_loan_a_stranger_starts_toward_us_reverts(
    world: World, allowed: Contract, aave: lenders.Aave, traders: list[str]
) -> None:
    usdc = world.token("USDC").address
    loan = aave.pool.functions.flashLoanSimple(allowed.address, usdc, 10**6, b"", 0)
    with pytest.raises(DevnetChainError, match="unexpected callback"):
        transact(loan, traders[0])
