"""With no engine on the socket: exit 3 (health: UNKNOWN), and say which socket."""

from __future__ import annotations

import json
import socket

import pytest

from tests.conftest import EngineHandle


def test_status_exits_3_naming_the_socket(no_engine: EngineHandle) -> None:
    result = no_engine.cli("status")
    assert result.returncode == 3
    assert str(no_engine.socket) in result.stderr


def test_status_json_reports_unreachable_as_a_json_error(no_engine: EngineHandle) -> None:
    result = no_engine.cli("status", "--json")
    error = json.loads(result.stdout)["error"]
    assert result.returncode == 3
    assert (error["kind"], error["reason"]) == ("unreachable", "no_socket")
    assert error["socket"] == str(no_engine.socket)


def test_health_is_unknown_with_exit_3(no_engine: EngineHandle) -> None:
    result = no_engine.cli("health", "--json")
    assert result.returncode == 3
    assert json.loads(result.stdout)["status"] == "UNKNOWN"


def test_stale_socket_file_is_reported_as_refused(no_engine: EngineHandle) -> None:
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(no_engine.socket))
    try:
        result = no_engine.cli("status", "--json")
    finally:
        stale.close()
    assert result.returncode == 3
    assert json.loads(result.stdout)["error"]["reason"] == "refused"


@pytest.mark.parametrize(
    "argv",
    [
        ["pause", "-r", "x"],
        ["resume", "-r", "x"],
        ["audit"],
        ["events"],
        ["pnl"],
        ["trades"],
        ["trade", "some-id"],
        ["opportunities"],
        ["config", "show"],
    ],
    ids=" ".join,
)
def test_engine_commands_exit_3_when_unreachable(no_engine: EngineHandle, argv: list[str]) -> None:
    assert no_engine.cli(*argv).returncode == 3


def test_down_with_nothing_running_succeeds_and_says_so(no_engine: EngineHandle) -> None:
    result = no_engine.cli("down")
    assert result.returncode == 0
    assert "no engine running" in result.stdout
