"""The write-behind: rows survive a database outage, and stopping never hangs."""

from __future__ import annotations

import asyncio
import time

import pytest

from engine.ledger.records import AuditEntry
from engine.ledger.sqlite import SqliteLedger
from engine.ledger.writer import LedgerWriter


def audit(n: int) -> AuditEntry:
    return AuditEntry(ts=time.time(), uid=0, client="test", action=f"a{n}", reason="r")


@pytest.fixture
async def store(tmp_path):
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
    await ledger.open()
    yield ledger
    await ledger.close()


async def test_a_writer_cancelled_as_it_is_woken_still_stops(store):
    """The shutdown path sets the writer's wakeup and cancels it in the same loop step;
    asyncio.wait_for on 3.11 swallowed that cancellation and the engine hung on stop."""
    writer = LedgerWriter(store, interval_s=10.0)
    task = asyncio.create_task(writer.run())
    await asyncio.sleep(0.05)  # parked in its wait
    writer.add_audit(audit(1))  # wakes the writer...
    task.cancel()  # ...in the same step as the cancellation
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2.0)


async def test_rows_are_kept_while_the_store_is_closed_and_written_when_it_reopens(store):
    writer = LedgerWriter(store)
    await store.close()  # the database goes away under the writer
    writer.add_audit(audit(1))
    writer.add_audit(audit(2))
    assert await writer.flush() is False
    assert writer.pending == 2 and not writer.healthy
    await store.open()
    assert await writer.flush() is True
    assert writer.healthy and writer.pending == 0
    assert [e.action for e in await store.list_audit()] == ["a2", "a1"]


async def test_the_ledger_error_is_cleared_when_writes_recover_and_kept_as_history(store):
    writer = LedgerWriter(store)
    await store.close()
    writer.add_audit(audit(1))
    assert await writer.flush() is False
    failing = writer.to_dict()
    assert not failing["ok"] and "not open" in failing["error"]
    await store.open()
    assert await writer.flush() is True
    recovered = writer.to_dict()
    assert recovered["ok"] and recovered["error"] == ""
    assert recovered["last_error"] == failing["error"]
    assert 0 < recovered["last_error_at"] <= recovered["recovered_at"]
