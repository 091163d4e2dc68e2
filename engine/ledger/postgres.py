"""The production ledger: PostgreSQL through an asyncpg connection pool.

- Tables live in the configured schema, created on first open if missing (only when
  missing, so a least-privilege role with a pre-created schema works). Every connection
  gets that schema as its `search_path`, so the SQL here and in the migrations never names it.
- Money is NUMERIC(78,0): exact, and wide enough for any uint256. asyncpg hands NUMERIC
  back as Decimal; it is turned into int right away, never used in Decimal arithmetic
  (whose default context rounds to 28 digits).
- A batch of trades is one INSERT ... SELECT FROM unnest(arrays): one round trip for a
  batch of any size, with ON CONFLICT DO NOTHING RETURNING id telling exactly which
  trades were new (a known id, or a mined transaction already booked, is skipped), so
  only those reach the rollup (upserted in the same transaction).
- The database going away (server down, connection terminated, role refused, disk full,
  read-only after a failover) raises LedgerUnavailable naming the server and what we were
  doing, never a raw asyncpg error. The pool drops dead connections and opens new ones on
  the next call, so the store works again as soon as the server does.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import fields, replace
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import asyncpg.exceptions as pg_errors

from engine.ledger import migrations
from engine.ledger.records import (
    CORRECTION_COLUMNS,
    CORRECTION_DELTAS,
    CORRECTION_MONEY_FIELDS,
    PNL_BUCKET_COUNTS,
    PNL_BUCKET_MONEY,
    PNL_BUCKET_STATUSES,
    PNL_BUCKET_TOTALS,
    TRADE_MONEY_FIELDS,
    AuditEntry,
    CorrectionRecord,
    GuardTrigger,
    PnlBucket,
    PnlSummary,
    SessionSnapshot,
    TradeRecord,
)
from engine.ledger.rows import (
    TRADE_COLUMNS,
    decode_audit,
    decode_correction,
    decode_snapshot,
    decode_trade,
)
from engine.ledger.store import (
    LedgerUnavailable,
    correction_deltas,
    rollup_deltas,
    split_window,
)

CONNECT_TIMEOUT_S = 5.0
ACQUIRE_TIMEOUT_S = 10.0
COMMAND_TIMEOUT_S = 60.0
CLOSE_TIMEOUT_S = 5.0
_NO_END = 2**62  # bucket start bound for `until=None`

# SQLSTATE classes that mean "the database cannot serve us", not "the query is wrong".
_UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # refused, unreachable, timeouts (TimeoutError is an OSError)
    pg_errors.PostgresConnectionError,  # 08: connection lost mid-query
    pg_errors.OperatorInterventionError,  # 57: terminated, shutting down, starting up
    pg_errors.InsufficientResourcesError,  # 53: disk full, too many connections
    pg_errors.InvalidAuthorizationSpecificationError,  # 28: login refused
    pg_errors.InvalidCatalogNameError,  # 3D000: the database does not exist
    pg_errors.ReadOnlySQLTransactionError,  # 25006: a standby after failover
)

_TYPES = {
    **{name: "numeric" for name in TRADE_MONEY_FIELDS},
    "route": "json",
    "gas_used": "bigint",
    "block_number": "bigint",
    "detected_at": "float8",
    "submitted_at": "float8",
    "mined_at": "float8",
    "nonce": "bigint",
    "recovered": "bool",
}
_TRADE_SELECT = f"SELECT {', '.join(TRADE_COLUMNS)} FROM trades"
_TRADE_INSERT = (
    f"INSERT INTO trades ({', '.join(TRADE_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"${i}::{_TYPES.get(c, 'text')}[]" for i, c in enumerate(TRADE_COLUMNS, 1))
    + ") ON CONFLICT DO NOTHING RETURNING id"
)
_ROLLUP_TYPES = ["bigint", "bigint", "text", "text"] + ["bigint"] * 4 + ["numeric"] * 7
_ROLLUP_UPSERT = (
    "INSERT INTO trade_rollup (span, start, token, token_symbol, "
    f"{', '.join(PNL_BUCKET_TOTALS)}) SELECT * FROM unnest("
    + ", ".join(f"${i}::{t}[]" for i, t in enumerate(_ROLLUP_TYPES, 1))
    + ") ON CONFLICT (span, start, token) DO UPDATE SET token_symbol = EXCLUDED.token_symbol, "
    + ", ".join(f"{c} = trade_rollup.{c} + EXCLUDED.{c}" for c in PNL_BUCKET_TOTALS)
)
_ROLLUP_SUMS = (
    "SELECT token, max(token_symbol), "
    + ", ".join(f"sum({c})" for c in PNL_BUCKET_TOTALS)
    + " FROM trade_rollup WHERE span = $1 AND start >= $2 AND start < $3 GROUP BY token"
)
_SCAN_SUMS = (
    "SELECT token, max(token_symbol), count(*), "
    "count(*) FILTER (WHERE status = 'success'), "
    "count(*) FILTER (WHERE status = 'reverted'), "
    "count(*) FILTER (WHERE status = 'failed'), "
    + ", ".join(f"sum({c})" for c in PNL_BUCKET_MONEY)
    + " FROM trades WHERE detected_at >= $1 AND detected_at < $2 GROUP BY token"
)
# What start-up recovery asks: the nonces of a sender's transactions that were mined.
_LAST_NONCE = (
    "SELECT nonce, block_number FROM trades WHERE sender = $1 AND nonce IS NOT NULL "
    "AND block_number > 0 ORDER BY nonce DESC LIMIT 1"
)
_NONCES = (
    "SELECT DISTINCT nonce FROM trades WHERE sender = $1 AND nonce >= $2 AND nonce < $3 "
    "AND block_number > 0"
)
_CORRECTION_TYPES = {
    **{name: "numeric" for name in CORRECTION_MONEY_FIELDS},
    **{name: "bigint" for name in ("old_block", "new_block", *PNL_BUCKET_STATUSES)},
    "corrected_at": "float8",
    "trade_detected_at": "float8",
}
_CORRECTION_INSERT = (
    f"INSERT INTO trade_corrections ({', '.join(CORRECTION_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(
        f"${i}::{_CORRECTION_TYPES.get(c, 'text')}[]" for i, c in enumerate(CORRECTION_COLUMNS, 1)
    )
    + ") ON CONFLICT DO NOTHING RETURNING id"
)
_CORRECTION_SELECT = f"SELECT {', '.join(CORRECTION_COLUMNS)} FROM trade_corrections"
_CORRECTION_SUMS = (
    "SELECT token, max(token_symbol), 0, "
    + ", ".join(f"sum({c})" for c in CORRECTION_DELTAS)
    + " FROM trade_corrections WHERE corrected_at >= $1 AND corrected_at < $2 GROUP BY token"
)
_STATUSES = ("success", "reverted", "failed")
_GUARD_COLUMNS = tuple(f.name for f in fields(GuardTrigger))
_AUDIT_COLUMNS = ("id", "ts", "uid", "client", "action", "reason", "params", "outcome")
_SNAPSHOT_COLUMNS = ("id", "session_id", "ts", "kind", "status", "state")


class PostgresLedger:
    """`LedgerStore` on PostgreSQL, in one schema."""

    backend = "postgres"

    def __init__(self, dsn: str, schema: str = "public", *, max_connections: int = 4) -> None:
        self.schema = schema
        self._dsn = dsn
        self._max_connections = max_connections
        self._where = f"{_describe(dsn)}, schema {schema}"
        self._pool: asyncpg.Pool | None = None

    # --- lifecycle -------------------------------------------------------------------
    async def open(self) -> None:
        """Connect the pool, create the schema if missing, apply pending migrations."""
        if self._pool is not None:
            return
        with self._unavailable_on_failure("connect"):
            self._pool = await asyncpg.create_pool(
                self._dsn,
                min_size=1,
                max_size=self._max_connections,
                timeout=CONNECT_TIMEOUT_S,
                command_timeout=COMMAND_TIMEOUT_S,
                server_settings={
                    "search_path": _quote_ident(self.schema),
                    "application_name": "arbctl-ledger",
                },
            )
        try:
            await self._migrate()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT_S)
        except _UNAVAILABLE_ERRORS:  # includes the timeout
            pool.terminate()

    async def ping(self) -> float:
        """Round trip in ms, including taking a connection from the pool."""
        start = time.perf_counter()
        async with self._connection("ping") as conn:
            await conn.fetchval("SELECT 1", timeout=CONNECT_TIMEOUT_S)
        return (time.perf_counter() - start) * 1000.0

    async def schema_version(self) -> int:
        async with self._connection("read schema version") as conn:
            return int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version"))

    async def _migrate(self) -> None:
        """Under a per-schema advisory lock, so engines opening together migrate once."""
        async with self._connection("migrate the schema") as conn, conn.transaction():
            lock_key = f"arbctl.ledger.migrate:{self.schema}"
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", lock_key)
            exists = await conn.fetchval(
                "SELECT 1 FROM pg_namespace WHERE nspname = $1", self.schema
            )
            if not exists:
                await conn.execute(f"CREATE SCHEMA {_quote_ident(self.schema)}")
            await conn.execute(migrations.VERSION_TABLE_DDL)
            await migrations.migrate(_MigrationTarget(conn), migrations.load("postgres"))

    # --- trades ----------------------------------------------------------------------
    async def record_trades(self, trades: list[TradeRecord]) -> None:
        """Insert the trades not stored yet and add them to the rollup, atomically.

        ON CONFLICT DO NOTHING makes a retried or concurrent insert of the same id (or of
        another trade of a mined transaction already booked) a no-op, and RETURNING lists
        only the rows this call inserted, so only those are added to the rollup: no
        duplicate trades, no double-counted totals."""
        batch = _unique_by_id(trades)
        if not batch:
            return
        columns = _trade_columns(batch)  # validate before taking a connection
        async with self._connection("record trades") as conn, conn.transaction():
            inserted = {row[0] for row in await conn.fetch(_TRADE_INSERT, *columns)}
            fresh = [t for t in batch if t.id in inserted]
            if fresh:
                await conn.execute(_ROLLUP_UPSERT, *_rollup_columns(rollup_deltas(fresh)))

    async def record_corrections(self, corrections: list[CorrectionRecord]) -> None:
        """Insert the corrections not stored yet and add them to the rollup, atomically;
        RETURNING names the rows this call inserted, so a repeat is counted once."""
        batch = list({c.id: c for c in reversed(corrections)}.values())[::-1]
        if not batch:
            return
        columns = _correction_columns(batch)
        async with self._connection("record corrections") as conn, conn.transaction():
            inserted = {row[0] for row in await conn.fetch(_CORRECTION_INSERT, *columns)}
            fresh = [c for c in batch if c.id in inserted]
            if fresh:
                deltas = correction_deltas(fresh)
                await conn.execute(_ROLLUP_UPSERT, *_rollup_columns(deltas))

    async def list_corrections(
        self, since: float = 0.0, trade_id: str | None = None, limit: int = 100
    ) -> list[CorrectionRecord]:
        """Corrections written at or after `since`, newest first."""
        params: list[Any] = [since]
        sql = f"{_CORRECTION_SELECT} WHERE corrected_at >= $1"
        if trade_id is not None:
            params.append(trade_id)
            sql += f" AND trade_id = ${len(params)}"
        params.append(max(limit, 0))
        sql += f" ORDER BY corrected_at DESC, id DESC LIMIT ${len(params)}"
        async with self._connection("list corrections") as conn:
            rows = await conn.fetch(sql, *params)
        return [decode_correction(row) for row in rows]

    async def get_trade(self, trade_id: str) -> TradeRecord | None:
        async with self._connection("read a trade") as conn:
            row = await conn.fetchrow(f"{_TRADE_SELECT} WHERE id = $1", trade_id)
        return decode_trade(row) if row is not None else None

    async def list_trades(
        self,
        since: float = 0.0,
        until: float | None = None,
        status: str | None = None,
        failed_only: bool = False,
        limit: int = 100,
    ) -> list[TradeRecord]:
        """Trades detected in [since, until), newest first."""
        where, params = _trade_filters(since, until, status, failed_only)
        params.append(max(limit, 0))
        sql = (
            f"{_TRADE_SELECT} WHERE {where} ORDER BY detected_at DESC, id DESC LIMIT ${len(params)}"
        )
        async with self._connection("list trades") as conn:
            rows = await conn.fetch(sql, *params)
        return [decode_trade(row) for row in rows]

    async def last_booked_nonce(self, sender: str) -> tuple[int, int] | None:
        """(nonce, block) of `sender`'s highest-nonce trade that was mined."""
        async with self._connection("read the last booked nonce") as conn:
            row = await conn.fetchrow(_LAST_NONCE, sender)
        return (int(row[0]), int(row[1])) if row is not None else None

    async def booked_nonces(self, sender: str, first: int, end: int) -> set[int]:
        """Nonces in [first, end) of `sender`'s trades that were mined."""
        async with self._connection("read booked nonces") as conn:
            rows = await conn.fetch(_NONCES, sender, first, end)
        return {int(row[0]) for row in rows}

    async def pnl(self, since: float, until: float | None = None) -> PnlSummary:
        """Totals of trades detected in [since, until) (`until=None`: no upper bound; the
        summary then reports the query time). Whole days and hours come from the rollup,
        the partial hours at the edges from the trades, in one REPEATABLE READ snapshot
        so the parts agree while other sessions write. The server sums, exactly."""
        window = split_window(since, until)
        summary = PnlSummary(since=since, until=time.time() if until is None else until)
        rows: list[Any] = []
        async with self._snapshot("compute pnl") as conn:
            for lo, hi in window.raw:
                rows += await conn.fetch(_SCAN_SUMS, lo, hi)
                rows += await conn.fetch(_CORRECTION_SUMS, lo, hi)
            for rollup in window.rollups:
                end = _NO_END if rollup.end is None else rollup.end
                rows += await conn.fetch(_ROLLUP_SUMS, rollup.span, rollup.first, end)
        for row in rows:
            summary.add_bucket(_decode_bucket(row))
        return summary

    async def pnl_from_trades(self, since: float, until: float | None = None) -> PnlSummary:
        """The same totals from the trades alone, ignoring the rollup: the reference the
        rollup is checked against (tests, bench). Slow on a big ledger."""
        summary = PnlSummary(since=since, until=time.time() if until is None else until)
        end = float("inf") if until is None else until
        async with self._snapshot("scan pnl") as conn:
            rows = await conn.fetch(_SCAN_SUMS, since, end)
            rows += await conn.fetch(_CORRECTION_SUMS, since, end)
        for row in rows:
            summary.add_bucket(_decode_bucket(row))
        return summary

    # --- guards and audit ------------------------------------------------------------
    async def record_guard_trigger(self, trigger: GuardTrigger) -> None:
        """Idempotent on the trigger id, like trades: a retried write is harmless."""
        placeholders = ", ".join(f"${i}" for i in range(1, len(_GUARD_COLUMNS) + 1))
        sql = (
            f"INSERT INTO guard_triggers ({', '.join(_GUARD_COLUMNS)}) "
            f"VALUES ({placeholders}) ON CONFLICT (id) DO NOTHING"
        )
        async with self._connection("record a guard trigger") as conn:
            await conn.execute(sql, *(getattr(trigger, name) for name in _GUARD_COLUMNS))

    async def list_guard_triggers(self, since: float = 0.0, limit: int = 100) -> list[GuardTrigger]:
        """Newest first."""
        sql = (
            f"SELECT {', '.join(_GUARD_COLUMNS)} FROM guard_triggers WHERE ts >= $1 "
            "ORDER BY ts DESC, id DESC LIMIT $2"
        )
        async with self._connection("list guard triggers") as conn:
            rows = await conn.fetch(sql, since, max(limit, 0))
        return [GuardTrigger(*row) for row in rows]

    async def append_audit(self, entry: AuditEntry) -> AuditEntry:
        sql = (
            "INSERT INTO audit (ts, uid, client, action, reason, params, outcome) "
            "VALUES ($1, $2, $3, $4, $5, $6::json, $7) RETURNING id"
        )
        e = entry
        values = (e.ts, e.uid, e.client, e.action, e.reason, _json(e.params), e.outcome)
        async with self._connection("append to the audit log") as conn:
            new_id = await conn.fetchval(sql, *values)
        return replace(entry, id=int(new_id))

    async def list_audit(self, since: float = 0.0, limit: int = 100) -> list[AuditEntry]:
        """Newest first."""
        sql = (
            f"SELECT {', '.join(_AUDIT_COLUMNS)} FROM audit WHERE ts >= $1 "
            "ORDER BY ts DESC, id DESC LIMIT $2"
        )
        async with self._connection("list the audit log") as conn:
            rows = await conn.fetch(sql, since, max(limit, 0))
        return [decode_audit(row) for row in rows]

    # --- snapshots and engine state ----------------------------------------------------
    async def save_snapshot(self, snapshot: SessionSnapshot) -> SessionSnapshot:
        sql = (
            "INSERT INTO session_snapshots (session_id, ts, kind, status, state) "
            "VALUES ($1, $2, $3, $4, $5::json) RETURNING id"
        )
        s = snapshot
        async with self._connection("save a snapshot") as conn:
            new_id = await conn.fetchval(sql, s.session_id, s.ts, s.kind, s.status, _json(s.state))
        return replace(snapshot, id=int(new_id))

    async def latest_snapshot(self) -> SessionSnapshot | None:
        found = await self.list_snapshots(limit=1)
        return found[0] if found else None

    async def list_snapshots(self, limit: int = 20) -> list[SessionSnapshot]:
        """Newest first."""
        sql = (
            f"SELECT {', '.join(_SNAPSHOT_COLUMNS)} FROM session_snapshots "
            "ORDER BY ts DESC, id DESC LIMIT $1"
        )
        async with self._connection("list snapshots") as conn:
            rows = await conn.fetch(sql, max(limit, 0))
        return [decode_snapshot(row) for row in rows]

    async def cleanup_snapshots(self, older_than: float) -> int:
        """Delete snapshots older than `older_than` of sessions that stopped, never the
        newest snapshot of all. The rule is the SQL function `cleanup_snapshots` (see the
        migration), which the runbook's `SELECT cleanup_old_snapshots_30d();` also calls."""
        async with self._connection("clean up snapshots") as conn:
            return int(await conn.fetchval("SELECT cleanup_snapshots($1)", older_than))

    async def set_state(self, key: str, value: dict[str, Any]) -> None:
        sql = (
            "INSERT INTO engine_state (key, value, updated_at) VALUES ($1, $2::json, $3) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "
            "updated_at = EXCLUDED.updated_at"
        )
        async with self._connection("persist engine state") as conn:
            await conn.execute(sql, key, _json(value), time.time())

    async def get_state(self, key: str) -> dict[str, Any] | None:
        async with self._connection("read engine state") as conn:
            value = await conn.fetchval("SELECT value FROM engine_state WHERE key = $1", key)
        return json.loads(value) if value is not None else None

    # --- plumbing ----------------------------------------------------------------------
    @asynccontextmanager
    async def _connection(self, action: str) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection; database failures while it is held become LedgerUnavailable."""
        with self._unavailable_on_failure(action):
            if self._pool is None:
                raise LedgerUnavailable(f"PostgreSQL ledger ({self._where}) is not open")
            async with self._pool.acquire(timeout=ACQUIRE_TIMEOUT_S) as conn:
                yield conn

    @asynccontextmanager
    async def _snapshot(self, action: str) -> AsyncIterator[asyncpg.Connection]:
        """A read-only transaction that sees one consistent state for several queries."""
        async with (
            self._connection(action) as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            yield conn

    @contextmanager
    def _unavailable_on_failure(self, action: str) -> Iterator[None]:
        try:
            yield
        except _UNAVAILABLE_ERRORS as exc:
            raise LedgerUnavailable(self._unavailable_message(action, exc)) from exc
        except asyncpg.InterfaceError as exc:
            if "closed" not in str(exc):  # a closed connection or pool, not misuse
                raise
            raise LedgerUnavailable(self._unavailable_message(action, exc)) from exc

    def _unavailable_message(self, action: str, exc: BaseException) -> str:
        detail = str(exc) or type(exc).__name__
        return f"PostgreSQL ledger ({self._where}) unavailable: could not {action}: {detail}"


class _MigrationTarget:
    """The migration runner's view of a connection inside the migration transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def applied_versions(self) -> set[int]:
        rows = await self._conn.fetch("SELECT version FROM schema_version")
        return {int(row[0]) for row in rows}

    async def apply(self, migration: migrations.Migration, applied_at: float) -> None:
        await self._conn.execute(migration.sql)  # no arguments: simple protocol, many statements
        await self._conn.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)",
            migration.version,
            migration.name,
            applied_at,
        )


