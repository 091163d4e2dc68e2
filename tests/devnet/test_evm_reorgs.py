"""Reorgs and drops in the books (issue 18), on the devnet's anvil.

The real venue, executor, send gate, reorg watch and SQLite ledger against the session's
anvil (inside `clean_chain`). A reorg is made the way anvil offers: `evm_revert` to a
snapshot taken before our trade's block, then new blocks mined on top (the chain at that
height now has other blocks, without our transaction); a drop with automine off and
`anvil_dropTransaction`. Balances for the reconciliation are read by the venue at a
quiet point, exactly as `arbctl reconcile` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from engine import protocol
from engine.accounting.reconcile import NotQuiet, Reconciler, record_session_start
from engine.bus import EventBus
from engine.config import LedgerSection, load
from engine.devnet import anvil
from engine.devnet.world import World
from engine.execution.reorgs import ReorgWatch
from engine.ledger.factory import create_store
from engine.ledger.records import CorrectionRecord, TradeRecord
from engine.ledger.store import LedgerStore
from engine.ledger.writer import LedgerWriter
from engine.lifecycle import Actor
from engine.pipeline import TradingPipeline
from engine.telemetry.alerts.rules import default_rules
from engine.telemetry.metrics import Metrics
from tests.devnet.test_evm_trading import (
    WAIT_S,
    Rig,
    first_opportunities,
    head,
    make_rig,
    nonce,
    txpool_pending,
    until,
    v2_config,
)
from tests.ledger.conftest import drop_schema, unique_name
from tests.services import PG_DSN

pytestmark = pytest.mark.devnet

OPERATOR = Actor(uid=1000, client="test")
DROP_AFTER_S = 0.3


@pytest.fixture
async def chain_rig(world: World, clean_chain: None, tmp_path: Path) -> AsyncIterator[Rig]:
    made = await make_rig(v2_config(world), tmp_path)
    made.venue.drops.after_s = DROP_AFTER_S
    yield made
    await made.venue.stop()


@pytest.fixture(params=["sqlite", "postgres"])
async def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LedgerStore]:
    """Both ledgers: the correction rows and the reconciliation on each."""
    schema = unique_name("arbctl_reorg")
    section = LedgerSection(backend=request.param, dsn=PG_DSN, schema=schema)
    store = create_store(section, tmp_path)
    await store.open()
    yield store
    await store.close()
    if request.param == "postgres":
        await drop_schema(schema)


class Recorder:
    """Every event published on the bus, for the assertions and the alert rules."""

    def __init__(self, bus: EventBus) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._publish = bus.publish
        bus.publish = self._record  # type: ignore[method-assign]

    def _record(self, topic: str, data: Any) -> Any:
        self.events.append((topic, data))
        return self._publish(topic, data)

    def of(self, topic: str) -> list[dict[str, Any]]:
        return [data for t, data in self.events if t == topic]


def alert_fires(rule_name: str, recorder: Recorder, world: World) -> bool:
    """The engine's metrics fold and alert rule, fed the events the engine published."""
    config = load(world.config_file)
    metrics = Metrics(config.metrics, "USDC", 6, __import__("time").time, lambda: 1.0)
    for topic, data in recorder.events:
        metrics.observe(topic, data, __import__("time").time())
    rule = next(r for r in default_rules(config.alerts, 10**9, str) if r.name == rule_name)
    return rule.check(metrics.snapshot()).breached


async def _booked_trade(rig: Rig, writer: LedgerWriter, bus: EventBus) -> TradeRecord:
    """One trade, executed and committed, and announced as the pipeline does."""
    opportunity = (await first_opportunities(rig))[0]
    trade = await asyncio.wait_for(rig.executor.execute(opportunity), WAIT_S)
    assert trade.status == "success" and trade.block_hash
    writer.add_trade(trade)
    assert await writer.flush()
    bus.publish(protocol.TOPIC_TRADE, trade.to_dict())
    return trade


async def _corrections(recorder: Recorder, count: int) -> list[dict[str, Any]]:
    await until(lambda: len(recorder.of(protocol.TOPIC_CORRECTION)) >= count, "corrections")
    return recorder.of(protocol.TOPIC_CORRECTION)


async def _reconcile(
    rig: Rig,
    writer: LedgerWriter,
    start: Any,
    watch: ReorgWatch | None = None,
    timeout: float = 10.0,
) -> Any:
    pipeline = TradingPipeline(
        rig.venue, rig.search, rig.executor, rig.lifecycle, EventBus(), writer
    )
    await rig.venue.refresh_wallet()
    checked = None if watch is None else (lambda: watch.checked)
    reconciler = Reconciler(rig.venue, pipeline, writer, start, books_checked=checked)
    return await reconciler.reconcile(timeout)


