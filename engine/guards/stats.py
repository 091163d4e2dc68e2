"""Running statistics of booked trades: what the trade rules measure.

Kept in memory and fed one trade at a time (`add`), so a rule reads a number instead of
querying the ledger on the trading path. Windows restart when the breaker closes
(`restart`), as resilience4j's sliding windows do: the outcomes that opened the breaker
have been answered by the probe trades and must not open it again. Today's P&L is the
exception: it restarts only at midnight UTC or on an operator's reset, or a breaker
cycling on the hourly limit would wipe the daily limit's memory every time it closed.

At start the windows are seeded from the ledger's last hour (a restart must not be a way
around the limits); `carried` says how much of the hour window the previous run left, so
the guards can say so instead of opening the breaker on failures nobody saw this run.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from engine.ledger.records import TradeRecord

HOUR_S = 3600.0
DAY_S = 86400.0


def is_success(trade: TradeRecord) -> bool:
    """Reverted and failed (never mined) both count as failures, as in the runbook."""
    return trade.status == "success"


def day_start(now: float) -> float:
    """00:00 UTC of `now`'s day: the ledger's day, and the daily loss limit's."""
    return now - (now % DAY_S)


@dataclass(frozen=True, slots=True)
class _Outcome:
    at: float
    ok: bool
    profit_quote: int


class TradeStats:
    def __init__(self, success_window: int) -> None:
        self._hour: deque[_Outcome] = deque()
        self._recent: deque[bool] = deque(maxlen=success_window)
        self._consecutive_failures = 0
        self._day = 0.0
        self._day_pnl = 0
        self.since = 0.0  # when the windows last restarted
        self.total = 0
        self.carried_until = 0.0  # outcomes booked before this came from the previous run

    def add(self, trade: TradeRecord, at: float) -> None:
        """Fold one booked trade in; `at` is when it was booked (epoch seconds)."""
        ok = is_success(trade)
        self.total += 1
        self._hour.append(_Outcome(at, ok, trade.profit_quote))
        self._recent.append(ok)
        self._consecutive_failures = 0 if ok else self._consecutive_failures + 1
        self._roll_day(at)
        self._day_pnl += trade.profit_quote

    def restart(self, now: float, including_today: bool = False) -> None:
        """Forget the windows (the breaker closed); today's P&L too on an operator reset."""
        self._hour.clear()
        self._recent.clear()
        self._consecutive_failures = 0
        if including_today:
            self._day, self._day_pnl = day_start(now), 0
        self.since = now

    def mark_carried(self, until: float) -> None:
        """What was added so far was read from the ledger: the previous run's trades."""
        self.carried_until = until

    def carried(self, now: float) -> tuple[int, int, float]:
        """(trades, failed, oldest) in the hour window booked before this run started."""
        self._expire(now)
        old = [o for o in self._hour if o.at < self.carried_until]
        return len(old), sum(1 for o in old if not o.ok), old[0].at if old else 0.0

    def seed_day(self, now: float, pnl_quote: int) -> None:
        """Start today's P&L from the ledger's figure (an engine restart must not reset
        the daily loss limit)."""
        self._day, self._day_pnl = day_start(now), pnl_quote

    # --- what the rules read -------------------------------------------------------------
    def failed_last_hour(self, now: float) -> int:
        self._expire(now)
        return sum(1 for o in self._hour if not o.ok)

    def pnl_last_hour(self, now: float) -> int:
        self._expire(now)
        return sum(o.profit_quote for o in self._hour)

    def pnl_today(self, now: float) -> int:
        self._roll_day(now)
        return self._day_pnl

    def success_rate(self, min_trades: int) -> float | None:
        """Share of successes over the window; None until `min_trades` are in it."""
        if len(self._recent) < min_trades:
            return None
        return sum(self._recent) / len(self._recent)

    @property
    def consecutive_failures(self) -> int:
        return self._consecutive_failures

    def _expire(self, now: float) -> None:
        while self._hour and self._hour[0].at <= now - HOUR_S:
            self._hour.popleft()

    def _roll_day(self, now: float) -> None:
        today = day_start(now)
        if today > self._day:
            self._day, self._day_pnl = today, 0
