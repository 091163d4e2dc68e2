"""The embedded ledger: one SQLite file under the state directory, through aiosqlite.

Connection settings, and why:
- WAL: the console and `arbctl pnl` read while the engine writes, neither blocking the other.
- synchronous=NORMAL, set explicitly (never left to a build default): in WAL mode a
  committed transaction survives a crash of the process, because the WAL sits in the OS
  page cache and is replayed on the next open. Only an OS crash or power loss can lose the
  last transactions before a checkpoint syncs them. A crashing daemon is the failure that
  matters here; FULL would add an fsync to every trade for the rarer one.
- busy_timeout: when another process (a backup, the bench, a second reader) holds the lock,
  wait for it instead of failing a write at once.
- foreign_keys=ON: SQLite leaves it off per connection; any REFERENCES we add is enforced.

One connection per store, and one asyncio lock around it: aiosqlite runs statements on
its own thread in order, and the lock keeps one coroutine's transaction from swallowing
another's statements. Writes take the write lock up front (BEGIN IMMEDIATE), so the
check for already-stored trade ids and the insert cannot be split by another process.

Money columns are decimal TEXT (see the migration) and come back as exact Python ints.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import fields, replace
from operator import attrgetter
from pathlib import Path
from typing import Any

import aiosqlite

from engine.ledger import migrations
from engine.ledger.records import (
    CORRECTION_COLUMNS,
    CORRECTION_DELTAS,
    CORRECTION_MONEY_FIELDS,
    PNL_BUCKET_COUNTS,
    PNL_BUCKET_MONEY,
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
    ROLLUP_SPANS,
    LedgerUnavailable,
    RollupRange,
    correction_deltas,
    rollup_deltas,
    split_window,
)

BUSY_TIMEOUT_MS = 5_000
_IN_CHUNK = 500  # ids per `IN (...)`, well under SQLite's bound-parameter limit

# Primary result codes that mean "the database cannot serve us", not "the query is wrong".
_UNAVAILABLE_CODES = frozenset(
    {
        sqlite3.SQLITE_PERM,
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_NOTADB,
    }
)

_TRADE_SELECT = f"SELECT {', '.join(TRADE_COLUMNS)} FROM trades"
_TRADE_VALUES = attrgetter(*TRADE_COLUMNS)
_MONEY_POSITIONS = [i for i, name in enumerate(TRADE_COLUMNS) if name in TRADE_MONEY_FIELDS]
_ROUTE_POSITION = TRADE_COLUMNS.index("route")
_TRADE_INSERT = (
    f"INSERT INTO trades ({', '.join(TRADE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(TRADE_COLUMNS))})"
)
# What start-up recovery asks: the nonces of a sender's transactions that were mined.
_LAST_NONCE = (
    "SELECT nonce, block_number FROM trades WHERE sender = ? AND nonce IS NOT NULL "
    "AND block_number > 0 ORDER BY nonce DESC LIMIT 1"
)
_NONCES = (
    "SELECT DISTINCT nonce FROM trades WHERE sender = ? AND nonce >= ? AND nonce < ? "
    "AND block_number > 0"
)
_ROLLUP_COLUMNS = ("span", "start", "token", "token_symbol", *PNL_BUCKET_TOTALS)
_ROLLUP_UPSERT = (
    f"INSERT OR REPLACE INTO trade_rollup ({', '.join(_ROLLUP_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_ROLLUP_COLUMNS))})"
)
_BUCKET_COLUMNS = ", ".join(("token", "token_symbol", *PNL_BUCKET_TOTALS))
_SCAN_COLUMNS = ", ".join(("token", "token_symbol", "status", *PNL_BUCKET_MONEY))
_STATUSES = ("success", "reverted", "failed")
_CORRECTION_INSERT = (
    f"INSERT INTO trade_corrections ({', '.join(CORRECTION_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(CORRECTION_COLUMNS))})"
)
_CORRECTION_SELECT = f"SELECT {', '.join(CORRECTION_COLUMNS)} FROM trade_corrections"
_CORRECTION_SCAN = (
    f"SELECT token, token_symbol, {', '.join(CORRECTION_DELTAS)} FROM trade_corrections "
    "WHERE corrected_at >= ? AND corrected_at < ?"
)
_GUARD_COLUMNS = tuple(f.name for f in fields(GuardTrigger))
_AUDIT_COLUMNS = ("id", "ts", "uid", "client", "action", "reason", "params", "outcome")
_SNAPSHOT_COLUMNS = ("id", "session_id", "ts", "kind", "status", "state")


class SqliteLedger:
    """`LedgerStore` on a local SQLite file."""

    backend = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._identity: tuple[int, int] | None = None

    # --- lifecycle -------------------------------------------------------------------
    async def open(self) -> None:
        """Create the file if needed (0600, in a 0700 directory), configure, migrate."""
        if self._db is not None:
            return
        try:
            _create_private_file(self.path)
            self._db = await aiosqlite.connect(self.path, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise LedgerUnavailable(f"cannot open the SQLite ledger {self.path}: {exc}") from exc
        try:
            await self._configure()
            await self._migrate()
        except BaseException:
            await self.close()
            raise
        self._identity = _file_identity(self.path)

    async def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            with suppress(sqlite3.Error):
                await db.close()

    async def ping(self) -> float:
        """Round trip in ms. Also fails when the file was deleted or replaced under us:
        the open connection would go on writing to an unlinked inode nobody will read."""
        start = time.perf_counter()
        await self._fetch("ping", "SELECT max(version) FROM schema_version", ())
        if _file_identity(self.path) != self._identity:
            raise LedgerUnavailable(
                f"SQLite ledger {self.path} was removed or replaced while open; "
                "restart the engine to reopen it"
            )
        return (time.perf_counter() - start) * 1000.0

    async def schema_version(self) -> int:
        rows = await self._fetch("read schema version", "SELECT max(version) FROM schema_version")
        return int(rows[0][0] or 0)

    async def pragmas(self) -> dict[str, Any]:
        """The durability settings as the live connection reports them (for `doctor`
        checks and tests): settings like synchronous are per connection, so asking a
        fresh connection would prove nothing."""
        names = ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
        async with self._statements("read settings") as db:
            return {
                name: next(iter(await db.execute_fetchall(f"PRAGMA {name}")))[0] for name in names
            }

    async def _configure(self) -> None:
        async with self._statements("configure") as db:
            await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            rows = await db.execute_fetchall("PRAGMA journal_mode = WAL")
            mode = str(next(iter(rows))[0]).lower()
            if mode != "wal":
                raise LedgerUnavailable(
                    f"SQLite ledger {self.path}: cannot use WAL (journal_mode={mode}); "
                    "is it on a network filesystem?"
                )
            await db.execute("PRAGMA synchronous = NORMAL")
            await db.execute("PRAGMA foreign_keys = ON")

    async def _migrate(self) -> None:
        async with self._transaction("migrate the schema") as db:
            await db.execute(migrations.VERSION_TABLE_DDL)
            await migrations.migrate(_MigrationTarget(db), migrations.load("sqlite"))

    # --- trades ----------------------------------------------------------------------
    async def record_trades(self, trades: list[TradeRecord]) -> None:
        """Insert the trades not stored yet and add them to the rollup, atomically.

        Ids already in the table (a retry after a failed commit, a replay), and trades of
        a mined transaction already booked under another id (start-up recovery), are
        skipped before the rollup sees them, so neither the trades nor the totals double."""
        batch = _unique_by_id(trades)
        if not batch:
            return
        rows = {t.id: _encode_trade(t) for t in batch}  # validate before locking
        async with self._transaction("record trades") as db:
            stored = await _stored_ids(db, list(rows))
            booked = await _stored_mined_hashes(db, [t.tx_hash for t in batch if _mined(t)])
            fresh = _fresh_trades(batch, stored, booked)
            await db.executemany(_TRADE_INSERT, [rows[t.id] for t in fresh])
            await _add_to_rollup(db, rollup_deltas(fresh))

    async def record_corrections(self, corrections: list[CorrectionRecord]) -> None:
        """Insert the corrections not stored yet and add them to the rollup, atomically
        (a correction written twice is counted once)."""
        batch = list({c.id: c for c in reversed(corrections)}.values())[::-1]
        if not batch:
            return
        rows = {c.id: _encode_correction(c) for c in batch}
        async with self._transaction("record corrections") as db:
            stored = await _stored_ids(db, list(rows), "trade_corrections")
            fresh = [c for c in batch if c.id not in stored]
            await db.executemany(_CORRECTION_INSERT, [rows[c.id] for c in fresh])
            await _add_to_rollup(db, correction_deltas(fresh))

    async def list_corrections(
        self, since: float = 0.0, trade_id: str | None = None, limit: int = 100
    ) -> list[CorrectionRecord]:
        """Corrections written at or after `since`, newest first."""
        sql = f"{_CORRECTION_SELECT} WHERE corrected_at >= ?"
        params: list[Any] = [since]
        if trade_id is not None:
            sql += " AND trade_id = ?"
            params.append(trade_id)
        sql += " ORDER BY corrected_at DESC, id DESC LIMIT ?"
        rows = await self._fetch("list corrections", sql, (*params, max(limit, 0)))
        return [decode_correction(row) for row in rows]

    async def get_trade(self, trade_id: str) -> TradeRecord | None:
        rows = await self._fetch("read a trade", f"{_TRADE_SELECT} WHERE id = ?", (trade_id,))
        return decode_trade(rows[0]) if rows else None

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
        sql = f"{_TRADE_SELECT} WHERE {where} ORDER BY detected_at DESC, id DESC LIMIT ?"
        rows = await self._fetch("list trades", sql, (*params, max(limit, 0)))
        return [decode_trade(row) for row in rows]

    async def last_booked_nonce(self, sender: str) -> tuple[int, int] | None:
        """(nonce, block) of `sender`'s highest-nonce trade that was mined."""
        rows = await self._fetch("read the last booked nonce", _LAST_NONCE, (sender,))
        return (int(rows[0][0]), int(rows[0][1])) if rows else None

    async def booked_nonces(self, sender: str, first: int, end: int) -> set[int]:
        """Nonces in [first, end) of `sender`'s trades that were mined."""
        rows = await self._fetch("read booked nonces", _NONCES, (sender, first, end))
        return {int(row[0]) for row in rows}

    async def pnl(self, since: float, until: float | None = None) -> PnlSummary:
        """Totals of trades detected in [since, until) (`until=None`: no upper bound; the
        summary then reports the query time). Whole days and hours come from the rollup,
        the partial hours at the edges from the trades; one read transaction, so the
        parts agree even while another process writes."""
        window = split_window(since, until)
        summary = PnlSummary(since=since, until=time.time() if until is None else until)
        async with self._transaction("compute pnl", begin="BEGIN DEFERRED") as db:
            buckets: list[PnlBucket] = []
            for lo, hi in window.raw:
                buckets += await _scan_buckets(db, lo, hi)
            for rollup in window.rollups:
                buckets += await _rollup_buckets(db, rollup)
        for bucket in buckets:
            summary.add_bucket(bucket)
        return summary

    async def pnl_from_trades(self, since: float, until: float | None = None) -> PnlSummary:
        """The same totals from a full scan of the trades, ignoring the rollup: the
        reference the rollup is checked against (tests, bench). Slow on a big ledger."""
        summary = PnlSummary(since=since, until=time.time() if until is None else until)
        async with self._transaction("scan pnl", begin="BEGIN DEFERRED") as db:
            buckets = await _scan_buckets(db, since, float("inf") if until is None else until)
        for bucket in buckets:
            summary.add_bucket(bucket)
        return summary

    # --- guards and audit ------------------------------------------------------------
    async def record_guard_trigger(self, trigger: GuardTrigger) -> None:
        """Idempotent on the trigger id, like trades: a retried write is harmless."""
        columns = ", ".join(_GUARD_COLUMNS)
        sql = (
            f"INSERT INTO guard_triggers ({columns}) VALUES "
            f"({', '.join('?' * len(_GUARD_COLUMNS))}) ON CONFLICT (id) DO NOTHING"
        )
        values = tuple(getattr(trigger, name) for name in _GUARD_COLUMNS)
        async with self._transaction("record a guard trigger") as db:
            await db.execute(sql, values)

    async def list_guard_triggers(self, since: float = 0.0, limit: int = 100) -> list[GuardTrigger]:
        """Newest first."""
        sql = (
            f"SELECT {', '.join(_GUARD_COLUMNS)} FROM guard_triggers WHERE ts >= ? "
            "ORDER BY ts DESC, id DESC LIMIT ?"
        )
        rows = await self._fetch("list guard triggers", sql, (since, max(limit, 0)))
        return [GuardTrigger(*row) for row in rows]

    async def append_audit(self, entry: AuditEntry) -> AuditEntry:
        sql = (
            "INSERT INTO audit (ts, uid, client, action, reason, params, outcome) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id"
        )
        values = (entry.ts, entry.uid, entry.client, entry.action, entry.reason)
        async with self._transaction("append to the audit log") as db:
            rows = await db.execute_fetchall(sql, (*values, _json(entry.params), entry.outcome))
        return replace(entry, id=int(next(iter(rows))[0]))

    async def list_audit(self, since: float = 0.0, limit: int = 100) -> list[AuditEntry]:
        """Newest first."""
        sql = (
            f"SELECT {', '.join(_AUDIT_COLUMNS)} FROM audit WHERE ts >= ? "
            "ORDER BY ts DESC, id DESC LIMIT ?"
        )
        rows = await self._fetch("list the audit log", sql, (since, max(limit, 0)))
        return [decode_audit(row) for row in rows]

    # --- snapshots and engine state ----------------------------------------------------
    async def save_snapshot(self, snapshot: SessionSnapshot) -> SessionSnapshot:
        sql = (
            "INSERT INTO session_snapshots (session_id, ts, kind, status, state) "
            "VALUES (?, ?, ?, ?, ?) RETURNING id"
        )
        s = snapshot
        values = (s.session_id, s.ts, s.kind, s.status, _json(s.state))
        async with self._transaction("save a snapshot") as db:
            rows = await db.execute_fetchall(sql, values)
        return replace(snapshot, id=int(next(iter(rows))[0]))

    async def latest_snapshot(self) -> SessionSnapshot | None:
        found = await self.list_snapshots(limit=1)
        return found[0] if found else None

    async def list_snapshots(self, limit: int = 20) -> list[SessionSnapshot]:
        """Newest first."""
        sql = (
            f"SELECT {', '.join(_SNAPSHOT_COLUMNS)} FROM session_snapshots "
            "ORDER BY ts DESC, id DESC LIMIT ?"
        )
        rows = await self._fetch("list snapshots", sql, (max(limit, 0),))
        return [decode_snapshot(row) for row in rows]

    async def cleanup_snapshots(self, older_than: float) -> int:
        """Delete snapshots older than `older_than` of sessions that stopped (the runbook's
        cleanup_old_snapshots_30d). Never the newest snapshot of all: a restart after a
        long shutdown must still find the state to restore."""
        sql = """
            DELETE FROM session_snapshots
            WHERE ts < ?
              AND session_id IN (SELECT session_id FROM session_snapshots WHERE status = 'stopped')
              AND id <> (SELECT id FROM session_snapshots ORDER BY ts DESC, id DESC LIMIT 1)
        """
        async with self._transaction("clean up snapshots") as db:
            cursor = await db.execute(sql, (older_than,))
            return cursor.rowcount

    async def set_state(self, key: str, value: dict[str, Any]) -> None:
        sql = (
            "INSERT INTO engine_state (key, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at"
        )
        async with self._transaction("persist engine state") as db:
            await db.execute(sql, (key, _json(value), time.time()))

    async def get_state(self, key: str) -> dict[str, Any] | None:
        sql = "SELECT value FROM engine_state WHERE key = ?"
        rows = await self._fetch("read engine state", sql, (key,))
        return json.loads(rows[0][0]) if rows else None

    # --- backup ------------------------------------------------------------------------
    async def backup(self, dest: Path) -> None:
        """Copy the live database to `dest` with SQLite's online backup API: one
        consistent copy while the engine keeps trading (the write-behind writer waits on
        the connection meanwhile; trading never does)."""
        with backup_target(self.path, dest) as target:
            async with self._statements("back up the ledger") as db:
                await db.backup(target)

    # --- plumbing ----------------------------------------------------------------------
    async def _fetch(self, action: str, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        async with self._statements(action) as db:
            return list(await db.execute_fetchall(sql, params))

    @asynccontextmanager
    async def _statements(self, action: str) -> AsyncIterator[aiosqlite.Connection]:
        """The connection, held alone, with database failures turned into LedgerUnavailable."""
        async with self._lock:
            with self._unavailable_on_failure(action):
                if self._db is None:
                    raise LedgerUnavailable(f"SQLite ledger {self.path} is not open")
                yield self._db

    @asynccontextmanager
    async def _transaction(
        self, action: str, begin: str = "BEGIN IMMEDIATE"
    ) -> AsyncIterator[aiosqlite.Connection]:
        """One transaction: committed when the block ends, rolled back when it raises.

        A cancelled await does not cancel the statement: aiosqlite's thread still runs it
        (a BEGIN waiting out busy_timeout, say) after the caller has gone. So whatever
        ends the block early, cancellation included, queues a ROLLBACK unconditionally
        (asking `in_transaction` would read the state before that BEGIN ran); the thread
        runs statements in order, so it lands after the abandoned one, and the lock is
        held until it has. Without it the connection stayed inside a transaction and
        every later BEGIN failed (issue 11, finding 3)."""
        async with self._statements(action) as db:
            try:
                await db.execute(begin)
                yield db
                await db.execute("COMMIT")
            except BaseException:
                await _rollback(db)
                raise

    @contextmanager
    def _unavailable_on_failure(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            code = getattr(exc, "sqlite_errorcode", None)
            if code is None or code & 0xFF not in _UNAVAILABLE_CODES:
                raise
            raise LedgerUnavailable(
                f"SQLite ledger {self.path}: could not {action}: {exc}"
            ) from exc


async def _rollback(db: aiosqlite.Connection) -> None:
    """End whatever transaction the connection is in; none (the BEGIN failed, the COMMIT
    went through) is fine. The statement is queued before the first await, so a second
    cancellation arriving here cannot stop it from running."""
    with suppress(sqlite3.Error):
        await db.execute("ROLLBACK")


class _MigrationTarget:
    """The migration runner's view of a connection that is inside a write transaction."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def applied_versions(self) -> set[int]:
        rows = await self._db.execute_fetchall("SELECT version FROM schema_version")
        return {int(row[0]) for row in rows}

    async def apply(self, migration: migrations.Migration, applied_at: float) -> None:
        for statement in _split_statements(migration.sql):
            await self._db.execute(statement)
        await self._db.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.name, applied_at),
        )


# --- encoding ----------------------------------------------------------------------------
def _json(value: Any) -> str:
    """NaN/Infinity are refused: they are not JSON, and PostgreSQL would reject them."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _money(name: str, value: Any) -> str:
    if type(value) is not int:
        raise TypeError(f"trade field {name} must be an int, got {type(value).__name__}")
    return str(value)


def _encode_trade(trade: TradeRecord) -> list[Any]:
    values = list(_TRADE_VALUES(trade))
    for i in _MONEY_POSITIONS:
        values[i] = _money(TRADE_COLUMNS[i], values[i])
    values[_ROUTE_POSITION] = _json(values[_ROUTE_POSITION])
    return values


def _encode_correction(correction: CorrectionRecord) -> list[Any]:
    values = [getattr(correction, name) for name in CORRECTION_COLUMNS]
    for i, name in enumerate(CORRECTION_COLUMNS):
        if name in CORRECTION_MONEY_FIELDS:
            values[i] = _money(name, values[i])
    return values


def _trade_filters(
    since: float, until: float | None, status: str | None, failed_only: bool
) -> tuple[str, list[Any]]:
    where: list[str] = ["detected_at >= ?"]
    params: list[Any] = [since]
    if until is not None:
        where.append("detected_at < ?")
        params.append(until)
    if status is not None:
        if status not in _STATUSES:
            raise ValueError(f"unknown trade status {status!r} (known: {', '.join(_STATUSES)})")
        where.append("status = ?")
        params.append(status)
    if failed_only:
        where.append("status IN ('reverted', 'failed')")
    return " AND ".join(where), params


def _unique_by_id(trades: Iterable[TradeRecord]) -> list[TradeRecord]:
    """First occurrence wins, as it would had the batch been written one by one."""
    seen: dict[str, TradeRecord] = {}
    for trade in trades:
        seen.setdefault(trade.id, trade)
    return list(seen.values())


def _split_statements(script: str) -> Iterator[str]:
    """Statements of a migration, so they run inside our transaction (executescript would
    commit first). SQLite's own `complete_statement` decides where one ends, so semicolons
    in comments, strings and trigger bodies are handled."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\r\n;"):
                yield pending
            pending = ""


# --- trades and the rollup -----------------------------------------------------------------
async def _stored_ids(db: aiosqlite.Connection, ids: list[str], table: str = "trades") -> set[str]:
    stored: set[str] = set()
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        sql = f"SELECT id FROM {table} WHERE id IN ({', '.join('?' * len(chunk))})"
        stored.update(row[0] for row in await db.execute_fetchall(sql, chunk))
    return stored


async def _stored_mined_hashes(db: aiosqlite.Connection, hashes: list[str]) -> set[str]:
    """Which of these transactions are booked as mined (the unique index's rows)."""
    stored: set[str] = set()
    for start in range(0, len(hashes), _IN_CHUNK):
        chunk = hashes[start : start + _IN_CHUNK]
        sql = (
            f"SELECT tx_hash FROM trades WHERE tx_hash IN ({', '.join('?' * len(chunk))}) "
            "AND nonce IS NOT NULL AND block_number > 0"
        )
        stored.update(row[0] for row in await db.execute_fetchall(sql, chunk))
    return stored


def _mined(trade: TradeRecord) -> bool:
    """A trade the unique index `trades_by_mined_tx` covers: one per mined transaction."""
    return trade.nonce is not None and trade.block_number > 0


def _fresh_trades(
    batch: list[TradeRecord], stored_ids: set[str], booked: set[str]
) -> list[TradeRecord]:
    """The trades to insert: new ids, and at most one trade per mined transaction."""
    booked = set(booked)
    fresh = []
    for trade in batch:
        if trade.id in stored_ids or (_mined(trade) and trade.tx_hash in booked):
            continue
        if _mined(trade):
            booked.add(trade.tx_hash)
        fresh.append(trade)
    return fresh


async def _add_to_rollup(
    db: aiosqlite.Connection, deltas: dict[tuple[int, int, str], PnlBucket]
) -> None:
    """Add new trades' (or corrections') totals to their (span, start, token) rows: read,
    add exactly, write back. Sums are decimal TEXT, which SQL arithmetic would turn into
    floats, so the addition happens here; the write lock held since BEGIN IMMEDIATE makes
    it safe."""
    if not deltas:
        return
    current = await _rollup_rows(db, {(span, start) for span, start, _ in deltas})
    rows = []
    for key, delta in deltas.items():
        total = current.get(key)
        if total is None:
            total = delta
        else:
            total.add(delta)
        rows.append((*key, total.token_symbol, *_bucket_values(total)))
    await db.executemany(_ROLLUP_UPSERT, rows)


async def _rollup_rows(
    db: aiosqlite.Connection, buckets: set[tuple[int, int]]
) -> dict[tuple[int, int, str], PnlBucket]:
    """The stored rows of these (span, start) buckets, all tokens."""
    found: dict[tuple[int, int, str], PnlBucket] = {}
    for span in ROLLUP_SPANS:
        starts = sorted(start for s, start in buckets if s == span)
        for i in range(0, len(starts), _IN_CHUNK):
            chunk = starts[i : i + _IN_CHUNK]
            sql = (
                f"SELECT start, {_BUCKET_COLUMNS} FROM trade_rollup "
                f"WHERE span = ? AND start IN ({', '.join('?' * len(chunk))})"
            )
            for row in await db.execute_fetchall(sql, (span, *chunk)):
                found[(span, row[0], row[1])] = _decode_bucket(row[1:])
    return found


def _bucket_values(bucket: PnlBucket) -> list[Any]:
    counts = [getattr(bucket, name) for name in PNL_BUCKET_COUNTS]
    return counts + [str(getattr(bucket, name)) for name in PNL_BUCKET_MONEY]


def _decode_bucket(row: Sequence[Any]) -> PnlBucket:
    token, symbol, *totals = row
    counts = totals[: len(PNL_BUCKET_COUNTS)]
    money = [int(v) for v in totals[len(PNL_BUCKET_COUNTS) :]]
    return PnlBucket(token, symbol, *counts, *money)


async def _rollup_buckets(db: aiosqlite.Connection, rollup: RollupRange) -> list[PnlBucket]:
    """Per-token totals of one rollup range. Grouped and summed here: the money is decimal
    TEXT, and summing each column with `sum(map(int, ...))` keeps this at C speed for
    the rows a long period reads."""
    sql = f"SELECT {_BUCKET_COLUMNS} FROM trade_rollup WHERE span = ? AND start >= ?"
    params: list[Any] = [rollup.span, rollup.first]
    if rollup.end is not None:
        sql += " AND start < ?"
        params.append(rollup.end)
    by_token: dict[str, list[Any]] = {}
    for row in await db.execute_fetchall(sql + " ORDER BY start", params):
        by_token.setdefault(row[0], []).append(row)
    return [_sum_rollup_rows(token, rows) for token, rows in by_token.items()]


def _sum_rollup_rows(token: str, rows: list[Any]) -> PnlBucket:
    columns = list(zip(*rows, strict=True))
    totals = columns[2:]
    counts = [sum(column) for column in totals[: len(PNL_BUCKET_COUNTS)]]
    money = [sum(map(int, column)) for column in totals[len(PNL_BUCKET_COUNTS) :]]
    return PnlBucket(token, rows[-1][1], *counts, *money)


async def _scan_buckets(db: aiosqlite.Connection, lo: float, hi: float) -> list[PnlBucket]:
    """Per-token totals of the trades detected in [lo, hi), summed from the raw rows."""
    sql = f"SELECT {_SCAN_COLUMNS} FROM trades WHERE detected_at >= ? AND detected_at < ?"
    by_token: dict[str, PnlBucket] = {}
    for token, symbol, status, *money in await db.execute_fetchall(sql, (lo, hi)):
        bucket = by_token.get(token)
        if bucket is None:
            bucket = by_token[token] = PnlBucket(token, symbol)
        bucket.token_symbol = symbol
        bucket.trades += 1
        bucket.successful += status == "success"
        bucket.reverted += status == "reverted"
        bucket.failed += status == "failed"
        for name, value in zip(PNL_BUCKET_MONEY, money, strict=True):
            setattr(bucket, name, getattr(bucket, name) + int(value))
    for token, symbol, *totals in await db.execute_fetchall(_CORRECTION_SCAN, (lo, hi)):
        bucket = by_token.get(token)
        if bucket is None:
            bucket = by_token[token] = PnlBucket(token, symbol)
        deltas = {name: int(v) for name, v in zip(CORRECTION_DELTAS, totals, strict=True)}
        bucket.add(PnlBucket(token, symbol, trades=0, **deltas))
    return list(by_token.values())


# --- files -----------------------------------------------------------------------------------
def backup_file(source: Path, dest: Path) -> None:
    """Copy a ledger file no engine serves (`arbctl db backup` with the engine down).
    Read-only, so a wrong path can never create an empty ledger; the backup API copes
    with a writer that appears meanwhile by restarting the copy."""
    if not source.is_file():
        raise FileNotFoundError(f"no SQLite ledger at {source}")
    with backup_target(source, dest) as target:
        src = sqlite3.connect(f"{source.absolute().as_uri()}?mode=ro", uri=True)
        try:
            src.backup(target)
        finally:
            src.close()


@contextmanager
def backup_target(source: Path, dest: Path) -> Iterator[sqlite3.Connection]:
    """A connection to a private temporary file beside `dest`, renamed over it once the
    copy is complete and synced: a backup that failed halfway never looks like one. The
    copy is switched to a rollback journal so it is one self-contained file. Renaming a
    copy over the live ledger would cut the engine off its own file: refused."""
    if dest.resolve() == source.resolve():
        raise ValueError(f"refusing to back the ledger up onto itself ({source})")
    partial = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)  # our own leftover from a killed attempt
    _create_private_file(partial)
    target = sqlite3.connect(partial, check_same_thread=False)  # used on aiosqlite's thread
    try:
        yield target
        target.execute("PRAGMA journal_mode = DELETE")
        target.close()
        fd = os.open(partial, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, dest)
    except BaseException:
        target.close()
        partial.unlink(missing_ok=True)
        raise


def _create_private_file(path: Path) -> None:
    """The ledger and its -wal/-shm files (SQLite copies the mode) readable by us only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_dev, info.st_ino)
