"""The ledger's interface. SQLite (embedded default) and PostgreSQL implement it.

The daemon and the control methods only ever see `LedgerStore`; which database sits
behind it is a config choice, and the same test suite runs against both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from engine.ledger.records import (
    AuditEntry,
    GuardTrigger,
    PnlSummary,
    SessionSnapshot,
    TradeRecord,
)


class LedgerUnavailable(Exception):
    """The database cannot be reached or refused a write; the caller keeps its rows."""


# --- the hourly P&L rollup, shared by both backends ---------------------------------
ROLLUP_SECONDS = 3600


def rollup_hour(ts: float) -> int:
    """Start of the rollup hour holding `ts` (epoch seconds).

    The writer files a trade under this hour and `split_window` cuts periods with it, so
    every trade is counted exactly once: in a whole rollup hour or in a raw edge.
    """
    return int(ts // ROLLUP_SECONDS) * ROLLUP_SECONDS


@dataclass(frozen=True, slots=True)
class PnlWindow:
    """How `pnl(since, until)` reads [since, until).

    `raw`: [lo, hi) ranges of `detected_at` summed from the trades table (the partial
    hours at the edges); `hours`: [first, end) hour starts summed from the rollup (`end`
    None: no upper bound). A period of a year is then a few thousand rollup rows plus at
    most two hours of trades, whatever the trade count.
    """

    raw: tuple[tuple[float, float], ...]
    hours: tuple[int, int | None] | None


def split_window(since: float, until: float | None) -> PnlWindow:
    first = rollup_hour(since)
    if first < since:
        first += ROLLUP_SECONDS
    if until is None:
        head = ((since, float(first)),) if since < first else ()
        return PnlWindow(raw=head, hours=(first, None))
    last = rollup_hour(until)
    if first >= last:
        return PnlWindow(raw=((since, until),) if since < until else (), hours=None)
    raw = []
    if since < first:
        raw.append((since, float(first)))
    if last < until:
        raw.append((float(last), until))
    return PnlWindow(raw=tuple(raw), hours=(first, last))


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
        """Newest first. `failed_only` means status in (reverted, failed)."""

    async def pnl(self, since: float, until: float | None = None) -> PnlSummary:
        """Totals of trades detected in [since, until); `until=None`: no upper bound."""

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
