"""The providers' control-socket methods: `providers`, `failover`, `providers.mark`.

Written like engine.py beside it and merged into the server's table by the daemon.
`providers` answers the runbook's "check provider status" (every endpoint's health,
which one is active and why). `failover` and `providers.mark` are the operator's
overrides ("switch to alternative provider", "manually mark provider online if false
positive"): they take a reason, are audited with the caller's uid, and are published on
the `provider` topic (the switch itself, by the selector's listener; marks, here).

A name is looked up among the RPC endpoints, the liquidity sources and the submission
routes alike; `failover` with `name: null` hands the choice back to the engine for `kind`
("rpc" by default, "liquidity", "route").
"""

from __future__ import annotations

from typing import Any

from engine import protocol
from engine.audit import AuditTrail
from engine.bus import EventBus
from engine.control import params as P
from engine.control.server import CallContext, Handler
from engine.failover.sets import KINDS, NoProviderSet, ProviderSet, ProviderSets
from engine.lifecycle import Actor
from engine.protocol import ProtocolError
from engine.providers.selector import SelectionError, UnknownProvider


class ProviderMethods:
    def __init__(self, providers: ProviderSets, audit: AuditTrail, bus: EventBus) -> None:
        self._providers = providers
        self._audit = audit
        self._bus = bus

    def table(self) -> dict[str, Handler]:
        return {
            "providers": self.providers,
            "failover": self.failover,
            "providers.mark": self.mark,
        }

    async def providers(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """Every provider's health, and which one is active and why, per kind."""
        return {
            kind: selection.to_dict() if selection else None
            for kind, selection in self._providers.selections().items()
        }

    async def failover(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """Pin a provider (`name`), or `name: null` for automatic choice of `kind`."""
        reason = P.reason(params)
        name = P.optional_str(params, "name")
        kind = P.choice(params, "kind", KINDS, "rpc")
        target = self._find(name) if name else self._kind(kind)
        if name and kind == "route" and target.kind != "route":
            raise ProtocolError(protocol.NOT_FOUND, f"{name!r} is not a submission route")
        actor = Actor(ctx.peer.uid, ctx.client)
        previous = target.selector.active
        details = {"kind": target.kind, "name": name, "previous": previous}
        try:
            if name:
                switch = target.selector.pin(name, reason, actor.to_dict())
            else:
                switch = target.selector.automatic(reason, target.reference(), actor.to_dict())
        except SelectionError as exc:
            self._audit.record(actor, "failover", reason, details, outcome=f"refused: {exc}")
            raise ProtocolError(protocol.INVALID_STATE, str(exc)) from None
        self._audit.record(actor, "failover", reason, {**details, "active": switch.active})
        selection = target.selection()
        pinned = selection.pinned if target.kind == "rpc" else None
        view = selection.to_dict()
        return {**view, "kind": target.kind, "previous": previous, "pinned_provider": pinned}

    async def mark(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """Mark a provider offline (never used) or online (its failures forgiven)."""
        reason = P.reason(params)
        name = P.required_str(params, "name")
        online = _required_bool(params, "online")
        target = self._find(name)
        actor = Actor(ctx.peer.uid, ctx.client)
        details = {"kind": target.kind, "name": name, "online": online}
        try:
            target.selector.mark(name, online, reason, keep_one=target.kind in ("rpc", "route"))
        except SelectionError as exc:
            self._audit.record(actor, "providers.mark", reason, details, outcome=f"refused: {exc}")
            raise ProtocolError(protocol.INVALID_STATE, str(exc)) from None
        target.evaluate()
        self._audit.record(actor, "providers.mark", reason, details)
        event = "marked_online" if online else "marked_offline"
        data = {"event": event, **details, "reason": reason, "actor": actor.to_dict()}
        self._bus.publish(protocol.TOPIC_PROVIDER, data)
        return {**target.selection().to_dict(), **details}

    # --- lookups, as JSON-RPC errors -----------------------------------------------------
    def _kind(self, kind: str) -> ProviderSet:
        try:
            return self._providers.of_kind(kind)
        except NoProviderSet as exc:
            raise ProtocolError(protocol.UNAVAILABLE, str(exc)) from None

    def _find(self, name: str) -> ProviderSet:
        try:
            return self._providers.find(name)
        except UnknownProvider as exc:
            raise ProtocolError(protocol.NOT_FOUND, str(exc)) from None


def _required_bool(params: dict[str, Any], name: str) -> bool:
    if name not in params:
        raise ProtocolError(protocol.INVALID_PARAMS, f'"{name}" is required: true or false')
    return P.optional_bool(params, name)
