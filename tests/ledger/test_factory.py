"""`create_store` / `open_store`: the config picks the backend and where it lives."""

from __future__ import annotations

from pathlib import Path

from engine.config import LedgerSection
from engine.ledger.factory import create_store, open_store
from engine.ledger.postgres import PostgresLedger
from engine.ledger.sqlite import SqliteLedger


def test_the_default_is_sqlite_in_the_state_directory(tmp_path: Path) -> None:
    store = create_store(LedgerSection(), tmp_path)
    assert isinstance(store, SqliteLedger)
    assert store.path == tmp_path / "ledger.sqlite3"


def test_a_relative_sqlite_path_is_relative_to_the_state_directory(tmp_path: Path) -> None:
    store = create_store(LedgerSection(path="db/ledger.db"), tmp_path)
    assert isinstance(store, SqliteLedger)
    assert store.path == tmp_path / "db" / "ledger.db"


def test_an_absolute_sqlite_path_is_used_as_is(tmp_path: Path) -> None:
    store = create_store(LedgerSection(path=str(tmp_path / "x.db")), Path("/nonexistent"))
    assert isinstance(store, SqliteLedger)
    assert store.path == tmp_path / "x.db"


def test_postgres_uses_the_dsn_and_schema(tmp_path: Path) -> None:
    config = LedgerSection(backend="postgres", dsn="postgresql://u@h/db", schema="arb")
    store = create_store(config, tmp_path)
    assert isinstance(store, PostgresLedger)
    assert store.schema == "arb"


async def test_open_store_returns_an_opened_store(tmp_path: Path) -> None:
    store = await open_store(LedgerSection(), tmp_path)
    try:
        assert await store.schema_version() >= 1
    finally:
        await store.close()
