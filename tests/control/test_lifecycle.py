"""Engine states and the persisted kill latch."""

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
    lifecycle.kill("stop", OPERATOR)
    with pytest.raises(InvalidTransition):
        lifecycle.pause("too late", OPERATOR)


def test_kill_persists_the_halt_before_returning(tmp_path):
    make(tmp_path).kill("runaway losses", OPERATOR)
    marker = protocol.read_halt_marker(tmp_path)
    assert marker is not None
    assert marker["reason"] == "runaway losses" and marker["uid"] == 1000


def test_an_engine_started_with_a_persisted_halt_comes_up_halted_with_the_reason(tmp_path):
    make(tmp_path).kill("key compromise", OPERATOR)
    restarted = make(tmp_path)
    assert restarted.state == protocol.HALTED
    assert "key compromise" in restarted.reason


def test_resume_clears_the_persisted_halt(tmp_path):
    lifecycle = make(tmp_path)
    lifecycle.kill("drill", OPERATOR)
    lifecycle.resume("drill over", OPERATOR)
    assert protocol.read_halt_marker(tmp_path) is None
    assert make(tmp_path).state == protocol.RUNNING


def test_an_unreadable_halt_marker_still_means_halted(tmp_path):
    (tmp_path / protocol.HALT_FILE).write_text("{not json")
    assert make(tmp_path).state == protocol.HALTED


def test_halt_marker_file_is_private(tmp_path):
    make(tmp_path).kill("x", OPERATOR)
    assert (tmp_path / protocol.HALT_FILE).stat().st_mode & 0o777 == 0o600


def test_every_transition_is_published_with_its_actor(tmp_path):
    bus = EventBus()
    lifecycle = Lifecycle(tmp_path, bus)
    lifecycle.started()
    lifecycle.pause("why", OPERATOR)
    last = bus.recent(["state"])[-1]
    assert last.data["state"] == protocol.PAUSED
    assert last.data["actor"] == {"uid": 1000, "client": "test"}