# --- encoding ------------------------------------------------------------------------------
def _json(value: Any) -> str:
    """NaN/Infinity are refused: they are not JSON, and PostgreSQL would reject them later."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _trade_columns(batch: list[TradeRecord]) -> list[list[Any]]:
    """The batch as one array per column, for unnest. Money must be int: asyncpg would
    silently round a float into NUMERIC(78,0)."""
    columns = []
    for name in TRADE_COLUMNS:
        values = [getattr(trade, name) for trade in batch]
        if name in TRADE_MONEY_FIELDS:
            for value in values:
                if type(value) is not int:
                    kind = type(value).__name__
                    raise TypeError(f"trade field {name} must be an int, got {kind}")
        elif name == "route":
            values = [_json(value) for value in values]
        columns.append(values)
    return columns


def _correction_columns(batch: list[CorrectionRecord]) -> list[list[Any]]:
    """The batch as one array per column, for unnest; money must be int."""
    columns = []
    for name in CORRECTION_COLUMNS:
        values = [getattr(correction, name) for correction in batch]
        if name in CORRECTION_MONEY_FIELDS and any(type(v) is not int for v in values):
            raise TypeError(f"correction field {name} must be an int")
        columns.append(values)
    return columns


def _rollup_columns(deltas: dict[tuple[int, int, str], PnlBucket]) -> list[list[Any]]:
    """Per (span, start, token) deltas of new trades or corrections as unnest arrays, in
    key order so concurrent writers lock rollup rows in the same order and cannot
    deadlock."""
    rows = [
        (*key, b.token_symbol, *(getattr(b, name) for name in PNL_BUCKET_TOTALS))
        for key, b in deltas.items()
    ]
    return [list(column) for column in zip(*rows, strict=True)]


def _decode_bucket(row: Sequence[Any]) -> PnlBucket:
    token, symbol, *totals = row
    counts = [int(v) for v in totals[: len(PNL_BUCKET_COUNTS)]]
    money = [int(v) for v in totals[len(PNL_BUCKET_COUNTS) :]]
    return PnlBucket(token, symbol, *counts, *money)


def _trade_filters(
    since: float, until: float | None, status: str | None, failed_only: bool
) -> tuple[str, list[Any]]:
    where: list[str] = ["detected_at >= $1"]
    params: list[Any] = [since]
    if until is not None:
        params.append(until)
        where.append(f"detected_at < ${len(params)}")
    if status is not None:
        if status not in _STATUSES:
            raise ValueError(f"unknown trade status {status!r} (known: {', '.join(_STATUSES)})")
        params.append(status)
        where.append(f"status = ${len(params)}")
    if failed_only:
        where.append("status IN ('reverted', 'failed')")
    return " AND ".join(where), params


def _unique_by_id(trades: Iterable[TradeRecord]) -> list[TradeRecord]:
    """First occurrence wins, as it would had the batch been written one by one."""
    seen: dict[str, TradeRecord] = {}
    for trade in trades:
        seen.setdefault(trade.id, trade)
    return list(seen.values())


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _describe(dsn: str) -> str:
    """Where the ledger lives, for messages: host, port and database, never credentials."""
    try:
        parts = urlsplit(dsn)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "PostgreSQL"
    if parts.scheme not in ("postgres", "postgresql") or not host:
        return "PostgreSQL"
    return f"postgresql://{host}{f':{port}' if port else ''}{parts.path}"
