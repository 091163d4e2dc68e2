"""Kill on a full disk: a real engine on the sim venue whose state directory is a small
tmpfs, filled after start. The kill must still halt (the gate shuts in memory before
any write), say the halt is not persisted and why, be CRITICAL in `health` with a P0
alert, and persist the latch by itself once space is freed, so a restart comes back
halted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from engine.market.sim.venue import CANCELLED_BY_KILL
from tests.conftest import EngineHandle
from tests.control.conftest import Wire, poll, status_of, wait_for_state
from tests.fulldisk import SmallDisk, small_tmpfs

BLOCKS_TO_WATCH = 20
REASON = "full disk drill"


@pytest.fixture
def engine_on_small_disk(engine_factory: Any) -> Iterator[tuple[EngineHandle, SmallDisk]]:
    engine: EngineHandle = engine_factory(start=False)
    with small_tmpfs(engine.state_dir) as disk:
        try:
            yield engine, disk
        finally:
            disk.free()
            engine.cleanup()  # stopped before the disk goes away


def _trades_after(wire: Wire, since: float) -> list[dict[str, Any]]:
    """Trade events published after `since`, while the chain makes BLOCKS_TO_WATCH blocks."""
    trades, blocks = [], 0
    while blocks < BLOCKS_TO_WATCH:
        event = wire.next_event()
        assert event is not None, "the engine closed the connection"
        if event["topic"] == "block":
            blocks += 1
        elif event["topic"] == "trade" and event["ts"] > since:
            trades.append(event["data"])
    return trades


def _check(health: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in health["checks"] if c["name"] == name)


def _active_alerts(engine: EngineHandle) -> list[dict[str, Any]]:
    with Wire(engine.socket) as wire:
        return wire.result("alerts")["active"]


def test_kill_on_a_full_disk_halts_says_so_and_persists_once_space_is_freed(
    engine_on_small_disk: tuple[EngineHandle, SmallDisk],
) -> None:
    engine, disk = engine_on_small_disk
    engine.start()
    wait_for_state(engine, "running")
    assert poll(lambda: status_of(engine)["gate"]["sent"] > 0, 30), "the sim never traded"
    assert disk.fill() > 0

    with Wire(engine.socket) as wire:
        wire.result("subscribe", {"topics": ["trade", "block"]})
        ack = wire.result("kill", {"reason": REASON})
        assert ack["halted"] is True and ack["persisted"] is False, ack
        assert "No space left on device" in ack["persist_error"]
        assert ack["state"] == "halted"
        late = _trades_after(wire, ack["acknowledged_at"])
    assert all(t["revert_reason"] == CANCELLED_BY_KILL for t in late), late

    status = status_of(engine)
    assert status["state"] == "halted"
    assert status["halt"]["persisted"] is False
    assert "No space left on device" in status["halt"]["persist_error"]
    with Wire(engine.socket) as wire:
        health = wire.result("health")
    assert health["status"] == "CRITICAL"
    assert _check(health, "halt_latch")["status"] == "CRITICAL"
    assert "No space left on device" in _check(health, "halt_latch")["detail"]
    assert poll(
        lambda: any(
            a["rule"] == "halt_not_persisted" and a["severity"] == "P0"
            for a in _active_alerts(engine)
        )
    ), _active_alerts(engine)
    assert not (engine.state_dir / "halt.json").exists()

    disk.free()
    assert poll(lambda: status_of(engine)["halt"]["persisted"] is True, 30)
    assert (engine.state_dir / "halt.json").exists()
    with Wire(engine.socket) as wire:
        audit = wire.result("events.recent", {"topics": ["audit"]})["events"]
        assert _check(wire.result("health"), "halt_latch")["status"] == "OK"
    assert any(e["data"]["action"] == "kill.persisted" for e in audit)

    engine.stop()
    engine.start()
    restarted = wait_for_state(engine, "halted")
    assert restarted["halt"]["reason"] == REASON
    assert restarted["halt"]["persisted"] is True


def test_resume_on_a_full_disk_clears_the_unpersisted_halt_and_trading_goes_on(
    engine_on_small_disk: tuple[EngineHandle, SmallDisk],
) -> None:
    engine, disk = engine_on_small_disk
    engine.start()
    wait_for_state(engine, "running")
    disk.fill()
    with Wire(engine.socket) as wire:
        assert wire.result("kill", {"reason": REASON})["persisted"] is False
        resumed = wire.result("resume", {"reason": "false alarm"})
    assert resumed["state"] == "running" and resumed["halt"] is None
    sent = status_of(engine)["gate"]["sent"]
    assert poll(lambda: status_of(engine)["gate"]["sent"] > sent, 30)
    with Wire(engine.socket) as wire:
        assert _check(wire.result("health"), "halt_latch")["status"] == "OK"
    disk.free()
    engine.stop()
    engine.start()
    assert wait_for_state(engine, "running")["halt"] is None


def test_the_cli_says_a_halt_held_only_in_memory_and_never_sigkills_that_engine(
    engine_on_small_disk: tuple[EngineHandle, SmallDisk],
) -> None:
    engine, disk = engine_on_small_disk
    engine.start()
    wait_for_state(engine, "running")
    disk.fill()

    done = engine.cli("kill", "--shutdown", "--grace", "1", "--reason", REASON, "--json")
    answer = json.loads(done.stdout)
    assert done.returncode == 1, done.stdout
    assert answer["halted"] is True and answer["persisted"] is False
    assert any(s["step"] == "persist" and not s["ok"] for s in answer["steps"]), answer
    assert not any(s["step"] == "sigkill" for s in answer["steps"]), answer
    assert status_of(engine)["state"] == "halted"  # alive, holding the halt in memory

    human = engine.cli("kill", "--reason", REASON)
    assert human.returncode == 1 and "HALTED IN MEMORY ONLY" in human.stdout, human.stdout

    # Space back: the engine writes the halt, then honours the pending --shutdown.
    disk.free()
    assert poll(lambda: (engine.state_dir / "halt.json").exists(), 30)
    assert poll(lambda: not engine.socket.exists(), 30), "the engine did not shut down"
    engine.stop()
    engine.start()
    assert wait_for_state(engine, "halted")["halt"]["reason"] == REASON
