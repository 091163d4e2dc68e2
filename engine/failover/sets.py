"""The provider sets the operator steers: RPC endpoints, liquidity sources and submission
routes (engine/market/evm/routes.py), by kind.

`providers`, `failover` and `providers.mark` (engine/control/methods/providers.py) read
and steer these sets: every endpoint's health, which one is active and why, an operator
pin that survives a restart (the snapshot keeps `pins()`), and the watch that publishes
switches on the `provider` topic and records them as guard triggers.

A name is looked up among the RPC endpoints and the liquidity sources alike; lookups
raise domain errors (UnknownProvider, NoProviderSet) that the adapter turns into JSON-RPC.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from engine.bus import EventBus
from engine.failover.watch import ProviderWatch
from engine.guards.triggers import TriggerLog
from engine.lenders.sources import LiquiditySources
from engine.market.venue import Venue
from engine.providers.selector import (
    ProviderStatus,
    Selection,
    SelectionError,
    Selector,
    UnknownProvider,
)

log = logging.getLogger("arbctl.providers")

KINDS = ("rpc", "liquidity", "route")


class NoProviderSet(SelectionError):
    """This engine has no provider set of the kind asked for."""


class ProviderControl(Protocol):
    """What both venues' provider sets offer the operator's methods."""

    selector: Selector

    @property
    def reference(self) -> int: ...


class RouteControl(ProviderControl, Protocol):
    def health(self) -> list[ProviderStatus]: ...


def venue_routes(venue: Venue) -> RouteControl | None:
    """The chain venue's submission routes (`routes`); the simulated market has none."""
    return venue_providers(venue, "routes")  # type: ignore[return-value]


def venue_providers(venue: Venue, attribute: str = "providers") -> ProviderControl | None:
    """The venue's provider set (both venues expose it as `providers`)."""
    candidate = getattr(venue, attribute, None)
    if candidate is not None and isinstance(getattr(candidate, "selector", None), Selector):
        return candidate
    return None


@dataclass(frozen=True, slots=True)
class ProviderSet:
    kind: str
    selector: Selector
    reference: Callable[[], int]
    rows: Callable[[], list[ProviderStatus]]

    def selection(self) -> Selection:
        """The selector's choice, with the set's own rows (a lender's fee, a sim stall)."""
        return replace(self.selector.selection(self.reference()), providers=tuple(self.rows()))

    def evaluate(self) -> None:
        self.selector.evaluate(self.reference())


class ProviderSets:
    def __init__(
        self,
        rpc: ProviderControl | None,
        rpc_rows: Callable[[], list[ProviderStatus]],
        liquidity: LiquiditySources | None,
        bus: EventBus,
        triggers: TriggerLog | None,
        routes: RouteControl | None = None,
    ) -> None:
        self._sets: dict[str, ProviderSet] = {}
        if rpc is not None:
            self._sets["rpc"] = ProviderSet("rpc", rpc.selector, lambda: rpc.reference, rpc_rows)
        if liquidity is not None:
            self._sets["liquidity"] = ProviderSet(
                "liquidity", liquidity.selector, lambda: liquidity.reference, liquidity.health
            )
        if routes is not None:
            self._sets["route"] = ProviderSet(
                "route", routes.selector, lambda: routes.reference, routes.health
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
        bus: EventBus,
        triggers: TriggerLog | None,
    ) -> ProviderSets:
        """The daemon's part: the venue's RPC set and the lenders the daemon built."""
        rpc = venue_providers(venue)
        return cls(rpc, venue.provider_health, liquidity, bus, triggers, venue_routes(venue))

    def start(self) -> None:
        self.watch.start()

    async def close(self) -> None:
        await self.watch.close()

    def selections(self) -> dict[str, Selection | None]:
        """Every provider's health, and which one is active and why, per kind."""
        return {kind: s.selection() if (s := self._sets.get(kind)) else None for kind in KINDS}

    # --- lookups -----------------------------------------------------------------------
    def of_kind(self, kind: str) -> ProviderSet:
        found = self._sets.get(kind)
        if found is None:
            raise NoProviderSet(f"no {kind} providers in this engine")
        return found

    def find(self, name: str) -> ProviderSet:
        for found in self._sets.values():
            try:
                found.selector.health(name)
            except UnknownProvider:
                continue
            return found
        known = [h.name for s in self._sets.values() for h in s.selector.members]
        raise UnknownProvider(f"no provider named {name!r} (known: {', '.join(known)})")
