"""Two engines on one machine, each with its own socket and state: nothing is shared."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

import pytest

from tests.conftest import EngineHandle, wait_until
from tests.control.conftest import Wire, audit_entries, poll, status_of, wait_for_state

Pair = tuple[EngineHandle, EngineHandle]


@pytest.fixture
def pair(engine_factory: Callable[..., EngineHandle]) -> Pair:
    first, second = engine_factory(), engine_factory()
    wait_for_state(first, "running")
    wait_for_state(second, "running")
    return first, second


def test_two_engines_answer_on_their_own_sockets(pair: Pair) -> None:
    first, second = pair
    a, b = status_of(first), status_of(second)
    assert (a["pid"], b["pid"]) == (first.pid, second.pid)
    assert a["socket"] != b["socket"] and a["state_dir"] != b["state_dir"]


def test_killing_one_leaves_the_other_running_and_trading(pair: Pair) -> None:
    first, second = pair
    with Wire(first.socket) as wire:
        wire.result("kill", {"reason": "side by side: stop the first"})
    sent = status_of(second)["gate"]["sent"]
    assert status_of(first)["state"] == "halted"
    assert status_of(second)["state"] == "running"
    assert poll(lambda: status_of(second)["gate"]["sent"] > sent, 30)


def test_a_crashed_engine_leaves_the_other_running(pair: Pair) -> None:
    first, second = pair
    os.kill(first.pid, signal.SIGKILL)
    assert wait_until(lambda: _refused(first))
    assert status_of(second)["state"] == "running"


def test_their_audit_trails_do_not_mix(pair: Pair) -> None:
    first, second = pair
    for engine, name in ((first, "first"), (second, "second")):
        with Wire(engine.socket) as wire:
            wire.result("pause", {"reason": f"side by side: {name}"})
            wire.result("kill", {"reason": f"side by side: kill {name}"})
    reasons = {
        name: {e["reason"] for e in audit_entries(engine)}
        for engine, name in ((first, "first"), (second, "second"))
    }
    assert reasons["first"] == {"side by side: first", "side by side: kill first"}
    assert reasons["second"] == {"side by side: second", "side by side: kill second"}


def test_halting_one_does_not_halt_the_other_after_restarts(pair: Pair) -> None:
    first, second = pair
    with Wire(first.socket) as wire:
        wire.result("kill", {"reason": "side by side: latch only the first"})
    for engine in pair:
        engine.stop()
        engine.start()
    assert wait_for_state(first, "halted")
    assert wait_for_state(second, "running")


def _refused(engine: EngineHandle) -> bool:
    """Nothing answers: refused, no socket, or closed on us by a dying process."""
    try:
        status_of(engine)
    except OSError:
        return True
    return False
