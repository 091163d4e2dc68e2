"""The ledger's interface. SQLite (embedded default) and PostgreSQL implement it.

The daemon and the control methods only ever see `LedgerStore`; which database sits
behind it is a config choice, and the same test suite runs against both.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from engine.ledger.errors import LedgerError
from engine.ledger.records import (
    AuditEntry,
    CorrectionRecord,
    GuardTrigger,
    PnlBucket,
    PnlSummary,
    SessionSnapshot,
    TradeRecord,
)


class LedgerUnavailable(LedgerError):
    """The database cannot be reached or refused a write; the caller keeps its rows."""


# aiosqlite's words for a connection that is gone: the store is away, not the row bad.
_CONNECTION_GONE = ("no active connection", "Connection closed")


def is_refusal(exc: BaseException) -> bool:
    """True when the store refused the *row*: the same write would fail the same way
    forever (text that is not valid Unicode, a value out of range, a broken constraint),
    so retrying it only wedges every row queued behind it. False for everything else,
    the store being away first of all: those rows are kept and retried.

    Both backends: UnicodeError and the encoders' TypeError/ValueError/OverflowError are
    raised before any database sees the row; sqlite3 says DataError or IntegrityError
    (or cannot bind a value); asyncpg says DataError (client side) or SQLSTATE class 22
    (data exception) and 23 (integrity constraint violation)."""
    if isinstance(exc, LedgerUnavailable):
        return False
    if isinstance(exc, UnicodeError | TypeError | OverflowError):
        return True
    if isinstance(exc, sqlite3.DataError | sqlite3.IntegrityError):
        return True
    if isinstance(exc, sqlite3.ProgrammingError) and "binding parameter" in str(exc):
        return True  # a value of a type SQLite cannot store
    if str(getattr(exc, "sqlstate", "") or "")[:2] in ("22", "23"):
        return True
    return isinstance(exc, ValueError) and str(exc) not in _CONNECTION_GONE


# --- the P&L rollup, shared by both backends -----------------------------------------
HOUR = 3_600
DAY = 86_400
ROLLUP_SPANS = (HOUR, DAY)  # finest first; each divides the next (epoch-aligned, UTC days)


def rollup_start(ts: float, span: int) -> int:
    """Start of the rollup bucket of `span` seconds holding `ts` (epoch seconds).

    The writer files a trade under this bucket and `split_window` cuts periods with it,
    so every trade is counted exactly once: in one rollup range or in one raw edge.
    """
    return int(ts // span) * span


def rollup_deltas(trades: Iterable[TradeRecord]) -> dict[tuple[int, int, str], PnlBucket]:
    """What new trades add to the rollup: one bucket per (span, start, token), sorted so
    that concurrent writers touch rollup rows in the same order."""
    groups: dict[tuple[int, int, str], list[TradeRecord]] = defaultdict(list)
    for trade in trades:
        for span in ROLLUP_SPANS:
            groups[(span, rollup_start(trade.detected_at, span), trade.token)].append(trade)
    return {key: PnlBucket.of_trades(groups[key]) for key in sorted(groups)}


def correction_deltas(
    corrections: Iterable[CorrectionRecord],
) -> dict[tuple[int, int, str], PnlBucket]:
    """What corrections add to the rollup, filed by when they were written (see
    `CorrectionRecord`), in the same key order as `rollup_deltas`."""
    found: dict[tuple[int, int, str], PnlBucket] = {}
    for correction in corrections:
        for span in ROLLUP_SPANS:
            key = (span, rollup_start(correction.corrected_at, span), correction.token)
            bucket = found.get(key)
            if bucket is None:
                found[key] = correction.bucket()
            else:
                bucket.add(correction.bucket())
    return {key: found[key] for key in sorted(found)}


@dataclass(frozen=True, slots=True)
class RollupRange:
    """Rollup rows of one span whose bucket starts lie in [first, end) (end None: no bound)."""

    span: int
    first: int
    end: int | None


@dataclass(frozen=True, slots=True)
class PnlWindow:
    """How `pnl(since, until)` reads [since, until).

    `raw`: [lo, hi) ranges of `detected_at` summed from the trades table (the partial
    hours at the edges); `rollups`: whole hours and whole days summed from the rollup.
    A year is then ~365 daily rows, at most 46 hourly rows and at most two hours of
    trades per token, whatever the trade count.
    """

    raw: tuple[tuple[float, float], ...]
    rollups: tuple[RollupRange, ...]


def split_window(since: float, until: float | None) -> PnlWindow:
    """Cut [since, until) into raw edges and rollup ranges, coarsest buckets in the middle."""
    raw: list[tuple[float, float]] = []
    rollups: list[RollupRange] = []

    def emit(span: int | None, lo: float, hi: float | None) -> None:
        if span is None:
            raw.append((float(lo), float("inf") if hi is None else float(hi)))
        else:
            rollups.append(RollupRange(span, int(lo), None if hi is None else int(hi)))

    if until is not None and until <= since:
        return PnlWindow((), ())
    finer: int | None = None  # None: the raw trades
    lo, hi = since, until
    for span in ROLLUP_SPANS:
        first = rollup_start(lo, span)
        if first < lo:
            first += span
        last = None if hi is None else rollup_start(hi, span)
        if last is not None and first >= last:  # no whole bucket of this span fits
            break
        if lo < first:
            emit(finer, lo, first)
        if hi is not None and last is not None and last < hi:
            emit(finer, last, hi)
        finer, lo, hi = span, first, last
    emit(finer, lo, hi)
    return PnlWindow(tuple(raw), tuple(rollups))


class LedgerStore(Protocol):
    backend: str

    async def open(self) -> None:
        """Connect and apply pending migrations."""

    async def close(self) -> None: ...

    async def ping(self) -> float:
        """Round trip in ms; raises LedgerUnavailable."""

    async def schema_version(self) -> int: ...

    # trades
    async def record_trades(self, trades: list[TradeRecord]) -> None:
        """Insert a batch atomically. Idempotent on trade id: a retry never duplicates."""

    async def get_trade(self, trade_id: str) -> TradeRecord | None: ...

    async def list_trades(
        self,
        since: float = 0.0,
        until: float | None = None,
        status: str | None = None,
        failed_only: bool = False,
        limit: int = 100,
    ) -> list[TradeRecord]:
        """Trades detected in [since, until), newest first. `failed_only` means status in
        (reverted, failed)."""

    async def pnl(self, since: float, until: float | None = None) -> PnlSummary:
        """Totals of trades detected in [since, until); `until=None`: no upper bound."""

    async def last_booked_nonce(self, sender: str) -> tuple[int, int] | None:
        """(nonce, block) of `sender`'s highest-nonce trade that was mined (block > 0)."""

    async def booked_nonces(self, sender: str, first: int, end: int) -> set[int]:
        """Nonces in [first, end) of `sender`'s trades that were mined (block > 0)."""

    # corrections (reorgs): never an edit of a trade row
    async def record_corrections(self, corrections: list[CorrectionRecord]) -> None:
        """Insert a batch atomically and add it to the rollup. Idempotent on id."""

    async def list_corrections(
        self, since: float = 0.0, trade_id: str | None = None, limit: int = 100
    ) -> list[CorrectionRecord]:
        """Corrections written at or after `since` (of one trade if named), newest first."""

    # guards
    async def record_guard_trigger(self, trigger: GuardTrigger) -> None: ...

    async def list_guard_triggers(
        self, since: float = 0.0, limit: int = 100
    ) -> list[GuardTrigger]: ...

    # audit
    async def append_audit(self, entry: AuditEntry) -> AuditEntry:
        """Returns the entry with its store-assigned id."""

    async def list_audit(self, since: float = 0.0, limit: int = 100) -> list[AuditEntry]: ...

    # snapshots and persisted engine state
    async def save_snapshot(self, snapshot: SessionSnapshot) -> SessionSnapshot: ...

    async def latest_snapshot(self) -> SessionSnapshot | None: ...

    async def list_snapshots(self, limit: int = 20) -> list[SessionSnapshot]: ...

    async def cleanup_snapshots(self, older_than: float) -> int: ...

    async def set_state(self, key: str, value: dict[str, Any]) -> None: ...

    async def get_state(self, key: str) -> dict[str, Any] | None: ...
