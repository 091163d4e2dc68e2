"""The send gate: the single choke point that refuses whenever the engine is not running."""

from __future__ import annotations

import asyncio

import pytest

from engine.bus import EventBus
from engine.execution.gate import GateClosed, SendGate
from engine.lifecycle import Actor, Lifecycle

OPERATOR = Actor(uid=0, client="test")


class RecordingBroadcaster:
    """A real in-memory broadcaster: it records what reached it."""

    def __init__(self) -> None:
        self.sent: list[object] = []
        self.release = asyncio.Event()

    async def broadcast(self, payload: object) -> str:
        self.sent.append(payload)
        await self.release.wait()
        return f"receipt-{payload}"

    async def cancel_pending(self) -> list[str]:
        return [str(p) for p in self.sent]


def running(tmp_path) -> tuple[Lifecycle, SendGate, RecordingBroadcaster]:
    lifecycle = Lifecycle(tmp_path, EventBus())
    lifecycle.started()
    broadcaster = RecordingBroadcaster()
    return lifecycle, SendGate(lifecycle, broadcaster), broadcaster


async def test_gate_passes_payloads_while_running(tmp_path):
    _, gate, broadcaster = running(tmp_path)
    broadcaster.release.set()
    assert await gate.send("tx1") == "receipt-tx1"
    assert broadcaster.sent == ["tx1"]


async def test_gate_refuses_while_paused(tmp_path):
    lifecycle, gate, broadcaster = running(tmp_path)
    lifecycle.pause("look", OPERATOR)
    with pytest.raises(GateClosed):
        await gate.send("tx1")
    assert broadcaster.sent == []


async def test_gate_refuses_while_halted(tmp_path):
    lifecycle, gate, broadcaster = running(tmp_path)
    lifecycle.enter_halt("stop", OPERATOR)
    with pytest.raises(GateClosed):
        await gate.send("tx1")
    assert broadcaster.sent == [] and gate.stats.refused == 1


async def test_gate_refuses_while_starting(tmp_path):
    lifecycle = Lifecycle(tmp_path, EventBus())
    gate = SendGate(lifecycle, RecordingBroadcaster())
    with pytest.raises(GateClosed):
        await gate.send("tx1")


async def test_in_flight_sends_are_counted_until_they_complete(tmp_path):
    _, gate, broadcaster = running(tmp_path)
    task = asyncio.create_task(gate.send("tx1"))
    await asyncio.sleep(0)
    assert gate.to_dict()["in_flight"] == 1
    broadcaster.release.set()
    await task
    assert gate.to_dict()["in_flight"] == 0


async def test_kill_between_two_sends_stops_the_second(tmp_path):
    lifecycle, gate, broadcaster = running(tmp_path)
    broadcaster.release.set()
    await gate.send("tx1")
    lifecycle.enter_halt("stop", OPERATOR)
    with pytest.raises(GateClosed):
        await gate.send("tx2")
    assert broadcaster.sent == ["tx1"]
