"""Guard triggers: published on the bus, stored in the ledger, and kept from flooding.

A rule that blocks the same condition on every block (gas over the cap for an hour)
would otherwise write a row and push an event per opportunity. So "blocked" triggers are
coalesced per rule: the first is published and stored at once, later ones within
`window_s` are only counted, and when the window ends the count goes out on one summary
trigger (the latest occurrence, `repeats` = how many it stands for, also said in its
reason). Nothing is lost: every occurrence is counted per rule, and at most one row per
rule per window reaches the ledger. Breaker transitions are rare and each one matters,
so they are never coalesced. A "resized" trigger (sizing clamped an opportunity to a
limit, engine/guards/sizing.py) is coalesced like a block: a limit that binds every block
would otherwise write a row per block. Its event carries `original_size` and `new_size`
(input base units); the stored row says both in its reason.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine import protocol
from engine.bus import EventBus
from engine.ledger.records import GuardTrigger
from engine.ledger.writer import LedgerWriter

log = logging.getLogger("arbctl.guards")

COALESCED_ACTIONS = frozenset({"blocked", "resized"})


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One thing a guard did, before it becomes a stored trigger."""

    guard: str
    action: str
    reason: str
    observed: str = ""
    threshold: str = ""
    unit: str = ""
    opportunity_id: str = ""
    trade_id: str = ""
    original_size: int | None = None  # resized: the input the search proposed
    new_size: int | None = None  # resized: the input it goes on with


@dataclass(slots=True)
class _Window:
    opened_at: float
    suppressed: int = 0
    latest: Occurrence | None = None


class TriggerLog:
    def __init__(
        self,
        bus: EventBus,
        writer: LedgerWriter,
        window_s: float,
        clock: Callable[[], float],
        recent: int = 200,
    ) -> None:
        self._bus = bus
        self._writer = writer
        self._window_s = window_s
        self._clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}
        self._ids = itertools.count(1)
        self._prefix = f"g{int(clock() * 1000):x}"  # unique across engine restarts
        self.occurrences: Counter[str] = Counter()  # per guard, coalesced or not
        self.last_at: dict[str, float] = {}
        self.recent: deque[dict[str, Any]] = deque(maxlen=recent)  # what was published

    def record(self, occurrence: Occurrence) -> None:
        now = self._clock()
        self.occurrences[occurrence.guard] += 1
        self.last_at[occurrence.guard] = now
        if occurrence.action not in COALESCED_ACTIONS:
            self._emit(occurrence, repeats=0)
            return
        key = (occurrence.guard, occurrence.action)
        self._close_if_due(key, now)
        window = self._windows.get(key)
        if window is None:
            self._windows[key] = _Window(opened_at=now)
            self._emit(occurrence, repeats=0)
            return
        window.suppressed += 1
        window.latest = occurrence

    def flush_due(self) -> None:
        """Send the summaries of windows that have ended (called on every guard tick)."""
        now = self._clock()
        for key in list(self._windows):
            self._close_if_due(key, now)

    def _close_if_due(self, key: tuple[str, str], now: float) -> None:
        window = self._windows.get(key)
        if window is None or now < window.opened_at + self._window_s:
            return
        if window.suppressed and window.latest is not None:
            self._windows[key] = _Window(opened_at=now)
            self._emit(window.latest, repeats=window.suppressed)
        else:
            del self._windows[key]

    def _emit(self, occurrence: Occurrence, repeats: int) -> None:
        reason = occurrence.reason
        if repeats:
            reason += f" [{repeats} like it in the last {self._window_s:g} s]"
        trigger = GuardTrigger(
            id=f"{self._prefix}-{next(self._ids):06d}",
            ts=self._clock(),
            guard=occurrence.guard,
            action=occurrence.action,
            reason=reason,
            observed=occurrence.observed,
            threshold=occurrence.threshold,
            opportunity_id=occurrence.opportunity_id,
            trade_id=occurrence.trade_id,
        )
        data = {**trigger.to_dict(), "unit": occurrence.unit, "repeats": repeats}
        if occurrence.new_size is not None:
            data |= {"original_size": occurrence.original_size, "new_size": occurrence.new_size}
        self.recent.appendleft(data)
        self._bus.publish(protocol.TOPIC_GUARD, data)
        self._writer.add_trigger(trigger)
        level = logging.INFO if occurrence.action in COALESCED_ACTIONS else logging.WARNING
        log.log(level, "GUARD %s %s: %s", occurrence.guard, occurrence.action, reason)
