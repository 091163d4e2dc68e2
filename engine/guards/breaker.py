"""The trading circuit breaker, with resilience4j's three states.

CLOSED: trades flow. A trade rule's breach OPENs it (with the rule, reason and time).
OPEN: nothing is approved until `wait_s` has passed (or a rule's hold, e.g. the daily
loss limit's midnight). HALF_OPEN: up to `probes` opportunities are let through as probe
trades; when all of them succeed it CLOSEs, the first failure OPENs it again, and a probe
that never comes back within `probe_timeout_s` (refused by the send gate, lost) counts
as a failure, so the breaker cannot hang half-open.

Time-driven transitions happen on `poll()`, which every read calls: a pure state
machine with an injectable clock, so tests step time instead of sleeping. The breaker is
not the kill switch: it only withholds approval; it never touches the engine's state,
and nothing here can clear (or is cleared by) a halt.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from engine.errors import ArbctlError


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class BreakerClosed(ArbctlError):
    """A reset was asked of a breaker that is already closed."""


@dataclass(frozen=True, slots=True)
class Transition:
    state: BreakerState
    previous: BreakerState
    at: float
    guard: str  # what caused it: a rule's name, "breaker" (probes, timing) or "operator"
    reason: str
    trade_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class CircuitBreaker:
    def __init__(
        self,
        wait_s: float,
        probes: int,
        probe_timeout_s: float,
        clock: Callable[[], float] = time.time,
        history: int = 50,
    ) -> None:
        self.wait_s = wait_s
        self.probes = probes
        self.probe_timeout_s = probe_timeout_s
        self._clock = clock
        self.state = BreakerState.CLOSED
        self.since = clock()
        self.reason = "engine started"
        self.guard = ""
        self.retry_at: float | None = None
        self.times_opened = 0
        self._granted: dict[str, float] = {}  # probe opportunity id -> when granted
        self._succeeded = 0
        self.history: deque[Transition] = deque(maxlen=history)

    # --- transitions -----------------------------------------------------------------------
    def poll(self) -> list[Transition]:
        """Apply what time alone changes: OPEN → HALF_OPEN, overdue probe → OPEN."""
        now = self._clock()
        if self.state == BreakerState.OPEN and self.retry_at is not None and now >= self.retry_at:
            return [self._move(BreakerState.HALF_OPEN, "breaker", "wait over: probing")]
        overdue = self._overdue_probe(now)
        if overdue is not None:
            reason = f"probe {overdue} not booked within {self.probe_timeout_s:g} s"
            return [self.open("breaker", reason)]
        return []

    def open(
        self, guard: str, reason: str, hold_until: float | None = None, trade_id: str = ""
    ) -> Transition:
        """Stop approving; HALF_OPEN after `wait_s`, or at `hold_until` if that is later."""
        now = self._clock()
        self.retry_at = max(now + self.wait_s, hold_until or 0.0)
        self.times_opened += 1
        return self._move(BreakerState.OPEN, guard, reason, trade_id)

    def permit(self, opportunity_id: str) -> bool:
        """May this opportunity go ahead? HALF_OPEN hands out at most `probes` permits."""
        if self.state == BreakerState.CLOSED:
            return True
        if self.state == BreakerState.OPEN or len(self._granted) >= self.probes:
            return False
        self._granted[opportunity_id] = self._clock()
        return True

    def record(
        self, opportunity_id: str, success: bool, trade_id: str, detail: str
    ) -> Transition | None:
        """A booked trade's outcome; only HALF_OPEN probes move the breaker."""
        if self.state != BreakerState.HALF_OPEN or opportunity_id not in self._granted:
            return None
        if not success:
            return self.open("breaker", f"probe trade {trade_id} failed: {detail}", None, trade_id)
        self._succeeded += 1
        if self._succeeded < self.probes:
            return None
        reason = f"{self.probes} probe trades succeeded"
        return self._move(BreakerState.CLOSED, "breaker", reason, trade_id)

    def reset(self, reason: str) -> Transition:
        """The operator's override of a false positive: CLOSED now, whatever the wait."""
        if self.state == BreakerState.CLOSED:
            raise BreakerClosed("the breaker is already closed")
        return self._move(BreakerState.CLOSED, "operator", reason)

    def snapshot(self) -> dict[str, Any]:
        """What a restart must not forget: an engine restarted to escape an open breaker
        would otherwise trade again at once."""
        return {
            "state": self.state.value,
            "since": self.since,
            "guard": self.guard,
            "reason": self.reason,
            "retry_at": self.retry_at,
            "times_opened": self.times_opened,
        }

    def restore(self, saved: dict[str, Any]) -> None:
        """Back to the saved state. HALF_OPEN comes back OPEN with its wait over, so the
        probes start afresh: permits granted before the restart are not honoured."""
        self.times_opened = int(saved.get("times_opened", 0))
        if saved.get("state", BreakerState.CLOSED.value) == BreakerState.CLOSED.value:
            return
        self.state = BreakerState.OPEN
        self.since = float(saved.get("since", self._clock()))
        self.guard = str(saved.get("guard", ""))
        self.reason = f"restored after restart: {saved.get('reason', '')}"
        retry_at = saved.get("retry_at")
        self.retry_at = float(retry_at) if retry_at is not None else self._clock()

    def is_probe(self, opportunity_id: str) -> bool:
        return opportunity_id in self._granted

    def _overdue_probe(self, now: float) -> str | None:
        if self.state != BreakerState.HALF_OPEN:
            return None
        deadline = now - self.probe_timeout_s
        return next((oid for oid, at in self._granted.items() if at <= deadline), None)

    def _move(self, state: BreakerState, guard: str, reason: str, trade_id: str = "") -> Transition:
        now = self._clock()
        transition = Transition(state, self.state, now, guard, reason, trade_id)
        self.state, self.since, self.guard, self.reason = state, now, guard, reason
        if state != BreakerState.OPEN:
            self.retry_at = None
        self._granted.clear()
        self._succeeded = 0
        self.history.appendleft(transition)
        return transition

    # --- reads -------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The short form for status and heartbeat."""
        return {
            "state": str(self.state),
            "since": self.since,
            "guard": self.guard,
            "reason": self.reason,
            "retry_at": self.retry_at,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "wait_s": self.wait_s,
            "times_opened": self.times_opened,
            "probes": {
                "limit": self.probes,
                "granted": len(self._granted),
                "succeeded": self._succeeded,
                "timeout_s": self.probe_timeout_s,
            },
            "history": [t.to_dict() for t in self.history],
        }
