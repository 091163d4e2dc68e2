"""What only the PostgreSQL ledger promises: its own schema, and LedgerUnavailable (then
recovery) when the database goes away. The server is shared with other engineers, so
"going away" is done to this test's own role, never to the server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import asyncpg
import pytest

from engine.ledger.postgres import PostgresLedger
from engine.ledger.store import LedgerUnavailable
from tests.ledger.conftest import PG_DSN, drop_schema, make_trade, pg_admin, unique_name
from tests.services import pg_dsn


@pytest.fixture
async def admin() -> AsyncIterator[asyncpg.Connection]:
    conn = await pg_admin()
    yield conn
    await conn.close()


@pytest.fixture
async def schema() -> AsyncIterator[str]:
    name = unique_name("arbctl_test")
    yield name
    await drop_schema(name)


@pytest.fixture
async def ledger(schema: str) -> AsyncIterator[PostgresLedger]:
    store = PostgresLedger(PG_DSN, schema)
    await store.open()
    yield store
    await store.close()


@pytest.fixture
async def own_role(admin: asyncpg.Connection, schema: str) -> AsyncIterator[str]:
    """A login role owning the test schema, so the test can lock out just this role."""
    role = unique_name("arbctl_role")
    await admin.execute(f'CREATE ROLE "{role}" LOGIN')
    await admin.execute(f'CREATE SCHEMA "{schema}" AUTHORIZATION "{role}"')
    yield role
    await admin.execute(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename = $1", role
    )
    await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    await admin.execute(f'DROP OWNED BY "{role}"')
    await admin.execute(f'DROP ROLE "{role}"')


async def cut_off(admin: asyncpg.Connection, role: str) -> None:
    """The database goes away for this role: its sessions are killed, new ones refused."""
    await admin.execute(f'ALTER ROLE "{role}" CONNECTION LIMIT 0')
    await admin.execute(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename = $1", role
    )


async def test_opening_creates_the_configured_schema_with_the_tables_in_it(
    ledger: PostgresLedger, admin: asyncpg.Connection, schema: str
) -> None:
    tables = await admin.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema
    )
    assert {"trades", "trade_rollup", "session_snapshots", "schema_version"} <= {
        row[0] for row in tables
    }


async def test_money_columns_are_exact_numeric(
    ledger: PostgresLedger, admin: asyncpg.Connection, schema: str
) -> None:
    kind = await admin.fetchval(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = $1::regclass AND attname = 'profit_token'",
        f'"{schema}".trades',
    )
    assert kind == "numeric(78,0)"


async def test_the_runbook_cleanup_function_works_from_sql(
    ledger: PostgresLedger, admin: asyncpg.Connection, schema: str
) -> None:
    deleted = await admin.fetchval(f'SELECT "{schema}".cleanup_old_snapshots_30d()')
    assert deleted == 0


async def test_the_database_going_away_raises_ledger_unavailable(
    admin: asyncpg.Connection, own_role: str, schema: str
) -> None:
    store = PostgresLedger(pg_dsn(own_role), schema)
    await store.open()
    try:
        await cut_off(admin, own_role)
        with pytest.raises(LedgerUnavailable, match="PostgreSQL ledger"):
            await store.ping()
        with pytest.raises(LedgerUnavailable):
            await store.record_trades([make_trade()])
    finally:
        await store.close()


async def test_the_store_works_again_when_the_database_comes_back(
    admin: asyncpg.Connection, own_role: str, schema: str
) -> None:
    store = PostgresLedger(pg_dsn(own_role), schema)
    await store.open()
    try:
        await cut_off(admin, own_role)
        with pytest.raises(LedgerUnavailable):
            await store.record_trades([make_trade()])
        await admin.execute(f'ALTER ROLE "{own_role}" CONNECTION LIMIT -1')
        await store.record_trades([make_trade()])  # the caller's retry
        assert await store.get_trade("trade-1") == make_trade()
    finally:
        await store.close()


async def test_an_unreachable_server_raises_ledger_unavailable_on_open(schema: str) -> None:
    store = PostgresLedger("postgresql://postgres@127.0.0.1:1/test", schema)
    with pytest.raises(LedgerUnavailable, match=re.escape("127.0.0.1:1/test")):
        await store.open()


async def test_the_unavailable_message_never_shows_the_password(schema: str) -> None:
    store = PostgresLedger("postgresql://postgres:hunter2@127.0.0.1:1/test", schema)
    with pytest.raises(LedgerUnavailable) as raised:
        await store.open()
    assert "hunter2" not in str(raised.value)
