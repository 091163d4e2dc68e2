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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from engine.ledger.records import AuditEntry, GuardTrigger, SessionSnapshot, TradeRecord
from engine.ledger.store import LedgerStore, LedgerUnavailable

log = logging.getLogger("arbctl.ledger")

_BATCH = 500


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
    error: str  # the last write error ("" while none happened)

    def to_dict(self) -> dict[str, Any]:
        """The `ledger` object of `status` (docs/protocol.md)."""
        return {
            "backend": self.backend,
            "ok": self.ok,
            "pending": self.pending,
            "written": self.written,
            "error": self.error,
        }


class LedgerWriter:
    def __init__(self, store: LedgerStore, interval_s: float = 0.2) -> None:
        self.store = store
        self._interval = interval_s
        self._pending = _Pending()
        self._wakeup = asyncio.Event()
        self._booked = asyncio.Event()  # a trade waits on its commit: no write-behind pause
        self._lock = asyncio.Lock()
        self._committed: dict[str, asyncio.Future[None]] = {}  # booked trades' waiters
        self.healthy = True
        self.last_error = ""
        self.last_error_at = 0.0
        self.written = 0

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
        """Write everything pending; True when nothing is left."""
        async with self._lock:
            try:
                await self._flush_once()
            except LedgerUnavailable as exc:
                self._mark_unhealthy(str(exc))
                return False
            except Exception as exc:  # a driver error we did not foresee: keep the rows
                log.exception("ledger write failed; rows kept for retry")
                self._mark_unhealthy(f"{type(exc).__name__}: {exc}")
                return False
            if not self.healthy:
                log.info("ledger writes recovered; %d rows written", self.written)
            self.healthy = True
            return True

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
            self.store.backend, self.healthy, self.pending, self.written, self.last_error
        )


async def _until_set(event: asyncio.Event, timeout: float) -> None:
    """Wait for the event, at most `timeout` seconds. asyncio.timeout, not wait_for: on
    3.11 wait_for can swallow a cancellation that races with the event being set, which
    left a stopping engine hanging forever."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
