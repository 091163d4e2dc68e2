"""The guards' control-socket methods: `guards`, `breaker`, `breaker.reset`, `gas`.

Written like engine.py beside it (async handler of params and caller, typed
params, JSON-RPC errors) and merged into the server's table by the daemon. Only
`breaker.reset` changes anything: it takes a reason and is audited with the caller's uid,
like pause and kill, because closing a breaker is an operator overriding a safety stop.
"""

from __future__ import annotations

import logging
from typing import Any

from engine import protocol
from engine.audit import AuditTrail
from engine.control import params as P
from engine.control.server import CallContext, Handler
from engine.guards.approver import Guards
from engine.guards.breaker import BreakerClosed
from engine.ledger.writer import LedgerWriter
from engine.lifecycle import Actor
from engine.protocol import ProtocolError

log = logging.getLogger("arbctl.guards")


class GuardMethods:
    def __init__(self, guards: Guards, audit: AuditTrail, ledger: LedgerWriter) -> None:
        self._guards = guards
        self._audit = audit
        self._ledger = ledger

    def table(self) -> dict[str, Handler]:
        return {
            "guards": self.guards,
            "breaker": self.breaker,
            "breaker.reset": self.breaker_reset,
            "gas": self.gas,
        }

    async def guards(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """Rules, thresholds, current values, and the most recent stored triggers."""
        limit = P.optional_int(params, "limit", 20, lo=1, hi=10_000) or 20
        since = P.optional_float(params, "since", 0.0) or 0.0
        status = self._guards.status()
        recent, source = await self._recent(since, limit)
        return {**status, "recent": recent, "recent_source": source}

    async def _recent(self, since: float, limit: int) -> tuple[list[dict[str, Any]], str]:
        """From the ledger (what was stored); from memory when the ledger is down, so the
        operator still sees why trading stopped."""
        try:
            await self._ledger.flush()
            stored = await self._ledger.store.list_guard_triggers(since, limit)
        except Exception as exc:
            log.warning("guard triggers not readable from the ledger: %s", exc)
            kept = [t for t in self._guards.triggers.recent if t["ts"] >= since]
            return kept[:limit], "memory"
        return [t.to_dict() for t in stored], "ledger"

    async def breaker(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        return self._guards.breaker_status()

    async def breaker_reset(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """Close an open or half-open breaker (a false positive); refused when closed."""
        reason = P.reason(params)
        actor = Actor(ctx.peer.uid, ctx.client)
        before = self._guards.breaker_status()
        try:
            after = self._guards.reset_breaker(reason)
        except BreakerClosed as exc:
            self._audit.record(actor, "breaker.reset", reason, outcome=f"refused: {exc}")
            raise ProtocolError(protocol.INVALID_STATE, str(exc)) from None
        details = {"previous": before["state"], "guard": before["guard"], "was": before["reason"]}
        self._audit.record(actor, "breaker.reset", reason, details)
        return after

    async def gas(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        return self._guards.gas_status()
