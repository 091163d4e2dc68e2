"""The send gate: the only door through which anything is signed and sent.

Executors never hold the venue's broadcaster; they hold this gate, which checks the
engine state synchronously immediately before handing the payload over. Because the
check and the hand-over happen with no `await` in between, a kill processed on the same
event loop can never slip between "allowed" and "sent": once `kill` has been
acknowledged, nothing new leaves.

`send_many` is the same door for a block's plan: one check, then every payload handed
over in order in that same step, so a chain venue signs them with consecutive nonces
(the most valuable first, the order the plan took them) and a kill sees all or none.

In-flight submissions are tracked so the kill switch can cancel them (same nonce,
higher fee on a chain; dropped on the simulated market).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.execution.errors import NotSent
from engine.lifecycle import Lifecycle


class GateClosed(NotSent):
    """Sending was refused because the engine is not running."""

    def __init__(self, state: str, reason: str) -> None:
        super().__init__(f"send refused: engine is {state} ({reason})")
        self.state = state
        self.reason = reason


class Broadcaster(Protocol):
    """What a venue implements to actually sign/send. Only the gate may call it."""

    def broadcast(self, payload: Any) -> Awaitable[Any]: ...

    async def cancel_pending(self) -> list[str]: ...


@dataclass(slots=True)
class GateStats:
    sent: int = 0
    refused: int = 0
    last_refusal: str = ""
    last_refusal_at: float = 0.0
    in_flight: dict[int, float] = field(default_factory=dict)


class SendGate:
    def __init__(self, lifecycle: Lifecycle, broadcaster: Broadcaster) -> None:
        self._lifecycle = lifecycle
        self._broadcaster = broadcaster
        self._ids = itertools.count(1)
        self.stats = GateStats()
        # A venue that re-sends on its own (a dropped transaction, engine/market/evm/
        # drops.py) does it only through this check, so a halt stops it too.
        attach = getattr(broadcaster, "attach_gate", None)
        if callable(attach):
            attach(self.check)

    def check(self) -> None:
        """Raise GateClosed unless the engine is running. Cheap; call it as late as possible."""
        lifecycle = self._lifecycle
        if not lifecycle.accepting_sends:
            self.stats.refused += 1
            self.stats.last_refusal = f"{lifecycle.state}: {lifecycle.reason}"
            self.stats.last_refusal_at = time.time()
            raise GateClosed(lifecycle.state, lifecycle.reason)

    async def send(self, payload: Any) -> Any:
        """Check, then hand `payload` to the broadcaster in the same loop step."""
        self.check()
        # No await between check() and broadcast(): the coroutine object is created and
        # started in this very step, so the state observed by check() is the state in
        # which the payload leaves.
        ticket = next(self._ids)
        self.stats.in_flight[ticket] = time.time()
        self.stats.sent += 1
        try:
            return await self._broadcaster.broadcast(payload)
        finally:
            self.stats.in_flight.pop(ticket, None)

    def send_many(self, payloads: Sequence[Any]) -> list[asyncio.Future[Any]]:
        """Check once, then hand every payload over, in order, in this same step.

        Synchronous on purpose: nothing can run between the check and the last hand-over.
        Each result is a future already running (a chain venue sends at once), in the
        order of `payloads`."""
        self.check()
        results: list[asyncio.Future[Any]] = []
        for payload in payloads:
            ticket = next(self._ids)
            self.stats.in_flight[ticket] = time.time()
            self.stats.sent += 1
            future = asyncio.ensure_future(self._broadcaster.broadcast(payload))
            future.add_done_callback(self._landed(ticket))
            results.append(future)
        return results

    def _landed(self, ticket: int) -> Callable[[asyncio.Future[Any]], None]:
        def done(_: asyncio.Future[Any]) -> None:
            self.stats.in_flight.pop(ticket, None)

        return done

    async def cancel_in_flight(self) -> list[str]:
        """Kill switch: ask the venue to cancel whatever it still has pending."""
        return await self._broadcaster.cancel_pending()

    def to_dict(self) -> dict[str, Any]:
        return {
            "sent": self.stats.sent,
            "refused": self.stats.refused,
            "in_flight": len(self.stats.in_flight),
            "last_refusal": self.stats.last_refusal,
            "last_refusal_at": self.stats.last_refusal_at,
        }
