"""Follow-ups in the same block (issue 13.2) on the devnet: real contracts, real nonces.

The pipeline runs over the evm venue against the session's anvil (automine: one block per
transaction, and no block unless a transaction comes), inside `clean_chain`. A dislocation
is made by a router swap; the chain is then read with the devnet's own helpers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from engine.devnet.world import World
from engine.market.evm.receipts import SentTx
from engine.market.venue import Receipt
from engine.strategy.search import ArbitrageSearch
from tests.devnet.test_evm_trading import (
    Engine,
    Rig,
    booked,
    chain_balances,
    change,
    make_rig,
    start_engine,
    stop_engine,
    swap,
    v2_config,
)

pytestmark = pytest.mark.devnet

DISLOCATION = ("uniswap", "WETH", "USDC", 400 * 10**18)  # uniswap's WETH ~ 7 % cheap


async def rig_with(world: World, tmp_path: Path, **strategy: Any) -> Rig:
    config = v2_config(world)
    for name, value in strategy.items():
        setattr(config.strategy, name, value)
    return await make_rig(config, tmp_path)


@pytest.fixture
async def running(
    world: World, clean_chain: None, tmp_path: Path
) -> AsyncIterator[tuple[Rig, Engine]]:
    rig = await rig_with(world, tmp_path)
    engine = await start_engine(rig, tmp_path)
    yield rig, engine
    await stop_engine(engine)
    await rig.venue.stop()


async def test_two_dislocations_sharing_a_pool_go_with_consecutive_nonces_in_value_order(
    world: World, running: tuple[Rig, Engine]
) -> None:
    rig, engine = running
    start = chain_balances(world, world.operator)
    await engine.settled(world, rig.venue)  # the devnet's built-in dislocations go first

    block = swap(world, *DISLOCATION)
    await engine.settled(world, rig.venue, after=block)

    trades = await engine.trades()
    planned = sorted(
        (t for t in trades if t.opportunity_id.startswith(f"{block}-")), key=lambda t: t.nonce or 0
    )
    assert len(planned) >= 2, [(t.opportunity_id, t.block_number) for t in trades]
    nonces = [t.nonce for t in planned]
    assert nonces == list(range(planned[0].nonce or 0, (planned[0].nonce or 0) + len(planned)))
    outcomes = [(t.opportunity_id, t.status, t.revert_reason, t.gas_used) for t in planned]
    assert all(t.status == "success" and t.profit_token > 0 for t in planned), outcomes
    values = [t.expected_profit for t in planned]
    first, second = planned[0], planned[1]
    assert {h["pool"] for h in first.route} & {h["pool"] for h in second.route}
    # mined in nonce order: a later block, or the same block (where a sender's transactions
    # are always included in nonce order)
    assert first.block_number <= second.block_number
    assert values[0] >= values[1]
    assert change(start, chain_balances(world, world.operator)) == booked(trades)


def hold_receipts_until_searched(rig: Rig, engine: Engine) -> None:
    """Our receipt reaches the executor only after the pipeline searched the block that
    mined it: one of the two orders a chain gives (the block's Sync logs and our receipt
    are fetched apart). The real decoder, delayed; nothing else changes."""
    decoder = rig.venue._sender._receipts
    original = decoder.decode

    async def later(sent: SentTx, mined_hash: str, raw: dict[str, Any]) -> Receipt:
        receipt = await original(sent, mined_hash, raw)
        while (seen := engine.pipeline.last_update) is None or (
            seen.block.number < receipt.block_number
        ):
            await _tick()
        return receipt

    decoder.decode = later  # type: ignore[method-assign]


async def _tick() -> None:
    import asyncio

    await asyncio.sleep(0.002)


async def test_after_our_trade_is_mined_its_follow_up_is_found_without_a_new_block(
    world: World, clean_chain: None, tmp_path: Path
) -> None:
    rig = await rig_with(world, tmp_path, top_n=1)  # no follow-up in the first plan
    one = dataclasses.replace(rig.search.config, plan_candidates=1)
    rig.search = ArbitrageSearch(rig.venue.market, one)
    engine = await start_engine(rig, tmp_path)
    hold_receipts_until_searched(rig, engine)
    try:
        start = chain_balances(world, world.operator)
        await engine.settled(world, rig.venue)
        before = len(await engine.trades())

        block = swap(world, *DISLOCATION)
        await engine.settled(world, rig.venue, after=block)
        await engine.settled(world, rig.venue)  # automine: a follow-up makes its own block

        trades = await engine.trades()
        new = sorted(trades, key=lambda t: t.id)[before:]
        first = next(t for t in new if t.opportunity_id.startswith(f"{block}-"))
        assert first.status == "success" and first.block_number == block + 1
        follow_up = [t for t in new if t.opportunity_id.startswith(f"{first.block_number}-")]
        assert follow_up, [(t.opportunity_id, t.block_number) for t in new]
        assert all(t.status == "success" and t.profit_token > 0 for t in follow_up)
        assert engine.pipeline.market_status()["researches"] >= 1
        assert change(start, chain_balances(world, world.operator)) == booked(trades)
    finally:
        await stop_engine(engine)
        await rig.venue.stop()
