"""Watching provider health for the operator: `provider` events and the pin's trigger.

Failovers are published the moment the selector makes them (it calls `on_switch`).
Status changes (healthy → degraded → down …) have no single place where they happen,
so they are found by comparing each provider's row with the previous look, a few times
a second; a console following the `provider` topic sees every change without polling.

While the operator's pin points at a provider that cannot serve, the `pinned_provider`
guard blocks every opportunity; but a stalled pinned provider delivers no block, so no
opportunity ever reaches that guard. This watcher records the pause itself (trigger
`pinned_provider` / `paused`, and `resumed` when the provider serves again or the pin is
cleared), so `arbctl guards` and the console say why trading stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from engine import protocol
from engine.bus import EventBus
from engine.guards.triggers import Occurrence, TriggerLog
from engine.providers.selector import ProviderStatus, Switch

PIN_TRIGGER = "pinned_provider"
TICK_S = 0.25

Statuses = Callable[[], list[ProviderStatus]]


class ProviderWatch:
    def __init__(
        self, bus: EventBus, triggers: TriggerLog | None, sets: dict[str, Statuses]
    ) -> None:
        self._bus = bus
        self._triggers = triggers
        self._sets = sets  # kind -> its providers' health
        self._statuses: dict[tuple[str, str], str] = {}
        self._paused_on = ""  # the pinned provider trading waits for
        self._task: asyncio.Task[None] | None = None

    def on_switch(self, kind: str) -> Callable[[Switch], None]:
        """A listener for one selector: every switch becomes a `provider` event."""

        def publish(switch: Switch) -> None:
            self._bus.publish(protocol.TOPIC_PROVIDER, {"kind": kind, **switch.to_dict()})

        return publish

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="provider-watch")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            self.tick()
            await asyncio.sleep(TICK_S)

    def tick(self) -> None:
        for kind, statuses in self._sets.items():
            current = statuses()
            self._publish_changes(kind, current)
            if kind == "rpc":
                self._watch_pin(current)

    def _publish_changes(self, kind: str, providers: list[ProviderStatus]) -> None:
        for provider in providers:
            key = (kind, provider.name)
            previous = self._statuses.get(key)
            self._statuses[key] = provider.status
            if previous is None or previous == provider.status:
                continue
            data = {
                "event": "status",
                "kind": kind,
                "name": provider.name,
                "previous": previous,
                "status": provider.status,
                "reason": provider.unusable_reason or provider.last_error,
            }
            self._bus.publish(protocol.TOPIC_PROVIDER, data)

    def _watch_pin(self, providers: list[ProviderStatus]) -> None:
        pinned = next((p for p in providers if p.pinned), None)
        if pinned is not None and not pinned.usable and not self._paused_on:
            self._paused_on = pinned.name
            reason = (
                f"pinned provider {pinned.name} cannot serve ({pinned.unusable_reason}): "
                "trading waits; it is not switched away from a pin (`arbctl failover --auto` "
                "hands the choice back to the engine)"
            )
            self._record("paused", reason)
        elif (pinned is None or pinned.usable) and self._paused_on:
            same = pinned is not None and pinned.name == self._paused_on
            cleared = "serves again" if same else "is no longer pinned"
            self._record("resumed", f"pinned provider {self._paused_on} {cleared}")
            self._paused_on = ""

    def _record(self, action: str, reason: str) -> None:
        if self._triggers is not None:
            self._triggers.record(Occurrence(PIN_TRIGGER, action, reason))
