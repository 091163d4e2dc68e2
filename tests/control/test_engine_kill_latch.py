"""The kill switch is a latch: persisted before it is acknowledged, it survives graceful
restarts and crashes, shuts the send gate at once, and only `resume` clears it."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from tests.conftest import EngineHandle, wait_until
from tests.control.conftest import Wire, poll, status_of, wait_for_state

BLOCKS_TO_WATCH = 20


def _kill(engine: EngineHandle, reason: str, **extra: Any) -> dict[str, Any]:
    with Wire(engine.socket) as wire:
        return wire.result("kill", {"reason": reason, **extra})


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z"


def test_a_halt_survives_a_graceful_restart(engine: EngineHandle) -> None:
    wait_for_state(engine, "running")
    _kill(engine, "latch: before a graceful restart")
    engine.stop()
    engine.start()
    status = wait_for_state(engine, "halted")
    assert "latch: before a graceful restart" in status["reason"]
    assert status["halt"]["reason"] == "latch: before a graceful restart"


def test_a_halt_survives_sigkill_of_the_engine(engine: EngineHandle) -> None:
    wait_for_state(engine, "running")
    _kill(engine, "latch: before SIGKILL")
    os.kill(engine.pid, signal.SIGKILL)
    assert wait_until(lambda: _gone(engine.pid))
    engine.start()
    status = wait_for_state(engine, "halted")
    assert status["halt"]["reason"] == "latch: before SIGKILL"


def test_kill_with_shutdown_stops_the_engine_and_it_comes_back_halted(
    engine: EngineHandle,
) -> None:
    wait_for_state(engine, "running")
    assert _kill(engine, "latch: kill and stop", shutdown=True)["shutdown"] is True
    assert wait_until(lambda: _gone(engine.pid))
    engine.start()
    assert wait_for_state(engine, "halted")["halt"]["reason"] == "latch: kill and stop"


def test_only_resume_clears_the_persisted_halt(engine: EngineHandle) -> None:
    wait_for_state(engine, "running")
    _kill(engine, "latch: to be cleared")
    with Wire(engine.socket) as wire:
        wire.result("resume", {"reason": "latch: cleared by an operator"})
    engine.stop()
    engine.start()
    assert wait_for_state(engine, "running")["halt"] is None


def test_after_kill_nothing_more_is_sent_while_blocks_keep_coming(engine: EngineHandle) -> None:
    assert poll(lambda: status_of(engine)["gate"]["sent"] > 0, 30), "the sim never traded"
    _kill(engine, "latch: gate must shut")
    assert poll(lambda: status_of(engine)["in_flight"] == 0)
    at_kill = status_of(engine)
    assert poll(lambda: status_of(engine)["block"] >= at_kill["block"] + BLOCKS_TO_WATCH, 30)
    later = status_of(engine)
    assert later["gate"]["sent"] == at_kill["gate"]["sent"]
    assert later["trades_booked"] == at_kill["trades_booked"]
    assert later["state"] == "halted"


def test_the_send_gate_reopens_after_resume(engine: EngineHandle) -> None:
    wait_for_state(engine, "running")
    _kill(engine, "latch: shut for a moment")
    sent = status_of(engine)["gate"]["sent"]
    with Wire(engine.socket) as wire:
        wire.result("resume", {"reason": "latch: reopen"})
    assert poll(lambda: status_of(engine)["gate"]["sent"] > sent, 30)
