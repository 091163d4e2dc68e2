"""The alert book: which alerts are pending, firing, repeated and resolved, and what was sent.

The invariant: a state machine over an injectable clock with no I/O, at most one entry
per rule. A rule whose condition holds is pending until it has held `for_s`, then fires
once; while it still holds it is notified again at most every `resend_interval_s`; when
it clears it resolves with one notification, and only if it had fired (a pending rule
that clears was never an alert). An operator may acknowledge a firing alert: it stays
active (the condition still holds) but is marked with who and why, and is not re-sent
until it resolves; the next breach is a new alert that pages again. `history` keeps the
last `HISTORY` notifications sent, newest first. A rule that raises is logged and
skipped: one bad rule never hides the others.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.errors import ArbctlError
from engine.telemetry.alerts.rules import AlertRule, Check, View

log = logging.getLogger("arbctl.alerts")

FIRING, RESOLVED = "firing", "resolved"
HISTORY = 200


class NotFiring(ArbctlError):
    """An acknowledgement named a rule that has no firing alert."""


@dataclass(slots=True)
class _Active:
    """One rule whose condition holds: pending until `for_s`, then firing."""

    since: float
    id: str
    check: Check
    fired_at: float | None = None
    last_sent: float = 0.0
    sent: int = 0
    acked_at: float | None = None
    acked_by: dict[str, Any] | None = None
    ack_reason: str = ""


class AlertBook:
    """Which alerts fire, repeat and resolve: a state machine with no I/O."""

    def __init__(
        self, rules: list[AlertRule], resend_interval_s: float, clock: Callable[[], float]
    ) -> None:
        self.rules = rules
        self.resend_interval_s = resend_interval_s
        self._clock = clock
        self._active: dict[str, _Active] = {}
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY)  # newest first

    def evaluate(self, view: View) -> list[dict[str, Any]]:
        """Judge every rule against `view`; the notifications to send now."""
        now = self._clock()
        notes = []
        for rule in self.rules:
            try:
                check = rule.check(view)
            except Exception:
                log.warning("alert rule %s could not be evaluated", rule.name, exc_info=True)
                continue
            note = self._step(rule, check, now)
            if note is not None:
                notes.append(note)
        return notes

    def _step(self, rule: AlertRule, check: Check, now: float) -> dict[str, Any] | None:
        active = self._active.get(rule.name)
        if not check.breached:
            if active is None:
                return None
            del self._active[rule.name]
            return self._note(rule, active, RESOLVED, now) if active.fired_at else None
        if active is None:
            active = _Active(since=now, id=f"{rule.name}-{int(now * 1000):x}", check=check)
            self._active[rule.name] = active
        active.check = check
        if active.fired_at is None:
            if now - active.since < rule.for_s:
                return None
            active.fired_at = now
        elif active.acked_at is not None or now - active.last_sent < self.resend_interval_s:
            return None
        active.last_sent, active.sent = now, active.sent + 1
        return self._note(rule, active, FIRING, now)

    def _note(self, rule: AlertRule, active: _Active, status: str, now: float) -> dict[str, Any]:
        return {
            "id": active.id,
            "rule": rule.name,
            "severity": rule.severity,
            "status": status,
            "summary": active.check.text,
            "value": active.check.value,
            "condition": rule.condition,
            "action": rule.action,
            "since": active.since,
            "fired_at": active.fired_at,
            "resolved_at": now if status == RESOLVED else None,
            "repeat": max(0, active.sent - 1) if status == FIRING else 0,
            "acked_at": active.acked_at,
            "acked_by": active.acked_by,
            "ack_reason": active.ack_reason,
            "ts": now,
        }

    def acknowledge(self, rule_name: str, actor: dict[str, Any], reason: str) -> dict[str, Any]:
        """Mark the firing alert of `rule_name` as seen; raises NotFiring if none fires."""
        active = self._active.get(rule_name)
        rule = next((r for r in self.rules if r.name == rule_name), None)
        if active is None or active.fired_at is None or rule is None:
            raise NotFiring(f"no firing alert for rule {rule_name!r}")
        active.acked_at, active.acked_by, active.ack_reason = self._clock(), actor, reason
        return {**self._note(rule, active, FIRING, active.last_sent), "notifications": active.sent}

    def active(self) -> list[dict[str, Any]]:
        """Firing alerts (pending ones are not alerts yet), most severe first."""
        by_name = {rule.name: rule for rule in self.rules}
        found = [
            {**self._note(by_name[name], a, FIRING, a.last_sent), "notifications": a.sent}
            for name, a in self._active.items()
            if a.fired_at is not None
        ]
        return sorted(found, key=lambda n: (n["severity"], n["fired_at"]))

    def active_of(self, rule_name: str) -> bool:
        active = self._active.get(rule_name)
        return active is not None and active.fired_at is not None

    def pending(self) -> dict[str, float]:
        """Rules whose condition holds but whose `for_s` has not passed: since when."""
        return {name: a.since for name, a in self._active.items() if a.fired_at is None}

    def record(self, note: dict[str, Any]) -> None:
        """A notification as it was sent (with its engine), for `recent`."""
        self.history.appendleft(note)

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """The last `limit` notifications sent, newest first."""
        return list(self.history)[:limit]
