"""A flush cancelled halfway through its transaction leaves the store as it found it.

The engine's graceful stop cancels the writer wherever it is, then flushes again. If the
cancelled flush left its connection inside a transaction, every later write failed with
`cannot start a transaction within a transaction` and the stop dropped the rows it was
meant to save (issue 11, finding 3). The write is held mid-transaction by another session
holding the lock it needs (SQLite: the database's write lock; PostgreSQL: the trades
table), the flush is cancelled there, the other session lets go, and the next flush must
write every row exactly once.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

import asyncpg
import pytest

from engine.ledger.postgres import PostgresLedger
from engine.ledger.sqlite import SqliteLedger
from engine.ledger.store import LedgerStore
from engine.ledger.writer import LedgerWriter
from tests.ledger.conftest import PG_DSN, drop_schema, make_trade, pg_admin, unique_name


class Blocker(Protocol):
    """Another session holding what the ledger's next write needs."""

    async def wait_until_waited_on(self) -> None: ...

    async def release(self) -> None: ...


class SqliteWriteLock:
    """Another connection in BEGIN IMMEDIATE: the ledger's BEGIN waits (busy_timeout)."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("BEGIN IMMEDIATE")

    async def wait_until_waited_on(self) -> None:
        # Nothing shows that a connection waits on SQLite's lock; a short pause lets the
        # ledger's BEGIN reach its busy wait (had it not, it would still be queued behind
        # the cancellation on aiosqlite's thread, which is the same hazard).
        await asyncio.sleep(0.2)

    async def release(self) -> None:
        self._conn.rollback()
        self._conn.close()


class PostgresTableLock:
    """Another session holding the trades table in EXCLUSIVE mode: the INSERT waits."""

    def __init__(self, conn: asyncpg.Connection, schema: str) -> None:
        self._conn = conn
        self._schema = schema

    @classmethod
    async def take(cls, schema: str) -> PostgresTableLock:
        conn = await pg_admin()
        lock = cls(conn, schema)
        await conn.execute("BEGIN")
        await conn.execute(f'LOCK TABLE "{schema}".trades IN EXCLUSIVE MODE')
        return lock

    async def wait_until_waited_on(self) -> None:
        sql = (
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'arbctl-ledger' "
            "AND wait_event_type = 'Lock'"
        )
        for _ in range(200):
            if await self._conn.fetchval(sql):
                return
            await asyncio.sleep(0.05)
        pytest.fail("the ledger's INSERT never waited on the table lock")

    async def release(self) -> None:
        await self._conn.execute("ROLLBACK")
        await self._conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def ledger(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[LedgerStore, str]]:
    if request.param == "sqlite":
        store: LedgerStore = SqliteLedger(tmp_path / "ledger.sqlite3")
        await store.open()
        yield store, request.param
        await store.close()
        return
    schema = unique_name("arbctl_test")
    store = PostgresLedger(PG_DSN, schema)
    await store.open()
    yield store, schema
    await store.close()
    await drop_schema(schema)


async def hold_writes(store: LedgerStore, where: str) -> Blocker:
    if isinstance(store, SqliteLedger):
        return SqliteWriteLock(store.path)
    return await PostgresTableLock.take(where)


async def test_a_flush_cancelled_inside_its_transaction_rolls_back_and_the_next_writes_once(
    ledger: tuple[LedgerStore, str],
) -> None:
    store, where = ledger
    writer = LedgerWriter(store)
    blocker = await hold_writes(store, where)
    writer.add_trade(make_trade(id="held"))
    flush = asyncio.create_task(writer.flush())
    await blocker.wait_until_waited_on()

    flush.cancel()  # the graceful stop cancelling the writer mid-flush
    await blocker.release()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(flush, 10.0)

    writer.add_trade(make_trade(id="after"))
    assert await writer.flush() is True, writer.last_error
    assert writer.pending == 0
    assert await store.get_trade("held") is not None
    assert await store.get_trade("after") is not None
    assert (await store.pnl(0.0)).total_trades == 2


async def test_after_a_cancelled_flush_other_transactions_of_the_store_work(
    ledger: tuple[LedgerStore, str],
) -> None:
    """Not only the writer: a `pnl` read (its own transaction) on the same store."""
    store, where = ledger
    blocker = await hold_writes(store, where)
    write = asyncio.create_task(store.record_trades([make_trade(id="held")]))
    await blocker.wait_until_waited_on()
    write.cancel()
    await blocker.release()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(write, 10.0)

    summary = await asyncio.wait_for(store.pnl(0.0), 10.0)
    assert summary.total_trades in (0, 1)  # the cancelled write committed wholly or not at all
    await store.record_trades([make_trade(id="next")])
    assert (await store.pnl(0.0)).total_trades == summary.total_trades + 1
