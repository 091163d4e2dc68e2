"""What only the embedded SQLite ledger promises: its durability settings are in force,
money is never stored as a float, and the file is private and watched."""

from __future__ import annotations

import re
import sqlite3
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.ledger.migrations import MigrationError
from engine.ledger.records import TRADE_MONEY_FIELDS
from engine.ledger.sqlite import BUSY_TIMEOUT_MS, SqliteLedger
from engine.ledger.store import LedgerUnavailable
from tests.ledger.conftest import make_trade

SYNCHRONOUS_NORMAL = 1


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "ledger.sqlite3"


@pytest.fixture
async def ledger(path: Path) -> AsyncIterator[SqliteLedger]:
    store = SqliteLedger(path)
    await store.open()
    yield store
    await store.close()


async def test_the_connection_runs_in_wal_mode(ledger: SqliteLedger) -> None:
    assert (await ledger.pragmas())["journal_mode"] == "wal"


async def test_the_connection_syncs_normally_not_on_every_commit(ledger: SqliteLedger) -> None:
    assert (await ledger.pragmas())["synchronous"] == SYNCHRONOUS_NORMAL


async def test_the_connection_waits_for_a_busy_database(ledger: SqliteLedger) -> None:
    assert (await ledger.pragmas())["busy_timeout"] == BUSY_TIMEOUT_MS


async def test_the_connection_enforces_foreign_keys(ledger: SqliteLedger) -> None:
    assert (await ledger.pragmas())["foreign_keys"] == 1


async def test_wal_mode_is_recorded_in_the_file_for_every_reader(
    ledger: SqliteLedger, path: Path
) -> None:
    with sqlite3.connect(path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_money_is_stored_as_decimal_text_never_as_a_float(
    ledger: SqliteLedger, path: Path
) -> None:
    await ledger.record_trades([make_trade(gas_cost_wei=2**140)])
    columns = ", ".join(f"typeof({name})" for name in TRADE_MONEY_FIELDS)
    with sqlite3.connect(path) as raw:
        kinds = raw.execute(f"SELECT {columns} FROM trades").fetchone()
        rollup = raw.execute("SELECT gas_cost_wei FROM trade_rollup").fetchone()
    assert set(kinds) == {"text"}
    assert rollup == (str(2**140),)


async def test_the_ledger_file_is_readable_by_its_owner_only(
    ledger: SqliteLedger, path: Path
) -> None:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_ping_fails_when_the_file_was_deleted_under_the_store(
    ledger: SqliteLedger, path: Path
) -> None:
    path.unlink()
    with pytest.raises(LedgerUnavailable, match="removed or replaced"):
        await ledger.ping()


async def test_a_ledger_migrated_by_a_newer_release_is_refused(path: Path) -> None:
    store = SqliteLedger(path)
    await store.open()
    await store.close()
    with sqlite3.connect(path) as raw:
        raw.execute("INSERT INTO schema_version VALUES (999, 'from_the_future', 0)")
    with pytest.raises(MigrationError, match="newer release"):
        await SqliteLedger(path).open()


async def test_a_file_that_is_not_a_database_raises_ledger_unavailable(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"definitely not sqlite" * 100)
    with pytest.raises(LedgerUnavailable, match=re.escape(str(path))):
        await SqliteLedger(path).open()


async def test_a_state_directory_that_cannot_be_created_raises_ledger_unavailable(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(LedgerUnavailable, match="cannot open"):
        await SqliteLedger(blocker / "ledger.sqlite3").open()