async def test_a_reorg_that_drops_our_trades_block_is_corrected_and_reconcile_is_exact(
    world: World, chain_rig: Rig, ledger: LedgerStore
) -> None:
    rig, bus = chain_rig, EventBus()
    recorder = Recorder(bus)
    rig.venue.attach_events(bus.publish)
    writer = LedgerWriter(ledger)
    start = await record_session_start(ledger, rig.venue, "devnet-reorg")
    before_trade = anvil.snapshot(world.rpc_url)
    watch = ReorgWatch(rig.executor, ledger, bus, depth=12, flash_fee_bps=0)
    running = asyncio.create_task(watch.run())
    try:
        await asyncio.sleep(0)  # the watch subscribes before the trade is announced
        trade = await _booked_trade(rig, writer, bus)
        await until(lambda: trade.id in {t.id for t in watch.watched()}, "the trade watched")
        anvil.set_automine(world.rpc_url, False)  # the re-broadcast waits in the pool
        anvil.revert(world.rpc_url, before_trade)  # the block with our trade is gone
        anvil.mine(world.rpc_url, 2)  # ... and the chain grows past it without it
        (reversal,) = await _corrections(recorder, 1)
        assert reversal["kind"] == "reversed" and reversal["old_block"] == trade.block_number

        # the drop logic sent the same signed bytes again; mined, the trade is booked back
        await until(lambda: txpool_pending(world) == 1, "the re-broadcast in the pool")
        anvil.mine(world.rpc_url)
        anvil.set_automine(world.rpc_url, True)
        _, moved = await _corrections(recorder, 2)
        result = await _reconcile(rig, writer, start)
    finally:
        anvil.set_automine(world.rpc_url, True)
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await writer.flush()

    assert moved["kind"] == "moved" and moved["tx_hash"] == trade.tx_hash
    assert moved["new_block"] == head(world) and moved["new_block_hash"] != trade.block_hash
    stored = await ledger.list_corrections(trade_id=trade.id)
    assert [c.kind for c in stored] == ["moved", "reversed"]  # rows, newest first
    assert await ledger.get_trade(trade.id) == trade  # the trade row was never edited
    assert result.reconciled, [line for line in result.tokens if line.difference]
    assert [e["outcome"] for e in recorder.of(protocol.TOPIC_TX_REBROADCAST)] == ["rebroadcast"]
    assert alert_fires("trade_corrected", recorder, world)
    assert alert_fires("tx_rebroadcast", recorder, world)


@pytest.mark.parametrize("height", [-1, 0, 1], ids=["lower", "same-height", "higher"])
async def test_a_trade_reorged_away_after_a_halt_stays_reversed_and_reconcile_is_exact(
    world: World, chain_rig: Rig, ledger: LedgerStore, height: int
) -> None:
    """The new chain's head ends `height` blocks from the block the watch last checked
    (whatever number of blocks the trade took): a head at or below the checked one's
    number is another block all the same, and the books wait for the watch to see it."""
    rig, bus = chain_rig, EventBus()
    recorder = Recorder(bus)
    rig.venue.attach_events(bus.publish)
    writer = LedgerWriter(ledger)
    start = await record_session_start(ledger, rig.venue, "devnet-reorg-halt")
    before_trade, fork = anvil.snapshot(world.rpc_url), head(world)
    try:
        trade = await _booked_trade(rig, writer, bus)
        # a watch started after the trade was booked (a restart) finds it in the ledger
        watch = ReorgWatch(rig.executor, ledger, bus, depth=12, flash_fee_bps=0)
        assert await watch.resume(since=start.taken_at) == 1
        checked = head(world)
        assert await watch.check(checked) == []
        rig.lifecycle.enter_halt("test halt", OPERATOR)
        anvil.revert(world.rpc_url, before_trade)
        if checked + height > fork:
            anvil.mine(world.rpc_url, checked + height - fork)
        assert head(world) == checked + height
        # the wallet moved back, the watch has not looked yet: no consistent point
        with pytest.raises(NotQuiet):
            await _reconcile(rig, writer, start, watch, timeout=1.0)
        written = await watch.check(head(world))
        await asyncio.sleep(DROP_AFTER_S * 2)
        anvil.mine(world.rpc_url)
        assert await watch.check(head(world)) == []
        result = await _reconcile(rig, writer, start, watch)
    finally:
        await writer.flush()

    assert [c.kind for c in written] == ["reversed"]
    assert txpool_pending(world) == 0
    assert nonce(world, rig.venue.owner) == trade.nonce  # nothing of ours mined since
    assert {e["outcome"] for e in recorder.of(protocol.TOPIC_TX_REBROADCAST)} == {"refused"}
    assert result.reconciled, [line for line in result.tokens if line.difference]
    reversed_: CorrectionRecord = (await ledger.list_corrections())[0]
    assert reversed_.gas_cost_wei == -trade.gas_cost_wei
    assert reversed_.profit_token == -trade.profit_token


