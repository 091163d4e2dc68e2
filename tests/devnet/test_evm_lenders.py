"""The lender the approval chose is the path the transaction takes, on the real contracts.

The EVM executor is given each opportunity's loan the way the daemon wires it
(`LiquiditySources.loan_for`); an order borrowing from the Balancer V2 Vault or the
Aave V3 Pool is sent as `ArbExecutor.run` with that lender, the lender's own events are
in the receipt, and the ledger matches the chain to the wei. The route's first pair
(`pair://first-hop`) stays `execute`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from engine.config import load
from engine.devnet import anvil
from engine.devnet.world import World
from engine.execution.evm import EvmExecutor
from engine.lenders.loans import loan_of
from engine.market.evm import abi
from engine.market.venue import Loan
from tests.devnet.test_evm_trading import (
    Rig,
    booked,
    chain_balances,
    change,
    first_opportunities,
    make_rig,
)

pytestmark = pytest.mark.devnet


@pytest.fixture
async def rig(world: World, clean_chain: None, tmp_path: Path) -> AsyncIterator[Rig]:
    made = await make_rig(load(world.config_file), tmp_path)
    yield made
    await made.venue.stop()


def _with_loan(rig: Rig, loan: Loan | None) -> EvmExecutor:
    return EvmExecutor(rig.gate, rig.venue, loans=lambda _opportunity_id: loan)


def _sent(world: World, block: int) -> list[dict[str, Any]]:
    found = anvil.rpc(world.rpc_url, "eth_getBlockByNumber", [hex(block), True])
    return [tx for tx in found["transactions"] if tx["from"].lower() == world.operator.lower()]


def _logs_from(world: World, tx_hash: str, address: str) -> int:
    receipt = anvil.rpc(world.rpc_url, "eth_getTransactionReceipt", [tx_hash])
    return sum(1 for log in receipt["logs"] if log["address"].lower() == address.lower())


@pytest.mark.parametrize("kind", ["balancer-v2", "aave-v3"])
async def test_an_order_borrows_from_the_lender_the_approval_chose_and_books_to_the_wei(
    world: World, rig: Rig, kind: str
) -> None:
    lender = world.lender(kind)
    lendable = {world.token(symbol).address for symbol in lender.tokens}
    opportunities = [o for o in await first_opportunities(rig) if o.token in lendable]
    assert opportunities, f"the devnet should offer an opportunity {kind} can fund"
    executor = _with_loan(rig, loan_of(f"{kind}://{lender.address}?fee_bps=9"))
    start = chain_balances(world, world.operator)
    trade = await executor.execute(opportunities[0])
    assert trade.status == "success", trade.revert_reason
    (tx,) = _sent(world, trade.block_number)
    assert tx["input"].startswith(abi.RUN_SELECTOR)
    assert _logs_from(world, tx["hash"], lender.address) > 0, "the lender took part"
    assert change(start, chain_balances(world, world.operator)) == booked([trade])


async def test_the_first_pair_lends_through_execute_when_no_lender_is_chosen(
    world: World, rig: Rig
) -> None:
    opportunity = (await first_opportunities(rig))[0]
    trade = await _with_loan(rig, None).execute(opportunity)
    assert trade.status == "success", trade.revert_reason
    (tx,) = _sent(world, trade.block_number)
    assert tx["input"].startswith(abi.EXECUTE_SELECTOR)
