"""Who may talk to the socket, and how every state change is attributed to its caller.

The socket is 0600 in a 0700 directory; the engine reads the caller's uid from
SO_PEERCRED and writes it, with the reason, into the audit trail and the `state` event.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EngineHandle
from tests.control.conftest import (
    Wire,
    audit_entries,
    ensure_running,
    poll,
    status_of,
)


@pytest.fixture(scope="module")
def audited_engine(module_engine_factory: Callable[..., EngineHandle]) -> EngineHandle:
    return module_engine_factory()


@pytest.fixture
def running(audited_engine: EngineHandle) -> EngineHandle:
    ensure_running(audited_engine)
    return audited_engine


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _entry(engine: EngineHandle, action: str, reason: str) -> dict[str, Any]:
    found = [e for e in audit_entries(engine) if e["action"] == action and e["reason"] == reason]
    assert len(found) == 1, f"expected one {action!r} entry for {reason!r}, got {found}"
    return found[0]


def test_the_socket_is_a_socket_with_mode_0600(running: EngineHandle) -> None:
    assert stat.S_ISSOCK(running.socket.lstat().st_mode)
    assert _mode(running.socket) == 0o600


def test_the_socket_directory_is_mode_0700(running: EngineHandle) -> None:
    assert _mode(running.socket.parent) == 0o700


@pytest.mark.parametrize("action", ["pause", "kill"])
def test_a_state_change_is_audited_with_the_callers_uid_and_reason(
    running: EngineHandle, action: str
) -> None:
    reason = f"permissions: {action} by {os.getpid()}"
    with Wire(running.socket) as wire:
        wire.result(action, {"reason": reason, "client": "pytest-audit"})
        wire.result("resume", {"reason": f"{reason}, undone"})
    entry = _entry(running, action, reason)
    assert entry["uid"] == os.getuid()
    assert entry["client"] == "pytest-audit" and entry["outcome"] == "ok"
    assert _entry(running, "resume", f"{reason}, undone")["uid"] == os.getuid()


def test_a_refused_state_change_is_audited_as_refused(running: EngineHandle) -> None:
    reason = f"permissions: resume while running {os.getpid()}"
    with Wire(running.socket) as wire:
        assert "error" in wire.call("resume", {"reason": reason})
    entry = _entry(running, "resume", reason)
    assert entry["uid"] == os.getuid() and entry["outcome"].startswith("refused")


def test_a_kill_is_followed_by_an_audited_cancellation_of_in_flight_work(
    running: EngineHandle,
) -> None:
    reason = f"permissions: kill then cancel {os.getpid()}"
    with Wire(running.socket) as wire:
        wire.result("kill", {"reason": reason})
    assert poll(
        lambda: any(
            e["action"] == "kill.cancel_in_flight" and e["reason"] == reason
            for e in audit_entries(running)
        )
    )


def test_the_state_event_names_the_actor_uid(running: EngineHandle) -> None:
    reason = f"permissions: state actor {os.getpid()}"
    with Wire(running.socket) as watcher, Wire(running.socket) as actor:
        watcher.result("subscribe", {"topics": ["state"]})
        actor.result("kill", {"reason": reason, "client": "pytest-state"})
        event = watcher.next_event()
    assert event is not None and event["data"]["state"] == "halted"
    assert event["data"]["reason"] == reason
    assert event["data"]["actor"] == {"uid": os.getuid(), "client": "pytest-state"}


def test_the_audit_event_is_pushed_with_the_callers_uid(running: EngineHandle) -> None:
    reason = f"permissions: audit event {os.getpid()}"
    with Wire(running.socket) as watcher, Wire(running.socket) as actor:
        watcher.result("subscribe", {"topics": ["audit"]})
        actor.result("pause", {"reason": reason})
        event = watcher.next_event()
    assert event is not None and event["data"]["action"] == "pause"
    assert event["data"]["uid"] == os.getuid() and event["data"]["reason"] == reason


def test_a_socket_in_a_shared_sticky_directory_leaves_that_directory_alone(
    engine_factory: Callable[..., EngineHandle],
) -> None:
    handle = engine_factory(start=False)
    shared = handle.dir / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # like /tmp: narrowing it would lock every other user out
    handle.config.write_text(handle.config_text)
    sock = shared / "engine.sock"
    result = handle.cli("up", "--config", str(handle.config), "--socket", str(sock), "--json")
    assert result.returncode == 0, result.stderr
    handle.started.append(int(json.loads(result.stdout)["pid"]))
    assert _mode(shared) == 0o1777
    assert _mode(sock) == 0o600


def test_status_reports_the_socket_path(running: EngineHandle) -> None:
    assert status_of(running)["socket"] == str(running.socket)
