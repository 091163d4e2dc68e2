"""The kill switch: the one service every way to halt the engine goes through.

Invariant: when `kill` returns — and already at its first line, before any await or
I/O — the send gate is shut, because the lifecycle flips to halted in memory,
synchronously. Only then is in-flight work cancelled and the latch written to
`<state_dir>/halt.json`. Why: the kill is the operator's last control, so it must not
depend on the disk. A latch that cannot be written (disk full, read-only, I/O error,
permissions) never undoes or delays the halt: the engine stays halted, the answer and
`status` say `persisted: false` and why, a `latch` event drives a P0 alert and health
turns CRITICAL, and the write is retried in the background until the marker is on disk
(audited as `kill.persisted`). Only `resume` clears the latch, persisted or not.

All marker I/O runs on one worker thread, in submission order, so a write still in
flight when the operator resumes is always followed by the clear, never the reverse;
and a disk that hangs cannot stall the event loop. The caller (socket `kill`, the Redis
global-halt watcher, and through the socket the console and the CLI) waits for the
first write at most `first_write_wait_s`, so the acknowledgement stays prompt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from engine import protocol
from engine.bus import EventBus
from engine.errors import ArbctlError
from engine.lifecycle import Actor, Lifecycle

log = logging.getLogger("arbctl.killswitch")

RETRY_S = 1.0  # between two attempts to write a latch the disk refused
FIRST_WRITE_WAIT_S = 0.5  # the most a kill's answer waits for the first write
MarkerWriter = Callable[[Path, str, int, str], dict[str, Any]]


class Canceller(Protocol):
    """What cancels in-flight work (the send gate: same nonce higher fee, or dropped)."""

    async def cancel_in_flight(self) -> list[str]: ...


class Auditor(Protocol):
    def record(
        self,
        actor: Actor,
        action: str,
        reason: str,
        params: dict[str, Any] | None = None,
        outcome: str = "ok",
    ) -> Any: ...


class LatchNotCleared(ArbctlError):
    """`resume` could not remove the persisted halt: the engine stays halted."""


@dataclass(frozen=True, slots=True)
class KillOutcome:
    """What a kill answers: halted always; persisted, or why not."""

    halt: dict[str, Any]
    persisted: bool
    persist_error: str | None
    already_halted: bool
    acknowledged_at: float

    @property
    def halted(self) -> bool:
        """Always: the gate was shut before anything that could fail."""
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "halted": self.halted,
            "persisted": self.persisted,
            "persist_error": self.persist_error,
            "already_halted": self.already_halted,
            "halt": self.halt,
            "acknowledged_at": self.acknowledged_at,
        }


@dataclass(slots=True)
class _Latch:
    """One halt's persistence: one task writes it, retrying until it is on disk."""

    record: dict[str, Any]
    actor: Actor
    persisted: bool = False
    error: str | None = None
    attempts: int = 0
    attempted: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class KillSwitch:
    def __init__(
        self,
        lifecycle: Lifecycle,
        state_dir: Path,
        canceller: Canceller,
        audit: Auditor,
        bus: EventBus,
        retry_s: float = RETRY_S,
        first_write_wait_s: float = FIRST_WRITE_WAIT_S,
        write_marker: MarkerWriter = protocol.write_halt_marker,
    ) -> None:
        self._lifecycle = lifecycle
        self._state_dir = state_dir
        self._canceller = canceller
        self._audit = audit
        self._bus = bus
        self._retry_s = retry_s
        self._first_wait_s = first_write_wait_s
        self._write_marker = write_marker
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="halt-latch")
        self._latch: _Latch | None = None
        self._cancelling: asyncio.Task[None] | None = None

    @property
    def engaged(self) -> bool:
        """A halt is latched (in memory at least): another kill would change nothing."""
        return self._lifecycle.halt is not None

    # --- kill -------------------------------------------------------------------------
    async def kill(
        self, reason: str, actor: Actor, audit_params: dict[str, Any] | None = None
    ) -> KillOutcome:
        """Halt now; then cancel in-flight work; then persist. InvalidTransition while
        stopping. Idempotent: a second kill keeps the first halt and says so."""
        first = self._lifecycle.enter_halt(reason, actor)  # the gate is shut from here
        acknowledged_at = time.time()
        if first:
            self._cancelling = asyncio.create_task(self._cancel_in_flight(actor, reason))
            self._latch = self._persist_in_background(actor)
        await self._first_write()
        outcome = self._outcome(not first, acknowledged_at)
        params = {**(audit_params or {}), "persisted": outcome.persisted}
        self._audit.record(actor, "kill", reason, params, _kill_outcome(outcome))
        return outcome

    async def _first_write(self) -> None:
        latch = self._latch
        if latch is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(latch.attempted.wait(), self._first_wait_s)

    def _outcome(self, already: bool, acknowledged_at: float) -> KillOutcome:
        view = self.halt_view() or {}
        persisted = bool(view.get("persisted"))
        waited = f"not written within {self._first_wait_s:g} s; still trying"
        return KillOutcome(
            halt=view,
            persisted=persisted,
            persist_error=None if persisted else view.get("persist_error") or waited,
            already_halted=already,
            acknowledged_at=acknowledged_at,
        )

    async def _cancel_in_flight(self, actor: Actor, reason: str) -> None:
        try:
            cancelled = await self._canceller.cancel_in_flight()
        except Exception as exc:
            log.exception("cancelling in-flight work after kill failed")
            cancelled, outcome = [], f"cancel failed: {exc}"
        else:
            outcome = "ok"
        self._audit.record(
            actor, "kill.cancel_in_flight", reason, {"cancelled": cancelled}, outcome
        )

    # --- persisting -------------------------------------------------------------------
    def _persist_in_background(self, actor: Actor) -> _Latch:
        assert self._lifecycle.halt is not None
        latch = _Latch(record=dict(self._lifecycle.halt), actor=actor)
        latch.task = asyncio.create_task(self._persist(latch), name="halt-latch")
        return latch

    async def _persist(self, latch: _Latch) -> None:
        while True:
            latch.attempts += 1
            try:
                await self._run_io(self._write, latch.record)
            except OSError as exc:
                self._refused(latch, exc)
            else:
                self._written(latch)
                return
            finally:
                latch.attempted.set()
            await asyncio.sleep(self._retry_s)

    def _write(self, record: dict[str, Any]) -> None:
        self._write_marker(self._state_dir, record["reason"], record["uid"], record["source"])

    def _refused(self, latch: _Latch, exc: OSError) -> None:
        error = f"{type(exc).__name__}: {exc}"
        if error == latch.error:
            return
        log.critical(
            "HALT NOT PERSISTED (attempt %d): %s; the engine stays halted, retrying every "
            "%g s; a restart before it is written would come up RUNNING",
            latch.attempts,
            error,
            self._retry_s,
        )
        latch.error = error
        self._publish()

    def _written(self, latch: _Latch) -> None:
        latch.persisted = True
        self._publish()
        if latch.error is not None:
            log.warning("halt persisted after %d attempts", latch.attempts)
            self._audit.record(
                latch.actor,
                "kill.persisted",
                latch.record["reason"],
                {"attempts": latch.attempts, "last_error": latch.error},
            )

    async def _run_io(self, work: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._io, work, *args)

    # --- resume -----------------------------------------------------------------------
    async def resume(self, reason: str, actor: Actor) -> None:
        """Clear the latch (stop retrying, remove the file), then run again.
        InvalidTransition unless paused or halted; LatchNotCleared if the file stays."""
        self._lifecycle.check_resume()
        halted = self._lifecycle.state == protocol.HALTED
        if halted:
            await self._clear()
        self._lifecycle.resume(reason, actor)
        if halted:
            self._publish()

    async def _clear(self) -> None:
        latch, self._latch = self._latch, None
        if latch is not None and latch.task is not None:
            latch.task.cancel()  # a write already on the I/O thread is followed by the clear
        try:
            await self._run_io(protocol.clear_halt_marker, self._state_dir)
        except OSError as exc:
            if latch is not None:  # still halted: keep the latch being written
                self._latch = self._persist_in_background(latch.actor)
            raise LatchNotCleared(f"cannot remove the persisted halt: {exc}") from None

    # --- reads ------------------------------------------------------------------------
    def halt_view(self) -> dict[str, Any] | None:
        """The halt as `status` and `kill` show it: the record, persisted, and why not."""
        halt = self._lifecycle.halt
        if halt is None:
            return None
        latch = self._latch
        if latch is None:  # read from disk at start: persisted by definition
            return {**halt, "persisted": True, "persist_error": None}
        return {**halt, "persisted": latch.persisted, "persist_error": latch.error}

    def to_dict(self) -> dict[str, Any]:
        latch = self._latch
        view = self.halt_view()
        return {
            "halted": view is not None,
            "persisted": None if view is None else view["persisted"],
            "error": None if view is None else view["persist_error"],
            "attempts": 0 if latch is None else latch.attempts,
            "retrying": latch is not None and latch.task is not None and not latch.task.done(),
            "retry_s": self._retry_s,
            "path": str(self._state_dir / protocol.HALT_FILE),
        }

    def _publish(self) -> None:
        self._bus.publish(protocol.TOPIC_LATCH, {**self.to_dict(), "reason": self._reason()})

    def _reason(self) -> str | None:
        halt = self._lifecycle.halt
        return None if halt is None else str(halt.get("reason"))

    # --- waiting and closing ----------------------------------------------------------
    async def settled(self) -> None:
        """Until cancellation has run and the latch is persisted (or cleared)."""
        latch = self._latch
        tasks = [t for t in (self._cancelling, latch.task if latch else None) if t is not None]
        if tasks:
            await asyncio.wait(tasks)

    async def close(self) -> None:
        """Stop retrying (saying loudly what that leaves), release the I/O thread."""
        latch = self._latch
        if latch is not None and not latch.persisted and self._lifecycle.halt is not None:
            log.critical("stopping with the halt NOT persisted (%s)", latch.error)
        tasks = [t for t in (self._cancelling, latch.task if latch else None) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)
        self._io.shutdown(wait=False)


def _kill_outcome(outcome: KillOutcome) -> str:
    """The audit entry's outcome: the operator reads why the latch is not on disk."""
    if outcome.already_halted:
        return "already halted"
    if outcome.persisted:
        return "ok"
    return f"halted; NOT persisted: {outcome.persist_error or 'still writing'}"
