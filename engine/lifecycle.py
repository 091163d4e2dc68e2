"""Engine states: `starting → running ⇄ paused → halted` (and `stopping`).

paused stops new executions but lets in-flight work finish; halted (the kill switch)
shuts the send gate. Every method here is in memory and synchronous — no I/O, no
await — so the gate (engine/execution/gate.py) sees a halt the instant it is entered.
Writing and clearing the persisted latch is the kill switch's job (engine/killswitch.py);
this module only reads it once, at construction, so an engine started with a persisted
halt comes up halted. Every transition is published on the bus so consoles and the
audit trail see it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import protocol
from engine.bus import EventBus
from engine.errors import ArbctlError


class InvalidTransition(ArbctlError):
    """An operator asked for a transition the current state does not allow."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asked for a change: the peer uid from SO_PEERCRED and a client label."""

    uid: int
    client: str = "unknown"

    def to_dict(self) -> dict[str, Any]:
        return {"uid": self.uid, "client": self.client}


ENGINE = Actor(uid=-1, client="engine")


class Lifecycle:
    def __init__(self, state_dir: Path, bus: EventBus) -> None:
        self._state_dir = state_dir
        self._bus = bus
        self.state = protocol.STARTING
        self.reason = "engine starting"
        self.since = time.time()
        self.halt: dict[str, Any] | None = protocol.read_halt_marker(state_dir)

    @property
    def accepting_sends(self) -> bool:
        """The send gate's question. Plain attribute reads: no await can interleave."""
        return self.state == protocol.RUNNING

    def started(self) -> None:
        """Leave `starting`: running, unless a persisted halt says otherwise (or a kill
        came in while starting: then it is halted already)."""
        if self.state == protocol.HALTED:
            return
        if self.halt is not None:
            reason = f"halt persisted: {self.halt.get('reason', '?')}"
            self._set(protocol.HALTED, reason, ENGINE)
        else:
            self._set(protocol.RUNNING, "engine started", ENGINE)

    def pause(self, reason: str, actor: Actor) -> None:
        self._require(protocol.RUNNING, action="pause")
        self._set(protocol.PAUSED, reason, actor)

    def resume(self, reason: str, actor: Actor) -> None:
        """Back to running; clears the in-memory halt (the kill switch clears the file)."""
        self.check_resume()
        self.halt = None
        self._set(protocol.RUNNING, reason, actor)

    def check_resume(self) -> None:
        if self.state not in (protocol.PAUSED, protocol.HALTED):
            raise InvalidTransition(f"cannot resume: engine is {self.state}, not paused/halted")

    def enter_halt(self, reason: str, actor: Actor) -> bool:
        """Halt in memory now: the gate is shut when this returns. False if a halt is
        already latched (idempotent: the first halt's record stays)."""
        if self.state == protocol.STOPPING:
            raise InvalidTransition("cannot kill: engine is stopping")
        if self.halt is not None:
            return False
        self.halt = {"reason": reason, "uid": actor.uid, "source": actor.client, "ts": time.time()}
        self._set(protocol.HALTED, reason, actor)
        return True

    def stopping(self, reason: str) -> None:
        """Shutdown: sends stop; a persisted halt stays on disk for the next start."""
        self._set(protocol.STOPPING, reason, ENGINE)

    def _require(self, state: str, action: str) -> None:
        if self.state != state:
            raise InvalidTransition(f"cannot {action}: engine is {self.state}, not {state}")

    def _set(self, state: str, reason: str, actor: Actor) -> None:
        previous = self.state
        self.state, self.reason, self.since = state, reason, time.time()
        self._bus.publish(
            protocol.TOPIC_STATE,
            {"state": state, "previous": previous, "reason": reason, "actor": actor.to_dict()},
        )

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "reason": self.reason, "since": self.since, "halt": self.halt}
