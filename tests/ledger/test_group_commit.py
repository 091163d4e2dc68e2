"""Commit before publish: `book_trade` returns only once the trade is committed, and the
trades that arrive while a commit is in flight are committed together in the next one.

The pipeline publishes a trade only after `book_trade` returns, so a trade any client
could see is already in the ledger (issue 11, finding 4). Both backends.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.ledger.records import AuditEntry, TradeRecord
from engine.ledger.sqlite import SqliteLedger
from engine.ledger.store import LedgerStore
from engine.ledger.writer import LedgerWriter
from tests.ledger.conftest import T0, StoreMaker, make_trade

AN_HOUR = 3600.0  # a write-behind interval no booked trade may wait for


@pytest.fixture
async def running_writer(make_store: StoreMaker) -> AsyncIterator[tuple[LedgerWriter, LedgerStore]]:
    store = await make_store()
    writer = LedgerWriter(store, interval_s=AN_HOUR)
    task = asyncio.create_task(writer.run())
    yield writer, store
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_booked_trade_returns_committed_without_waiting_for_the_write_behind_interval(
    running_writer: tuple[LedgerWriter, LedgerStore],
) -> None:
    writer, store = running_writer
    await asyncio.wait_for(writer.book_trade(make_trade(id="t1")), 10.0)
    assert await store.get_trade("t1") is not None
    assert writer.pending == 0


async def test_a_trade_booked_during_the_write_behind_pause_does_not_wait_it_out(
    running_writer: tuple[LedgerWriter, LedgerStore],
) -> None:
    writer, store = running_writer
    writer.add_audit(AuditEntry(ts=T0, uid=0, client="test", action="a", reason="r"))
    await asyncio.sleep(0.05)  # woken by the audit row, now pausing to batch more rows
    await asyncio.wait_for(writer.book_trade(make_trade(id="t1")), 10.0)
    assert await store.get_trade("t1") is not None


async def test_a_booked_trade_is_not_released_while_the_store_refuses_it(
    make_store: StoreMaker,
) -> None:
    store = await make_store()
    writer = LedgerWriter(store, interval_s=0.01)
    await store.close()  # the database goes away
    booking = asyncio.create_task(writer.book_trade(make_trade(id="t1")))
    await asyncio.sleep(0)  # queued
    assert await writer.flush() is False
    assert not booking.done()  # not committed: not released for publication

    await store.open()
    assert await writer.flush() is True
    await asyncio.wait_for(booking, 10.0)
    assert await store.get_trade("t1") is not None


async def test_a_waiter_cancelled_before_its_commit_leaves_the_trade_to_be_written(
    make_store: StoreMaker,
) -> None:
    """The engine stopping while a trade waits: never published, still booked."""
    store = await make_store()
    writer = LedgerWriter(store)
    booking = asyncio.create_task(writer.book_trade(make_trade(id="t1")))
    await asyncio.sleep(0)
    booking.cancel()
    with pytest.raises(asyncio.CancelledError):
        await booking
    assert await writer.flush() is True
    assert await store.get_trade("t1") is not None


class BatchCountingLedger(SqliteLedger):
    """The real SQLite ledger, remembering the size of each trade batch it commits."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.batches: list[int] = []

    async def record_trades(self, trades: list[TradeRecord]) -> None:
        self.batches.append(len(trades))
        await super().record_trades(trades)


async def test_trades_booked_while_a_commit_is_in_flight_are_committed_in_one_batch(
    tmp_path: Path,
) -> None:
    store = BatchCountingLedger(tmp_path / "ledger.sqlite3")
    await store.open()
    writer = LedgerWriter(store, interval_s=AN_HOUR)
    runner = asyncio.create_task(writer.run())
    other = sqlite3.connect(store.path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # the first commit waits for this lock
    try:
        first = asyncio.create_task(writer.book_trade(make_trade(id="t0")))
        while store.batches != [1]:
            await asyncio.sleep(0.01)
        rest = [asyncio.create_task(writer.book_trade(make_trade(id=f"t{i}"))) for i in range(1, 9)]
        await asyncio.sleep(0.05)
        other.rollback()
        await asyncio.wait_for(asyncio.gather(first, *rest), 10.0)
    finally:
        other.close()
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await store.close()
    assert store.batches == [1, 8]
