"""Reconciliation on a real chain: after successful and reverted trades, the ledger's
realised P&L per token equals the owner's on-chain balance change, to the wei.

Reuses the EVM trading rig (venue, search, executor, gate on anvil) from
test_evm_trading; the reverted trade is produced the way it happens in production: a
rival's swap mined ahead of ours in the same block."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.accounting.reconcile import Reconciler, record_session_start
from engine.bus import EventBus
from engine.devnet import anvil
from engine.devnet.world import World
from engine.ledger.records import TradeRecord
from engine.ledger.sqlite import SqliteLedger
from engine.ledger.writer import LedgerWriter
from engine.market.evm.venue import NATIVE_ASSET
from engine.pipeline import TradingPipeline
from tests.devnet.test_evm_trading import (
    WAIT_S,
    Engine,
    Rig,
    first_opportunities,
    front_run,
    make_rig,
    swap,
    txpool_pending,
    until,
    v2_config,
)

pytestmark = pytest.mark.devnet


@pytest.fixture
async def chain_rig(world: World, clean_chain: None, tmp_path: Path) -> AsyncIterator[Rig]:
    made = await make_rig(v2_config(world), tmp_path)
    yield made
    await made.venue.stop()


async def test_reconciliation_is_exact_after_successes_and_a_revert(
    world: World, chain_rig: Rig, tmp_path: Path
) -> None:
    rig = chain_rig
    store = SqliteLedger(tmp_path / "ledger.sqlite3")
    await store.open()
    writer = LedgerWriter(store)
    start = await record_session_start(store, rig.venue, "devnet-reconcile")
    try:
        reverted = await _a_reverted_trade(world, rig)
        writer.add_trade(reverted)
        engine = _run_pipeline(rig, store, writer)
        block = swap(world, "uniswap", "DAI", "WETH", 30_000 * 10**18)
        await engine.settled(world, rig.venue, after=block)
        trades = await engine.trades()
        result = await Reconciler(rig.venue, engine.pipeline, writer, start).reconcile()
    finally:
        await writer.flush()
        await store.close()

    statuses = {t.status for t in trades}
    assert {"success", "reverted"} <= statuses
    assert result.reconciled, [line for line in result.tokens if line.difference]
    # the chain's own asset (ERC-7528's 0xEeee…EEeE) is named by its symbol, with decimals,
    # so a person reads "ETH -0.0123", not an address and a bare integer (issue 16)
    native = next(line for line in result.tokens if line.token == NATIVE_ASSET)
    assert (native.symbol, native.decimals) == ("ETH", 18)


async def _a_reverted_trade(world: World, rig: Rig) -> TradeRecord:
    anvil.set_automine(world.rpc_url, False)
    try:
        opportunity = (await first_opportunities(rig))[0]
        front_run(world, opportunity)
        ours = asyncio.create_task(rig.executor.execute(opportunity))
        await until(lambda: txpool_pending(world) == 2, "both transactions in the pool")
        anvil.mine(world.rpc_url)
        trade = await asyncio.wait_for(ours, WAIT_S)
    finally:
        anvil.set_automine(world.rpc_url, True)
    assert trade.status == "reverted"
    return trade


def _run_pipeline(rig: Rig, store: SqliteLedger, writer: LedgerWriter) -> Engine:
    pipeline = TradingPipeline(
        rig.venue, rig.search, rig.executor, rig.lifecycle, EventBus(), writer
    )
    tasks = [asyncio.create_task(pipeline.run()), asyncio.create_task(writer.run())]
    return Engine(pipeline, store, writer, tasks)
