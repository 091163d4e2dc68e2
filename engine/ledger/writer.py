"""The ledger's one writer: trades are committed before anyone may see them; the rest
is write-behind.

Invariant: `book_trade` returns only once the trade's row is committed, and the pipeline
publishes a trade only after that, so no trade a client saw can be lost to a crash, a
SIGKILL or a stop that runs out of time (issue 11). Group commit keeps that cheap: a
booked trade is written at once, without the write-behind pause, and the trades booked
while one commit is in flight are all written by the next, in one transaction.

Everything else (guard triggers, audit entries, snapshots) is queued in memory and
flushed in batches by the same task. If the database is away the rows stay queued
(nothing is dropped) and the flush is retried with backoff; `healthy` and `last_error`
tell health checks and guards what is going on, and booked trades wait unpublished.
Trade inserts are idempotent on id, so a retry after an ambiguous failure cannot
double-book.

A row the store *refuses* (`store.is_refusal`: text that is not valid Unicode, a value
out of range, a broken constraint) would fail the same way forever and hold up every row
behind it, so it is never retried: the refused batch is written again row by row, each
refused row is appended to the dead-letter file (JSON lines, with the error, fsync'd) and
counted in `quarantined`, one ERROR line is logged for it, and the rest carry on. The
alert rule `ledger_rows_quarantined` pages on the count. Nothing is lost: a row is in
the ledger, in the dead letters, or still queued; a refused trade's `book_trade` returns
(it is durable in the dead letters, and guards must still count it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.ledger.records import AuditEntry, GuardTrigger, SessionSnapshot, TradeRecord
from engine.ledger.store import LedgerStore, LedgerUnavailable, is_refusal

log = logging.getLogger("arbctl.ledger")

_BATCH = 500
DEADLETTER_FILE = "ledger-deadletter.jsonl"
Row = TradeRecord | GuardTrigger | AuditEntry | SessionSnapshot


@dataclass(slots=True)
class _Pending:
    trades: list[TradeRecord] = field(default_factory=list)
    triggers: list[GuardTrigger] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    snapshots: list[SessionSnapshot] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.trades) + len(self.triggers) + len(self.audit) + len(self.snapshots)


@dataclass(frozen=True, slots=True)
class LedgerHealth:
    """Whether the ledger takes writes, and what the writer holds meanwhile (guards and
    `status` read it; `ok` False means the last flush failed and rows are kept)."""

    backend: str
    ok: bool
    pending: int  # rows queued, not yet written
    written: int  # trades written since start
    last_error: str  # the last write error, kept as history after recovery
    last_error_at: float  # 0.0: never
    recovered_at: float  # 0.0: never
    quarantined: int  # rows the store refused, set aside in the dead-letter file
    last_quarantined_at: float  # 0.0: never
    last_refusal: str
    deadletter: str | None

    @property
    def error(self) -> str:
        """The current error: empty once writes recover (`last_error` keeps it)."""
        return "" if self.ok else self.last_error

    def to_dict(self) -> dict[str, Any]:
        """The `ledger` object of `status` (docs/protocol.md)."""
        return {
            "backend": self.backend,
            "ok": self.ok,
            "pending": self.pending,
            "written": self.written,
            "error": self.error,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at or None,
            "recovered_at": self.recovered_at or None,
            "quarantined": self.quarantined,
            "last_quarantined_at": self.last_quarantined_at or None,
            "last_refusal": self.last_refusal,
            "deadletter": self.deadletter,
        }


class LedgerWriter:
    def __init__(
        self, store: LedgerStore, interval_s: float = 0.2, deadletter: Path | None = None
    ) -> None:
        self.store = store
        self._interval = interval_s
        self._pending = _Pending()
        self._wakeup = asyncio.Event()
        self._booked = asyncio.Event()  # a trade waits on its commit: no write-behind pause
        self._lock = asyncio.Lock()
        self._committed: dict[str, asyncio.Future[None]] = {}  # booked trades' waiters
        self.healthy = True
        self.last_error = ""  # kept after recovery, as history; `to_dict` says if it is current
        self.last_error_at = 0.0
        self.recovered_at = 0.0
        self.written = 0
        self.deadletter = deadletter  # None: refused rows go to the log only
        self.quarantined = 0
        self.last_quarantined_at = 0.0
        self.last_refusal = ""

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add_trade(self, trade: TradeRecord) -> None:
        self._pending.trades.append(trade)
        self._wakeup.set()

    async def book_trade(self, trade: TradeRecord) -> None:
        """Queue the trade and return once it is committed. A cancelled caller leaves
        the trade queued: it is still written, just never reported back."""
        committed = self._committed.get(trade.id)
        if committed is None:
            committed = self._committed[trade.id] = asyncio.get_running_loop().create_future()
            self.add_trade(trade)
            self._booked.set()
        await asyncio.shield(committed)

    def add_trigger(self, trigger: GuardTrigger) -> None:
        self._pending.triggers.append(trigger)
        self._wakeup.set()

    def add_audit(self, entry: AuditEntry) -> None:
        self._pending.audit.append(entry)
        self._wakeup.set()

    def add_snapshot(self, snapshot: SessionSnapshot) -> None:
        self._pending.snapshots.append(snapshot)
        self._wakeup.set()

    async def run(self) -> None:
        backoff = self._interval
        while True:
            await self._wait(backoff)
            ok = await self.flush()
            backoff = self._interval if ok else min(backoff * 2, 5.0)

    async def _wait(self, timeout: float) -> None:
        await _until_set(self._wakeup, timeout)
        self._wakeup.clear()
        if not self.healthy:
            await asyncio.sleep(self._interval)
        elif not self._committed:
            # Let a burst accumulate into one batch, unless a trade is booked meanwhile:
            # it waits on its commit (the next batch forms while this one commits).
            await _until_set(self._booked, self._interval)
        self._booked.clear()

    async def flush(self) -> bool:
        """Write everything pending; True when nothing is left (refused rows set aside)."""
        async with self._lock:
            while (exc := await self._attempt()) is not None:
                if not is_refusal(exc):
                    self._keep_for_retry(exc)
                    return False
                if not await self._set_aside_refused(exc):
                    return False
            if not self.healthy:
                log.info("ledger writes recovered; %d rows written", self.written)
                self.recovered_at = time.time()
            self.healthy = True
            return True

    async def _attempt(self) -> Exception | None:
        try:
            await self._flush_once()
        except Exception as exc:
            return exc
        return None

    def _keep_for_retry(self, exc: Exception) -> None:
        """The store is away (or failed in a way we did not foresee): keep the rows."""
        if isinstance(exc, LedgerUnavailable):
            self._mark_unhealthy(str(exc))
            return
        error = f"{type(exc).__name__}: {exc}"
        if error != self.last_error or self.healthy:  # one traceback per new error, not per retry
            log.error("ledger write failed; rows kept for retry", exc_info=exc)
        self._mark_unhealthy(error)

    async def _flush_once(self) -> None:
        pending = self._pending
        while pending.trades:
            batch = pending.trades[:_BATCH]
            await self.store.record_trades(batch)
            del pending.trades[: len(batch)]
            self.written += len(batch)
            self._release(batch)
        while pending.triggers:
            await self.store.record_guard_trigger(pending.triggers[0])
            pending.triggers.pop(0)
        while pending.audit:
            await self.store.append_audit(pending.audit[0])
            pending.audit.pop(0)
        while pending.snapshots:
            await self.store.save_snapshot(pending.snapshots[0])
            pending.snapshots.pop(0)

    def _release(self, committed: list[TradeRecord]) -> None:
        """Tell the callers of `book_trade` that these trades are committed."""
        for trade in committed:
            waiter = self._committed.pop(trade.id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def _mark_unhealthy(self, error: str) -> None:
        if self.healthy:
            log.error("ledger unavailable: %s (%d rows kept)", error, self.pending)
        self.healthy = False
        self.last_error = error
        self.last_error_at = time.time()

    def health(self) -> LedgerHealth:
        return LedgerHealth(
            backend=self.store.backend,
            ok=self.healthy,
            pending=self.pending,
            written=self.written,
            last_error=self.last_error,
            last_error_at=self.last_error_at,
            recovered_at=self.recovered_at,
            quarantined=self.quarantined,
            last_quarantined_at=self.last_quarantined_at,
            last_refusal=self.last_refusal,
            deadletter=str(self.deadletter) if self.deadletter else None,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.health().to_dict()

    # --- refused rows -------------------------------------------------------------------
    async def _set_aside_refused(self, exc: Exception) -> bool:
        """The head of the queue was refused: quarantine the refused rows, write the rest.
        False when the store went away meanwhile (the rows left are kept). Each True
        removes at least one row, so `flush` cannot loop forever."""
        pending = self._pending
        if pending.trades:  # a batch: find the bad rows one by one
            return await self._isolate_trades(len(pending.trades[:_BATCH]))
        for kind, rows in (
            ("guard_trigger", pending.triggers),
            ("audit", pending.audit),
            ("snapshot", pending.snapshots),
        ):
            if rows:  # written one at a time: the head is the refused row
                self._quarantine(kind, rows.pop(0), exc)
                return True
        self._keep_for_retry(exc)
        return False

    async def _isolate_trades(self, count: int) -> bool:
        for _ in range(count):
            trade = self._pending.trades[0]
            try:
                await self.store.record_trades([trade])
            except Exception as exc:
                if not is_refusal(exc):
                    self._keep_for_retry(exc)
                    return False
                self._quarantine("trade", trade, exc)
            else:
                self.written += 1
            self._pending.trades.pop(0)
            self._release([trade])  # committed, or durable in the dead letters
        return True

    def _quarantine(self, kind: str, row: Row, exc: Exception) -> None:
        """Out of the queue and into the dead letters, with the error: logged once, no
        traceback (it is the row, not the code), counted for status and the alert."""
        error = f"{type(exc).__name__}: {exc}"
        now = time.time()
        self.quarantined += 1
        self.last_quarantined_at, self.last_refusal = now, error
        record = {"ts": now, "kind": kind, "backend": self.store.backend, "error": error,
                  "row": row.to_dict()}  # fmt: skip
        line = json.dumps(record, default=str)  # ASCII: a lone surrogate stays escaped
        kept = self._append_deadletter(line)
        where = f"in {self.deadletter}" if kept else f"NOT kept on disk: {line}"
        log.error("ledger refused a %s row; quarantined %s: %s", kind, where, error)

    def _append_deadletter(self, line: str) -> bool:
        if self.deadletter is None:
            return False
        try:
            fd = os.open(self.deadletter, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode() + b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            log.error("cannot append to the dead-letter file %s: %s", self.deadletter, exc)
            return False
        return True


async def _until_set(event: asyncio.Event, timeout: float) -> None:
    """Wait for the event, at most `timeout` seconds. asyncio.timeout, not wait_for: on
    3.11 wait_for can swallow a cancellation that races with the event being set, which
    left a stopping engine hanging forever."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
