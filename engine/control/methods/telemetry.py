"""Telemetry's control-socket methods: `metrics`, `alerts`, `alerts.ack`, `anomalies`.

Written like engine.py beside it (async handler of params and caller, typed
params) and merged into the server's table by the daemon, as the guards' are. The reads
answer from memory, without touching the ledger; `alerts.ack` (an operator saw an alert:
its reminders stop until it resolves) takes a reason and is audited like every override.
"""

from __future__ import annotations

from typing import Any

from engine import protocol
from engine.audit import AuditTrail
from engine.control import params as P
from engine.control.server import CallContext, Handler
from engine.lifecycle import Actor
from engine.protocol import ProtocolError
from engine.telemetry.alerts import Alerting
from engine.telemetry.alerts.book import NotFiring
from engine.telemetry.metrics import Metrics


class TelemetryMethods:
    def __init__(self, metrics: Metrics, alerting: Alerting, audit: AuditTrail) -> None:
        self._metrics = metrics
        self._alerting = alerting
        self._audit = audit

    def table(self) -> dict[str, Handler]:
        return {
            "metrics": self.metrics,
            "alerts": self.alerts,
            "alerts.ack": self.ack,
            "anomalies": self.anomalies,
        }

    async def ack(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """Acknowledge the firing alert of `rule`; refused (invalid_state) when none fires."""
        reason = P.reason(params)
        rule = P.required_str(params, "rule")
        actor = Actor(ctx.peer.uid, ctx.client)
        try:
            alert = self._alerting.acknowledge(rule, actor.to_dict(), reason)
        except NotFiring as exc:
            self._audit.record(
                actor, "alerts.ack", reason, {"rule": rule}, outcome=f"refused: {exc}"
            )
            raise ProtocolError(protocol.INVALID_STATE, str(exc)) from None
        self._audit.record(actor, "alerts.ack", reason, {"rule": rule, "id": alert["id"]})
        return alert

    async def metrics(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """The runbooks' dashboard and key metrics, anomalies included, plus the number
        of firing alerts so one call answers "is anything wrong?"."""
        return {**self._metrics.snapshot(), "alerts": self._alerting.compact()}

    async def alerts(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """Firing and pending alerts, recent notifications (newest first), the rules."""
        limit = P.optional_int(params, "limit", 50, lo=1, hi=1000) or 50
        return self._alerting.status(limit)

    async def anomalies(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """Today's count and the most recent anomalies (the evening checklist's list)."""
        limit = P.optional_int(params, "limit", 20, lo=1, hi=1000) or 20
        metrics = self._metrics
        return metrics.anomalies.to_dict(metrics.snapshot()["ts"], limit)
