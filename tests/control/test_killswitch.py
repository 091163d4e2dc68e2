"""The kill switch service: the gate shuts in memory before any I/O, in-flight work is
cancelled, then the latch is persisted; a latch that cannot be written leaves the engine
halted, says so, and is written by a background retry once the disk lets it.

The file layer is real (a tmp directory); the faults are injected at `os.write`, for
writes into the state directory only, as a full or broken disk would refuse them.
"""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from engine import protocol
from engine.bus import EventBus
from engine.execution.gate import GateClosed, SendGate
from engine.killswitch import KillSwitch
from engine.lifecycle import Actor, InvalidTransition, Lifecycle

OPERATOR = Actor(uid=1000, client="test")
RETRY_S = 0.02


class Broadcaster:
    """Records what reached it, and what the engine looked like when cancel was asked."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self._lifecycle = lifecycle
        self.sent: list[object] = []
        self.cancel_saw_sends_open: list[bool] = []

    async def broadcast(self, payload: object) -> str:
        self.sent.append(payload)
        return f"receipt-{payload}"

    async def cancel_pending(self) -> list[str]:
        self.cancel_saw_sends_open.append(self._lifecycle.accepting_sends)
        return ["0xpending"]


class Audit:
    """The audit seam, recording entries as the real trail would publish them."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def record(
        self,
        actor: Actor,
        action: str,
        reason: str,
        params: dict[str, Any] | None = None,
        outcome: str = "ok",
    ) -> None:
        self.entries.append(
            {"actor": actor, "action": action, "reason": reason, "params": params or {},
             "outcome": outcome}
        )  # fmt: skip

    def actions(self) -> list[str]:
        return [e["action"] for e in self.entries]


class Rig:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.bus = EventBus()
        self.lifecycle = Lifecycle(state_dir, self.bus)
        self.lifecycle.started()
        self.broadcaster = Broadcaster(self.lifecycle)
        self.gate = SendGate(self.lifecycle, self.broadcaster)
        self.audit = Audit()
        self.switch = KillSwitch(
            self.lifecycle, state_dir, self.gate, self.audit, self.bus, retry_s=RETRY_S
        )


