"""The providers' control-socket methods: `providers`, `failover`, `providers.mark`.

Written like engine/control/methods.py and merged into the server's table by the
daemon. `providers` answers the runbook's "check provider status" (every endpoint's
health, which one is active and why). `failover` and `providers.mark` are the operator's
overrides ("switch to alternative provider", "manually mark provider online if false
positive"): they take a reason, are audited with the caller's uid, and are published on
the `provider` topic (the switch itself, by the selector's listener; marks, here).

A name is looked up among the RPC endpoints and the liquidity sources alike; `failover`
with `name: null` hands the choice back to the engine for `kind` ("rpc" by default).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from engine import protocol
from engine.audit import AuditTrail
from engine.bus import EventBus
from engine.control import params as P
from engine.control.server import CallContext, Handler
from engine.guards.triggers import TriggerLog
from engine.lenders.sources import LiquiditySources
from engine.lifecycle import Actor
from engine.market.venue import Venue
from engine.protocol import ProtocolError
from engine.providers.selector import ProviderStatus, SelectionError, Selector, UnknownProvider
from engine.telemetry.provider_watch import ProviderWatch

log = logging.getLogger("arbctl.providers")

KINDS = ("rpc", "liquidity")


class ProviderControl(Protocol):
    """What both venues' provider sets offer the operator's methods."""

    selector: Selector

    @property
    def reference(self) -> int: ...


def venue_providers(venue: Venue) -> ProviderControl | None:
    """The venue's provider set (both venues expose it as `providers`)."""
    candidate = getattr(venue, "providers", None)
    if candidate is not None and isinstance(getattr(candidate, "selector", None), Selector):
        return candidate  # type: ignore[no-any-return]
    return None


@dataclass(frozen=True, slots=True)
class _Set:
    kind: str
    selector: Selector
    reference: Callable[[], int]
    rows: Callable[[], list[ProviderStatus]]

    def view(self) -> dict[str, Any]:
        rows = [status.to_dict() for status in self.rows()]
        return {**self.selector.view(self.reference()), "providers": rows}

    def evaluate(self) -> None:
        self.selector.evaluate(self.reference())


class ProviderMethods:
    def __init__(
        self,
        rpc: ProviderControl | None,
        rpc_rows: Callable[[], list[ProviderStatus]],
        liquidity: LiquiditySources | None,
        audit: AuditTrail,
        bus: EventBus,
        triggers: TriggerLog | None,
    ) -> None:
        self._audit = audit
        self._bus = bus
        self._sets: dict[str, _Set] = {}
        if rpc is not None:
            self._sets["rpc"] = _Set("rpc", rpc.selector, lambda: rpc.reference, rpc_rows)
        if liquidity is not None:
            self._sets["liquidity"] = _Set(
                "liquidity", liquidity.selector, lambda: liquidity.reference, liquidity.health
            )
        self.watch = ProviderWatch(bus, triggers, {k: s.rows for k, s in self._sets.items()})
        for kind, found in self._sets.items():
            found.selector.subscribe(self.watch.on_switch(kind))

    def pins(self) -> dict[str, str]:
        """Operator pins by provider kind: a restart must not silently undo a pin."""
        return {
            kind: pinned for kind, found in self._sets.items() if (pinned := found.selector.pinned)
        }

    def restore_pins(self, saved: dict[str, Any]) -> list[str]:
        """Re-apply pins from the last snapshot; returns what could not be restored."""
        skipped = []
        for kind, name in saved.items():
            found = self._sets.get(kind)
            try:
                if found is None or not isinstance(name, str):
                    raise SelectionError(f"no {kind} provider set")
                found.selector.pin(name, "restored after restart")
            except (SelectionError, KeyError) as exc:
                skipped.append(f"{kind} pin {name!r}: {exc}")
        return skipped

    @classmethod
    def build(
        cls,
        venue: Venue,
        liquidity: LiquiditySources | None,
        audit: AuditTrail,
        bus: EventBus,
        triggers: TriggerLog | None,
    ) -> ProviderMethods:
        """The daemon's part: the venue's RPC set and the lenders the daemon built."""
        return cls(venue_providers(venue), venue.provider_health, liquidity, audit, bus, triggers)

    def table(self) -> dict[str, Handler]:
        return {
            "providers": self.providers,
            "failover": self.failover,
            "providers.mark": self.mark,
        }

    def start(self) -> None:
        self.watch.start()

    async def close(self) -> None:
        await self.watch.close()

    # --- methods -----------------------------------------------------------------------
    async def providers(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """Every provider's health, and which one is active and why, per kind."""
        return {kind: found.view() if (found := self._sets.get(kind)) else None for kind in KINDS}

    async def failover(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """Pin a provider (`name`), or `name: null` for automatic choice of `kind`."""
        reason = P.reason(params)
        name = P.optional_str(params, "name")
        target = self._find(name) if name else self._kind(P.choice(params, "kind", KINDS, "rpc"))
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
        view = target.view()
        pinned = view["pinned"] if target.kind == "rpc" else None
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
            target.selector.mark(name, online, reason, keep_one=target.kind == "rpc")
        except SelectionError as exc:
            self._audit.record(actor, "providers.mark", reason, details, outcome=f"refused: {exc}")
            raise ProtocolError(protocol.INVALID_STATE, str(exc)) from None
        target.evaluate()
        self._audit.record(actor, "providers.mark", reason, details)
        event = "marked_online" if online else "marked_offline"
        data = {"event": event, **details, "reason": reason, "actor": actor.to_dict()}
        self._bus.publish(protocol.TOPIC_PROVIDER, data)
        return {**target.view(), **details}

    # --- lookups -----------------------------------------------------------------------
    def _kind(self, kind: str) -> _Set:
        found = self._sets.get(kind)
        if found is None:
            raise ProtocolError(protocol.UNAVAILABLE, f"no {kind} providers in this engine")
        return found

    def _find(self, name: str) -> _Set:
        for found in self._sets.values():
            try:
                found.selector.health(name)
            except UnknownProvider:
                continue
            return found
        known = [h.name for s in self._sets.values() for h in s.selector.members]
        raise ProtocolError(
            protocol.NOT_FOUND, f"no provider named {name!r} (known: {', '.join(known)})"
        )


def _required_bool(params: dict[str, Any], name: str) -> bool:
    if name not in params:
        raise ProtocolError(protocol.INVALID_PARAMS, f'"{name}" is required: true or false')
    return P.optional_bool(params, name)
