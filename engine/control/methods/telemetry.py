"""Telemetry's control-socket methods: `metrics`, `alerts`, `anomalies`.

Written like engine.py beside it (async handler of params and caller, typed
params) and merged into the server's table by the daemon, as the guards' are. All three
are reads of state kept in memory, so they answer without touching the ledger.
"""

from __future__ import annotations

from typing import Any

from engine.control import params as P
from engine.control.server import CallContext, Handler
from engine.telemetry.alerts import Alerting
from engine.telemetry.metrics import Metrics


class TelemetryMethods:
    def __init__(self, metrics: Metrics, alerting: Alerting) -> None:
        self._metrics = metrics
        self._alerting = alerting

    def table(self) -> dict[str, Handler]:
        return {
            "metrics": self.metrics,
            "alerts": self.alerts,
            "anomalies": self.anomalies,
        }

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
