"""What a lender can lend, decoded from the words the chain returns for the block.

The calls are the venue's own (`LenderCapacities.calls`), answered here with the words
a node returns (32-byte hex), so the decoding is checked against Aave V3's bit layout
(ReserveConfiguration.sol: active 56, frozen 57, paused 60, flash loans 63), a V3 pool's
`liquidity()`, and failed reads. The devnet tests read the same from the real contracts."""

from __future__ import annotations

from engine.market.evm.lenders import LenderCapacities, aave_lends
from engine.market.evm.rpc import NodeRpcError
from engine.market.venue import Loan

EXECUTOR = "0x" + "e1" * 20
VAULT = "0x" + "b1" * 20
POOL = "0x" + "c3" * 20
USDC = "0x" + "0c" * 20
ACTIVE, FROZEN, PAUSED, FLASH = 1 << 56, 1 << 57, 1 << 60, 1 << 63


def word(value: int) -> str:
    return "0x" + f"{value:064x}"


def test_an_aave_reserve_lends_only_while_active_unpaused_and_with_flash_loans_on() -> None:
    assert aave_lends(ACTIVE | FLASH)
    assert aave_lends(ACTIVE | FLASH | FROZEN)  # Aave V3 flash-lends from a frozen reserve
    assert not aave_lends(ACTIVE | FLASH | PAUSED)
    assert not aave_lends(FLASH)  # inactive
    assert not aave_lends(ACTIVE)  # flash loans off


def test_each_lenders_capacity_is_its_balance_and_nothing_when_it_cannot_lend() -> None:
    reads = LenderCapacities(EXECUTOR, [USDC])
    reads.watch([Loan("balancer-v2", VAULT), Loan("uniswap-v3", POOL), Loan("inventory")])
    calls = reads.calls(7)
    assert all(params[1] == hex(7) for _, params in calls), "pinned to the block"
    assert len(calls) == 4  # Vault balance; pool balance and liquidity; executor balance
    reads.apply(7, [word(500), word(900), word(0), word(42)])
    assert reads.capacity(Loan("balancer-v2", VAULT), USDC) == 500
    assert reads.capacity(Loan("uniswap-v3", POOL), USDC) == 0  # no liquidity: flash reverts L
    assert reads.capacity(Loan("inventory"), USDC) == 42
    assert reads.capacity(Loan("first-hop"), USDC) is None  # its curve is its cap
    assert reads.block == 7


def test_a_failed_read_leaves_the_capacity_unknown_not_zero() -> None:
    reads = LenderCapacities(EXECUTOR, [USDC])
    reads.watch([Loan("balancer-v2", VAULT)])
    reads.apply(8, [NodeRpcError("eth_call", -32000, "header not found")])
    assert reads.capacity(Loan("balancer-v2", VAULT), USDC) is None


def test_an_aave_pool_without_a_reserve_of_the_token_lends_none_of_it() -> None:
    reads = LenderCapacities(EXECUTOR, [USDC])
    reads.watch([Loan("aave-v3", POOL)])  # `prepare` found no aToken for USDC
    assert reads.calls(9) == []
    reads.apply(9, [])
    assert reads.capacity(Loan("aave-v3", POOL), USDC) == 0
