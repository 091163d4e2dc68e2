"""ArbExecutor borrowing from the real Balancer V2 Vault (npm artifacts) on the devnet.

The Vault lends the balance it holds and charges the ProtocolFeesCollector's flash-loan
percentage, rounded up (`FixedPoint.mulUp`); the executor must repay exactly that and
keep the rest for the owner. A flash loan someone else starts with the executor as
receiver reaches our callback outside our own run and must revert.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from web3 import Web3
from web3.contract import Contract

from engine.devnet import lenders
from engine.devnet.chain import DevnetChainError, send_signed, transact
from engine.devnet.world import World
from tests.devnet.routes import balance as _balance
from tests.devnet.routes import best as _best
from tests.devnet.routes import hops as _hops

pytestmark = [pytest.mark.devnet, pytest.mark.usefixtures("clean_chain")]

LOAN_BALANCER = 2
VAULT_USDC = 10**12  # one million USDC held by the Vault


@pytest.fixture
def balancer(
    w3: Web3,
    world: World,
    erc20: Callable[[str], Contract],
    operator_key: bytes,
    allowed: Contract,
) -> lenders.Balancer:
    deployed = lenders.deploy_balancer(w3, world.deployer, world.weth)
    usdc = world.token("USDC").address
    transact(erc20(usdc).functions.transfer(deployed.vault.address, VAULT_USDC), world.deployer)
    send_signed(allowed.functions.setLender(deployed.vault.address, True), operator_key)
    return deployed


@pytest.mark.parametrize("fee_fraction", [0, 10**15])  # none, and 0.1 %
def test_a_balancer_flash_loan_is_repaid_with_exactly_the_vaults_fee(
    w3: Web3,
    world: World,
    allowed: Contract,
    balancer: lenders.Balancer,
    operator_key: bytes,
    erc20: Callable[[str], Contract],
    fee_fraction: int,
) -> None:
    if fee_fraction:
        lenders.set_balancer_flash_fee(balancer, world.deployer, fee_fraction)
    usdc, weth = world.token("USDC").address, world.weth
    size, gross = _best(w3, world, usdc, weth)
    fee = lenders.balancer_fee(size, fee_fraction)
    before = _balance(erc20, usdc, world.operator)
    call = allowed.functions.run(
        _hops(world, usdc, weth), usdc, size, 1, LOAN_BALANCER, balancer.vault.address
    )
    assert call.call({"from": world.operator}) == gross - fee
    send_signed(call, operator_key)
    assert _balance(erc20, usdc, world.operator) - before == gross - fee
    assert _balance(erc20, usdc, balancer.vault.address) == VAULT_USDC
    assert _balance(erc20, usdc, balancer.collector.address) == fee  # Balancer's fees go there
    assert _balance(erc20, usdc, allowed.address) == 0


def test_a_vault_not_on_the_allowlist_is_refused(
    w3: Web3,
    world: World,
    allowed: Contract,
    operator_key: bytes,
) -> None:
    stranger_vault = lenders.deploy_balancer(w3, world.deployer, world.weth).vault
    usdc, weth = world.token("USDC").address, world.weth
    call = allowed.functions.run(
        _hops(world, usdc, weth), usdc, 10**6, 0, LOAN_BALANCER, stranger_vault.address
    )
    with pytest.raises(Exception, match="lender not allowed"):
        call.call({"from": world.operator})


def test_a_griefing_flash_loan_started_by_someone_else_reverts(
    world: World,
    allowed: Contract,
    balancer: lenders.Balancer,
    traders: list[str],
) -> None:
    usdc = world.token("USDC").address
    loan = balancer.vault.functions.flashLoan(allowed.address, [usdc], [10**6], b"")
    with pytest.raises(DevnetChainError, match="unexpected callback"):
        transact(loan, traders[0])
