"""Session snapshots: what a restarted engine takes back from the last one.

A snapshot is written periodically and at the graceful stop (`kind` periodic/shutdown)
into the ledger; at start-up the newest is read back before anything trades. What comes
back: the pipeline's counters continue, an open breaker stays open (an engine restarted
to escape it would trade again at once), operator pins stay pinned, and the bus's
sequence numbers never go backwards. Nonces are not restored: the chain's pending nonce
is the truth after any restart.

The parts are seen through small Protocols, so this module imports none of them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.bus import EventBus
from engine.ledger.records import SessionSnapshot
from engine.ledger.store import LedgerStore
from engine.ledger.writer import LedgerWriter
from engine.lifecycle import Lifecycle

log = logging.getLogger("arbctl.engine")


class Counting(Protocol):
    """The pipeline, as far as a snapshot goes."""

    def counters(self) -> dict[str, int]: ...

    def restore_counters(self, saved: dict[str, Any]) -> None: ...

    def market_status(self) -> dict[str, Any]: ...


class Breaker(Protocol):
    state: Any
    reason: str

    def snapshot(self) -> dict[str, Any]: ...

    def restore(self, saved: dict[str, Any]) -> None: ...


class Pins(Protocol):
    def pins(self) -> dict[str, str]: ...

    def restore_pins(self, saved: dict[str, Any]) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class Session:
    """This run of the engine, as every snapshot names it."""

    session_id: str
    started_at: float
    socket: str


@dataclass(frozen=True, slots=True)
class Restored:
    """The newest snapshot's state (empty on a fresh start), to apply once trading is built."""

    state: dict[str, Any] = field(default_factory=dict)

    def apply(self, pipeline: Counting, breaker: Breaker, providers: Pins) -> None:
        """Counters continue, an open breaker stays open, operator pins stay pinned."""
        counters = self.state.get("counters")
        if isinstance(counters, dict):
            pipeline.restore_counters(counters)
        saved_breaker = self.state.get("breaker")
        if isinstance(saved_breaker, dict):
            breaker.restore(saved_breaker)
            if breaker.state != "closed":
                log.warning("circuit breaker restored OPEN: %s", breaker.reason)
        pins = self.state.get("provider_pins")
        if isinstance(pins, dict) and pins:
            for problem in providers.restore_pins(pins):
                log.warning("operator pin not restored: %s", problem)
            log.info("operator pins restored: %s", providers.pins())


async def restore(store: LedgerStore, bus: EventBus) -> Restored:
    """Read the newest snapshot; a ledger that cannot say is a fresh start (logged)."""
    try:
        snapshot = await store.latest_snapshot()
    except Exception as exc:
        log.warning("could not read the last session snapshot: %s", exc)
        return Restored()
    if snapshot is None:
        log.info("no previous session snapshot: fresh start")
        return Restored()
    # Sequence numbers start from the clock in microseconds; the snapshot guards the
    # rare engine that published faster than a million events a second.
    restored_seq = snapshot.state.get("last_seq")
    if isinstance(restored_seq, int) and restored_seq >= bus.last_seq:
        bus.last_seq = restored_seq + 1
    log.info(
        "SNAPSHOT RESTORED: session %s (%s, %s) taken %s",
        snapshot.session_id,
        snapshot.kind,
        snapshot.status,
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(snapshot.ts)),
    )
    return Restored(snapshot.state)


@dataclass(frozen=True, slots=True)
class Snapshots:
    """Takes this session's snapshots once the pipeline trades."""

    session: Session
    bus: EventBus
    lifecycle: Lifecycle
    pipeline: Counting
    breaker: Breaker
    providers: Pins

    def take(self, kind: str, status: str) -> SessionSnapshot:
        state = {
            "last_seq": self.bus.last_seq,
            "started_at": self.session.started_at,
            "engine_state": self.lifecycle.state,
            "socket": self.session.socket,
            "counters": self.pipeline.counters(),
            "breaker": self.breaker.snapshot(),
            "provider_pins": self.providers.pins(),
            **self.pipeline.market_status(),
        }
        return SessionSnapshot(self.session.session_id, time.time(), kind, status, state)

    async def run(self, writer: LedgerWriter, interval_s: float) -> None:
        """A periodic snapshot every `interval_s`, until cancelled."""
        while True:
            await asyncio.sleep(interval_s)
            writer.add_snapshot(self.take("periodic", "running"))
