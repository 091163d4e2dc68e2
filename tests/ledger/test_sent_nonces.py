"""What the ledger knows about the transactions it booked: sender, nonce, `recovered`.

Start-up recovery (engine/execution/recovery.py) compares the wallet's nonce on chain
with the nonces booked for it, so both backends must store them, answer "which nonces
of this sender are booked as mined", and upgrade a ledger written before they existed.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from engine.config import LedgerSection
from engine.ledger import migrations
from engine.ledger.factory import create_store
from engine.ledger.records import TRADE_MONEY_FIELDS
from engine.ledger.rows import TRADE_COLUMNS
from engine.ledger.store import LedgerStore
from tests.ledger.conftest import PG_DSN, drop_schema, make_trade, unique_name

ALICE = "0x" + "a1" * 20
BOB = "0x" + "b0" * 20
NEW_COLUMNS = ("nonce", "sender", "recovered", "block_hash")


def sent(nonce: int, sender: str = ALICE, block: int = 100, **more: object) -> object:
    return make_trade(
        id=f"{sender[:6]}-{nonce}-{block}",
        venue="evm",
        sender=sender,
        nonce=nonce,
        block_number=block,
        tx_hash=f"0x{nonce:064x}",
        **more,
    )


async def test_a_trade_keeps_its_sender_nonce_and_recovered_mark(store: LedgerStore) -> None:
    trade = sent(7, recovered=True)
    await store.record_trades([trade])
    assert await store.get_trade(trade.id) == trade
    assert (await store.list_trades())[0].recovered is True


async def test_the_last_booked_nonce_is_the_highest_mined_one_of_that_sender(
    store: LedgerStore,
) -> None:
    unmined = sent(9, block=0, status="failed")  # refused by the node: nonce not used
    await store.record_trades([sent(3, block=10), sent(5, block=12), unmined, sent(11, BOB)])

    assert await store.last_booked_nonce(ALICE) == (5, 12)
    assert await store.last_booked_nonce(BOB) == (11, 100)
    assert await store.last_booked_nonce("0x" + "cc" * 20) is None


async def test_booked_nonces_are_the_mined_ones_of_that_sender_in_the_range(
    store: LedgerStore,
) -> None:
    trades = [sent(n) for n in (1, 2, 4, 6)] + [sent(5, block=0), sent(3, BOB)]
    await store.record_trades(trades)

    assert await store.booked_nonces(ALICE, 2, 6) == {2, 4}
    assert await store.booked_nonces(BOB, 0, 100) == {3}


async def test_a_trade_without_a_nonce_is_never_a_booked_nonce(store: LedgerStore) -> None:
    await store.record_trades([make_trade(venue="sim")])
    assert await store.booked_nonces("", 0, 2**62) == set()
    assert await store.last_booked_nonce("") is None


# --- upgrading a ledger written before the columns existed --------------------------------
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_trades_booked_before_the_upgrade_read_back_without_nonce(
    backend: str, tmp_path: Path
) -> None:
    schema = unique_name("arbctl_test")
    old = make_trade(id="before-upgrade")
    await _version_one_ledger(backend, tmp_path, schema, old)
    store = create_store(LedgerSection(backend=backend, dsn=PG_DSN, schema=schema), tmp_path)
    try:
        await store.open()
        assert await store.schema_version() == len(migrations.load(backend))  # type: ignore[arg-type]
        found = await store.get_trade(old.id)
    finally:
        await store.close()
        if backend == "postgres":
            await drop_schema(schema)
    assert found is not None
    assert (found.nonce, found.sender, found.recovered) == (None, "", False)
    assert found.tx_hash == old.tx_hash and found.profit_token == old.profit_token


async def _version_one_ledger(backend: str, folder: Path, schema: str, trade: object) -> None:
    """A ledger as the first release left it: migration 1 only, one trade in it."""
    first = migrations.load(backend)[0]  # type: ignore[arg-type]
    columns = [c for c in TRADE_COLUMNS if c not in NEW_COLUMNS]
    row = {c: getattr(trade, c) for c in columns}
    row["route"] = json.dumps(row["route"])
    if backend == "sqlite":
        money = {c: str(row[c]) for c in TRADE_MONEY_FIELDS}
        _sqlite_version_one(folder / "ledger.sqlite3", first.sql, {**row, **money})
    else:
        money = {c: Decimal(row[c]) for c in TRADE_MONEY_FIELDS}
        await _postgres_version_one(schema, first.sql, {**row, **money})


def _sqlite_version_one(path: Path, sql: str, row: dict[str, object]) -> None:
    db = sqlite3.connect(path)
    db.executescript(migrations.VERSION_TABLE_DDL + ";" + sql)
    db.execute("INSERT INTO schema_version VALUES (1, 'initial', 0)")
    marks = ", ".join("?" * len(row))
    db.execute(f"INSERT INTO trades ({', '.join(row)}) VALUES ({marks})", list(row.values()))
    db.commit()
    db.close()


async def _postgres_version_one(schema: str, sql: str, row: dict[str, object]) -> None:
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"; SET search_path TO "{schema}"')
        await conn.execute(migrations.VERSION_TABLE_DDL)
        await conn.execute(sql)
        await conn.execute("INSERT INTO schema_version VALUES (1, 'initial', 0)")
        marks = ", ".join(f"${i}" for i in range(1, len(row) + 1))
        await conn.execute(f"INSERT INTO trades ({', '.join(row)}) VALUES ({marks})", *row.values())
    finally:
        await conn.close()


# --- a mined transaction is booked once, whatever the trade id ------------------------------
async def test_a_mined_transaction_is_booked_once_under_whichever_id_came_first(
    store: LedgerStore,
) -> None:
    live = sent(5, block=10)
    again = dataclasses.replace(live, id="evm-recovered-" + live.tx_hash, recovered=True)
    await store.record_trades([live])
    await store.record_trades([again])
    await store.record_trades([dataclasses.replace(again, id="third"), sent(6, block=10)])

    trades = await store.list_trades()
    assert sorted(t.id for t in trades) == sorted([live.id, sent(6, block=10).id])
    assert (await store.pnl(0.0)).total_trades == 2


async def test_two_trades_of_one_mined_transaction_in_one_batch_book_the_first(
    store: LedgerStore,
) -> None:
    first = sent(5, block=10)
    second = dataclasses.replace(first, id="second")
    await store.record_trades([first, second])
    assert [t.id for t in await store.list_trades()] == [first.id]
    assert (await store.pnl(0.0)).total_trades == 1


async def test_unmined_trades_may_share_a_hash_with_the_mined_one(store: LedgerStore) -> None:
    stopped = sent(5, block=0, status="failed")  # "venue stopped": it was mined later
    mined = dataclasses.replace(sent(5, block=10), id="evm-recovered-x", recovered=True)
    await store.record_trades([stopped])
    await store.record_trades([mined])
    assert len(await store.list_trades()) == 2
