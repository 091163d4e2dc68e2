"""Engine states, in memory; the persisted latch is read once at start (writing it is
the kill switch's job: tests/control/test_killswitch.py)."""

from __future__ import annotations

import pytest

from engine import protocol
from engine.bus import EventBus
from engine.lifecycle import Actor, InvalidTransition, Lifecycle

OPERATOR = Actor(uid=1000, client="test")


def make(tmp_path) -> Lifecycle:
    lifecycle = Lifecycle(tmp_path, EventBus())
    lifecycle.started()
    return lifecycle


def test_a_fresh_engine_starts_running(tmp_path):
    assert make(tmp_path).state == protocol.RUNNING


def test_pause_then_resume_returns_to_running(tmp_path):
    lifecycle = make(tmp_path)
    lifecycle.pause("looking", OPERATOR)
    assert lifecycle.state == protocol.PAUSED
    lifecycle.resume("done", OPERATOR)
    assert lifecycle.state == protocol.RUNNING


def test_resume_while_running_is_refused(tmp_path):
    with pytest.raises(InvalidTransition):
        make(tmp_path).resume("nothing to resume", OPERATOR)


def test_pause_while_halted_is_refused(tmp_path):
    lifecycle = make(tmp_path)
    lifecycle.enter_halt("stop", OPERATOR)
    with pytest.raises(InvalidTransition):
        lifecycle.pause("too late", OPERATOR)


def test_entering_a_halt_is_in_memory_only_and_latches_the_first_reason(tmp_path):
    lifecycle = make(tmp_path)
    assert lifecycle.enter_halt("runaway losses", OPERATOR) is True
    assert lifecycle.state == protocol.HALTED and not lifecycle.accepting_sends
    assert lifecycle.enter_halt("again", OPERATOR) is False
    assert lifecycle.halt is not None and lifecycle.halt["reason"] == "runaway losses"
    assert lifecycle.halt["uid"] == 1000 and lifecycle.halt["source"] == "test"
    assert protocol.read_halt_marker(tmp_path) is None


def test_an_engine_started_with_a_persisted_halt_comes_up_halted_with_the_reason(tmp_path):
    protocol.write_halt_marker(tmp_path, "key compromise", 1000, "test")
    restarted = make(tmp_path)
    assert restarted.state == protocol.HALTED
    assert "key compromise" in restarted.reason


def test_resume_clears_the_halt_in_memory(tmp_path):
    lifecycle = make(tmp_path)
    lifecycle.enter_halt("drill", OPERATOR)
    lifecycle.resume("drill over", OPERATOR)
    assert lifecycle.state == protocol.RUNNING and lifecycle.halt is None


def test_kill_while_stopping_is_refused(tmp_path):
    lifecycle = make(tmp_path)
    lifecycle.stopping("bye")
    with pytest.raises(InvalidTransition):
        lifecycle.enter_halt("too late", OPERATOR)


def test_an_unreadable_halt_marker_still_means_halted(tmp_path):
    (tmp_path / protocol.HALT_FILE).write_text("{not json")
    assert make(tmp_path).state == protocol.HALTED


def test_halt_marker_file_is_private(tmp_path):
    protocol.write_halt_marker(tmp_path, "x", 1000, "test")
    assert (tmp_path / protocol.HALT_FILE).stat().st_mode & 0o777 == 0o600


def test_a_halt_marker_is_written_into_a_state_dir_that_does_not_exist_yet(tmp_path):
    state_dir = tmp_path / "not" / "yet"
    protocol.write_halt_marker(state_dir, "x", 1000, "test")
    assert state_dir.stat().st_mode & 0o777 == 0o700
    marker = protocol.read_halt_marker(state_dir)
    assert marker is not None and marker["reason"] == "x"


def test_every_transition_is_published_with_its_actor(tmp_path):
    bus = EventBus()
    lifecycle = Lifecycle(tmp_path, bus)
    lifecycle.started()
    lifecycle.pause("why", OPERATOR)
    last = bus.recent(["state"])[-1]
    assert last.data["state"] == protocol.PAUSED
    assert last.data["actor"] == {"uid": 1000, "client": "test"}
