"""The alerting service: judges the rules, runs the engine's health checks, sends.

The invariant: alerting never takes the engine down and never waits on a destination.
Rules are evaluated on a timer and at once after state and guard events; a failing
evaluation or health probe is logged (a probe that cannot run counts as CRITICAL).
Every notification the book decides on goes to the log, onto the bus as an `alert`
event (consoles, `arbctl events --topic alert`) and to each sink's queue; closing gives
the sinks a bounded moment to flush (`FLUSH_ON_CLOSE_S`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from engine import protocol
from engine.bus import EventBus
from engine.config import AlertsSection, Config, redact_webhook
from engine.guards.thresholds import Thresholds
from engine.telemetry.alerts.book import FIRING, AlertBook
from engine.telemetry.alerts.rules import AlertRule, default_rules
from engine.telemetry.alerts.sinks import Sink, build_sinks, slack_text
from engine.telemetry.metrics import URGENT_TOPICS, Metrics
from engine.units import to_base_units, to_text

log = logging.getLogger("arbctl.alerts")

FLUSH_ON_CLOSE_S = 1.5  # of the 10 s a graceful stop may take
HealthProbe = Callable[[], Awaitable[Mapping[str, Any]]]


class Alerting:
    """Evaluates the rules on a timer (and at once after state and guard events), runs
    the engine's health checks, and sends each notification to the log, the bus and
    the sinks."""

    def __init__(
        self,
        section: AlertsSection,
        rules: list[AlertRule],
        bus: EventBus,
        metrics: Metrics,
        health_probe: HealthProbe,
        sinks: list[Sink],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.section = section
        self.book = AlertBook(rules, section.resend_interval_s, clock)
        self.sinks = sinks
        self._bus = bus
        self._metrics = metrics
        self._probe = health_probe
        self._clock = clock
        self._wake = asyncio.Event()
        self.health: dict[str, Any] = {"consecutive_failures": 0, "status": None, "detail": ""}
        self.host = socket.gethostname()
        metrics.on_observed(self.poke)

    @classmethod
    def from_config(
        cls,
        config: Config,
        bus: EventBus,
        metrics: Metrics,
        thresholds: Thresholds,
        health_probe: HealthProbe,
    ) -> Alerting:
        """Rules from `[alerts]` (validated by `engine.config.load`: rule names, and money
        that lands on a base unit), money in the guards' quote token."""
        section = config.alerts
        max_loss = to_base_units(section.max_hourly_loss_quote, thresholds.quote_decimals)

        def money(amount: int) -> str:
            return f"{to_text(amount, thresholds.quote_decimals)} {thresholds.quote_symbol}"

        rules = default_rules(section, max_loss, money)
        withheld = frozenset({config.evm.key_env, "ARBCTL_PRIVATE_KEY"})
        sinks = build_sinks(section, socket.gethostname(), withheld)
        return cls(section, rules, bus, metrics, health_probe, sinks)

    def poke(self, topic: str) -> None:
        """Metrics folded in an event; a state change or guard trigger is judged at once."""
        if topic in URGENT_TOPICS:
            self._wake.set()

    # --- running ---------------------------------------------------------------------------
    async def run(self) -> None:
        """Forever: health checks on their interval, rules on theirs (or when poked)."""
        health = asyncio.create_task(self._health_loop(), name="alert-health")
        try:
            while True:
                with contextlib.suppress(TimeoutError):  # the timer: evaluate anyway
                    await asyncio.wait_for(self._wake.wait(), self.section.evaluate_interval_s)
                self._wake.clear()
                try:
                    self.evaluate()
                except Exception:  # a bug here must never take the engine down with it
                    log.warning("alert evaluation failed", exc_info=True)
        finally:
            health.cancel()

    def evaluate(self) -> list[dict[str, Any]]:
        view = {**self._metrics.snapshot(), "health": dict(self.health)}
        notes = self.book.evaluate(view)
        for note in notes:
            self._emit(note)
        return notes

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.section.health_interval_s)
            await self.check_health()

    async def check_health(self) -> None:
        """Run the engine's health checks once; CRITICAL (or no answer) is a failure."""
        try:
            result = await self._probe()
            status = str(result.get("status"))
            failing = [c for c in result.get("checks") or [] if c.get("status") == status]
            detail = "; ".join(f"{c.get('name')}: {c.get('detail')}" for c in failing)
        except Exception as exc:
            status, detail = "CRITICAL", f"health check could not run: {exc}"
        failed = status == "CRITICAL"
        count = self.health["consecutive_failures"] + 1 if failed else 0
        self.health = {"consecutive_failures": count, "status": status, "detail": detail,
                       "checked_at": self._clock()}  # fmt: skip

    def _emit(self, note: dict[str, Any]) -> None:
        note = {**note, "engine": {"host": self.host, "pid": os.getpid()}}
        self.book.record(note)
        self._bus.publish(protocol.TOPIC_ALERT, note)
        level = logging.WARNING if note["status"] == FIRING else logging.INFO
        log.log(level, "ALERT %s", slack_text(note, self.host), extra={"fields": {"alert": note}})
        for sink in self.sinks:
            sink.offer(note)

    def close(self, flush_s: float = FLUSH_ON_CLOSE_S) -> None:
        """Stop the sinks, giving queued notifications a bounded moment to go out: the
        emergency-halt alert of `kill --shutdown` is raised just before the process ends."""
        for sink in self.sinks:
            sink.close()
        deadline = time.monotonic() + flush_s
        for sink in self.sinks:
            if not sink.join(deadline - time.monotonic()):
                log.warning("alert sink %s still sending at exit; giving up on it", sink.name)

    # --- reads -----------------------------------------------------------------------------
    def status(self, limit: int = 50) -> dict[str, Any]:
        """What `alerts` serves: firing now, pending, recent notifications, the rules."""
        return {
            "active": self.book.active(),
            "pending": self.book.pending(),
            "recent": self.book.recent(limit),
            "rules": [self._rule(rule) for rule in self.book.rules],
            "disabled": list(self.section.disabled),
            "resend_interval_s": self.section.resend_interval_s,
            "evaluate_interval_s": self.section.evaluate_interval_s,
            "health": dict(self.health),
            "sinks": self._sinks(),
        }

    def _rule(self, rule: AlertRule) -> dict[str, Any]:
        return {
            "name": rule.name,
            "severity": rule.severity,
            "condition": rule.condition,
            "for_s": rule.for_s,
            "action": rule.action,
        }

    def _sinks(self) -> dict[str, Any]:
        sinks: dict[str, Any] = {"log": {"min_severity": "P3"}}
        for sink in self.sinks:
            sinks[sink.name] = sink.to_dict()
        if "webhook" in sinks:
            sinks["webhook"]["url"] = redact_webhook(self.section.webhook_url)
        if "command" in sinks:
            sinks["command"]["argv0"] = self.section.command[0]
        return sinks

    def compact(self) -> dict[str, Any]:
        """The heartbeat's share: how many alerts fire, the worst, how many unseen."""
        return compact_counts(self.book.active())

    def acknowledge(self, rule: str, actor: dict[str, Any], reason: str) -> dict[str, Any]:
        """An operator saw the alert: mark it, stop its reminders, tell the consoles."""
        alert = self.book.acknowledge(rule, actor, reason)
        self._bus.publish(protocol.TOPIC_ALERT, {**alert, "status": ACKNOWLEDGED})
        log.info("ALERT %s acknowledged by uid %s: %s", rule, actor.get("uid"), reason)
        return alert


ACKNOWLEDGED = "acknowledged"  # an `alert` event's status when an operator acknowledged it


def compact_counts(active: list[dict[str, Any]]) -> dict[str, Any]:
    """{active, worst, worst_rule, worst_summary, unacked}: `active` is most severe first."""
    worst = active[0] if active else {}
    return {
        "active": len(active),
        "worst": worst.get("severity"),
        "worst_rule": worst.get("rule"),
        "worst_summary": worst.get("summary"),
        "unacked": sum(1 for a in active if a.get("acked_at") is None),
    }