class DiskFaults:
    """`os.write` into the state directory fails with the chosen error until healed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, state_dir: Path) -> None:
        self._real = os.write
        self._dir = str(state_dir.resolve())
        self.error: OSError | None = None
        self.refused = 0
        self.state_at_write: list[str] = []
        self.lifecycle: Lifecycle | None = None
        monkeypatch.setattr(os, "write", self._write)

    def _write(self, fd: int, data: bytes) -> int:
        if not self._ours(fd):
            return self._real(fd, data)
        if self.lifecycle is not None:
            self.state_at_write.append(self.lifecycle.state)
        if self.error is not None:
            self.refused += 1
            raise self.error
        return self._real(fd, data)

    def _ours(self, fd: int) -> bool:
        try:
            return os.readlink(f"/proc/self/fd/{fd}").startswith(self._dir)
        except OSError:
            return False

    def fail_with(self, code: int) -> None:
        self.error = OSError(code, os.strerror(code))

    def heal(self) -> None:
        self.error = None


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    made = Rig(tmp_path)
    yield made
    await made.switch.close()


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch, rig: Rig) -> DiskFaults:
    injected = DiskFaults(monkeypatch, rig.state_dir)
    injected.lifecycle = rig.lifecycle
    return injected


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Let the background retry run until `predicate` holds (no timing asserted)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(RETRY_S)
    return predicate()


async def test_kill_on_a_full_disk_halts_in_memory_and_says_the_halt_is_not_persisted(
    rig: Rig, faults: DiskFaults
) -> None:
    faults.fail_with(errno.ENOSPC)
    outcome = (await rig.switch.kill("runaway losses", OPERATOR)).to_dict()
    assert outcome["halted"] is True and outcome["persisted"] is False
    assert "No space left on device" in outcome["persist_error"]
    assert rig.lifecycle.state == protocol.HALTED
    with pytest.raises(GateClosed):
        await rig.gate.send("tx-after-kill")
    assert rig.broadcaster.sent == []
    assert protocol.read_halt_marker(rig.state_dir) is None
    assert rig.switch.to_dict()["persisted"] is False


async def test_the_gate_is_shut_before_the_first_write_and_before_cancelling(
    rig: Rig, faults: DiskFaults
) -> None:
    await rig.switch.kill("ordering", OPERATOR)
    assert await eventually(lambda: rig.broadcaster.cancel_saw_sends_open != [])
    assert faults.state_at_write and set(faults.state_at_write) == {protocol.HALTED}
    assert rig.broadcaster.cancel_saw_sends_open == [False]
    assert "kill.cancel_in_flight" in rig.audit.actions()


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EIO, errno.EACCES, errno.EDQUOT])
async def test_any_write_error_leaves_the_engine_halted(
    rig: Rig, faults: DiskFaults, code: int
) -> None:
    faults.fail_with(code)
    outcome = await rig.switch.kill(f"errno {code}", OPERATOR)
    assert outcome.halted and not outcome.persisted
    assert os.strerror(code) in outcome.persist_error
    assert rig.lifecycle.state == protocol.HALTED and not rig.lifecycle.accepting_sends


async def test_a_failed_persist_publishes_the_latch_and_audits_why(
    rig: Rig, faults: DiskFaults
) -> None:
    faults.fail_with(errno.ENOSPC)
    await rig.switch.kill("disk full", OPERATOR)
    latch = [e.data for e in rig.bus.recent([protocol.TOPIC_LATCH])]
    assert latch[-1]["halted"] is True and latch[-1]["persisted"] is False
    assert "No space left" in latch[-1]["error"]
    kill = next(e for e in rig.audit.entries if e["action"] == "kill")
    assert kill["params"]["persisted"] is False
    assert "NOT persisted" in kill["outcome"] and "No space left" in kill["outcome"]


async def test_the_write_is_retried_until_it_succeeds_then_the_latch_says_persisted(
    rig: Rig, faults: DiskFaults
) -> None:
    faults.fail_with(errno.ENOSPC)
    await rig.switch.kill("disk full, then freed", OPERATOR)
    assert await eventually(lambda: faults.refused >= 3), "the write was not retried"
    faults.heal()
    assert await eventually(lambda: rig.switch.to_dict()["persisted"] is True)
    marker = protocol.read_halt_marker(rig.state_dir)
    assert marker is not None and marker["reason"] == "disk full, then freed"
    assert marker["uid"] == 1000 and marker["source"] == "test"
    assert "kill.persisted" in rig.audit.actions()
    assert rig.bus.recent([protocol.TOPIC_LATCH])[-1].data["persisted"] is True
    assert not (rig.state_dir / "halt.tmp").exists()
    restarted = Lifecycle(rig.state_dir, EventBus())
    restarted.started()
    assert restarted.state == protocol.HALTED


async def test_resume_clears_an_unpersisted_halt_and_stops_the_retries(
    rig: Rig, faults: DiskFaults
) -> None:
    faults.fail_with(errno.ENOSPC)
    await rig.switch.kill("false alarm", OPERATOR)
    await rig.switch.resume("it was a drill", OPERATOR)
    assert rig.lifecycle.state == protocol.RUNNING and rig.lifecycle.halt is None
    assert await eventually(lambda: rig.switch.to_dict()["retrying"] is False)
    faults.heal()
    refused = faults.refused
    assert protocol.read_halt_marker(rig.state_dir) is None
    assert faults.refused == refused
    assert rig.switch.to_dict()["halted"] is False
    assert await rig.gate.send("tx-after-resume") == "receipt-tx-after-resume"


async def test_kill_is_idempotent(rig: Rig) -> None:
    first = await rig.switch.kill("first", OPERATOR)
    second = await rig.switch.kill("second", Actor(uid=7, client="console"))
    assert first.persisted and second.persisted and second.already_halted
    assert rig.lifecycle.halt is not None and rig.lifecycle.halt["reason"] == "first"
    assert protocol.read_halt_marker(rig.state_dir)["reason"] == "first"
    states = [e.data["state"] for e in rig.bus.recent([protocol.TOPIC_STATE])]
    assert states.count(protocol.HALTED) == 1
    assert rig.audit.actions().count("kill") == 2  # the second call is audited too


async def test_kill_while_stopping_is_refused(rig: Rig) -> None:
    rig.lifecycle.stopping("shutting down")
    with pytest.raises(InvalidTransition):
        await rig.switch.kill("too late", OPERATOR)


async def test_a_healthy_disk_persists_the_halt_before_the_answer(rig: Rig) -> None:
    outcome = await rig.switch.kill("runaway losses", OPERATOR)
    assert outcome.to_dict()["persisted"] is True and outcome.persist_error is None
    marker = protocol.read_halt_marker(rig.state_dir)
    assert marker is not None and marker["reason"] == "runaway losses"
    assert (rig.state_dir / protocol.HALT_FILE).stat().st_mode & 0o777 == 0o600
    await rig.switch.resume("over", OPERATOR)
    assert protocol.read_halt_marker(rig.state_dir) is None


async def test_settled_waits_until_the_halt_is_on_disk(rig: Rig, faults: DiskFaults) -> None:
    """What `kill --shutdown` waits for: exiting earlier would lose the latch."""
    faults.fail_with(errno.ENOSPC)
    await rig.switch.kill("stop and exit", OPERATOR)
    waiter = asyncio.create_task(rig.switch.settled())
    assert await eventually(lambda: faults.refused >= 2)
    assert not waiter.done()
    faults.heal()
    await asyncio.wait_for(waiter, 10)
    assert protocol.read_halt_marker(rig.state_dir) is not None