async def test_a_dropped_transaction_is_rebroadcast_and_mined_with_event_and_alert(
    world: World, chain_rig: Rig
) -> None:
    rig, bus = chain_rig, EventBus()
    recorder = Recorder(bus)
    rig.venue.attach_events(bus.publish)
    opportunity = (await first_opportunities(rig))[0]
    anvil.set_automine(world.rpc_url, False)
    try:
        ours = asyncio.create_task(rig.executor.execute(opportunity))
        await until(lambda: txpool_pending(world) == 1, "our transaction in the pool")
        anvil.rpc(world.rpc_url, "anvil_dropAllTransactions")
        assert txpool_pending(world) == 0
        await until(lambda: txpool_pending(world) == 1, "the re-broadcast in the pool")
        anvil.mine(world.rpc_url)
        trade = await asyncio.wait_for(ours, WAIT_S)
    finally:
        anvil.set_automine(world.rpc_url, True)

    assert trade.status == "success" and trade.block_number == head(world)
    (event,) = recorder.of(protocol.TOPIC_TX_REBROADCAST)
    assert event["outcome"] == "rebroadcast" and event["tx_hash"] == trade.tx_hash
    assert alert_fires("tx_rebroadcast", recorder, world)


async def test_a_halt_before_the_rebroadcast_deadline_means_nothing_is_sent_again(
    world: World, chain_rig: Rig
) -> None:
    rig, bus = chain_rig, EventBus()
    recorder = Recorder(bus)
    rig.venue.attach_events(bus.publish)
    opportunity = (await first_opportunities(rig))[0]
    first_nonce = nonce(world, rig.venue.owner)
    anvil.set_automine(world.rpc_url, False)
    try:
        ours = asyncio.create_task(rig.executor.execute(opportunity))
        await until(lambda: txpool_pending(world) == 1, "our transaction in the pool")
        rig.lifecycle.enter_halt("test halt", OPERATOR)  # before the deadline
        anvil.rpc(world.rpc_url, "anvil_dropAllTransactions")
        await until(lambda: recorder.of(protocol.TOPIC_TX_REBROADCAST) != [], "the drop seen")
        await asyncio.sleep(DROP_AFTER_S * 3)  # several more deadlines pass
        anvil.mine(world.rpc_url)
        pending = txpool_pending(world)
        mined = nonce(world, rig.venue.owner)
    finally:
        anvil.set_automine(world.rpc_url, True)
        await rig.venue.stop()
        await asyncio.gather(ours, return_exceptions=True)

    assert pending == 0 and mined == first_nonce  # nothing of ours was sent again
    outcomes = {e["outcome"] for e in recorder.of(protocol.TOPIC_TX_REBROADCAST)}
    assert outcomes == {"refused"}


async def test_a_trade_anvil_reorg_moves_to_another_block_is_corrected_to_it(
    world: World, chain_rig: Rig, ledger: LedgerStore
) -> None:
    rig, bus = chain_rig, EventBus()
    recorder = Recorder(bus)
    writer = LedgerWriter(ledger)
    start = await record_session_start(ledger, rig.venue, "devnet-reorg-moved")
    watch = ReorgWatch(rig.executor, ledger, bus, depth=12, flash_fee_bps=0)
    try:
        trade = await _booked_trade(rig, writer, bus)
        watch.watch(trade)
        signed = rig.venue.signed_raw(trade.tx_hash)
        assert signed is not None
        anvil.mine(world.rpc_url)  # one block on top, then both replaced:
        anvil.rpc(world.rpc_url, "anvil_reorg", [2, [[signed[1], 1]]])  # ours one block later
        (moved,) = await watch.check(head(world))
        result = await _reconcile(rig, writer, start, watch)
    finally:
        await writer.flush()

    assert (moved.kind, moved.old_block, moved.new_block) == (
        "moved",
        trade.block_number,
        trade.block_number + 1,
    )
    assert moved.old_block_hash == trade.block_hash != moved.new_block_hash
    assert (moved.successful, moved.failed, moved.profit_token) == (0, 0, 0)  # same outcome
    assert [c["kind"] for c in recorder.of(protocol.TOPIC_CORRECTION)] == ["moved"]
    assert await ledger.list_corrections(trade_id=trade.id) == [moved]
    assert result.reconciled, [line for line in result.tokens if line.difference]
