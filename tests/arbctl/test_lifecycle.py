"""`up` and `down`: one engine per socket, startup failures explained, stops verified."""

from __future__ import annotations

import json
import os
import signal
import socket

from tests.conftest import EngineHandle, wait_until


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[-1].split()[0] == "Z"


def test_up_returns_once_the_engine_answers(engine: EngineHandle) -> None:
    assert engine.cli("status").returncode == 0


def test_second_up_on_the_same_socket_fails_naming_the_pid(engine: EngineHandle) -> None:
    result = engine.cli("up", "--config", str(engine.config))
    assert result.returncode == 4
    assert str(engine.pid) in result.stderr
    assert str(engine.socket) in result.stderr


def test_second_up_json_names_the_running_pid(engine: EngineHandle) -> None:
    result = engine.cli("up", "--config", str(engine.config), "--json")
    assert json.loads(result.stdout)["error"]["pid"] == engine.pid


def test_down_stops_the_engine_within_ten_seconds(engine: EngineHandle) -> None:
    result = engine.cli("down", "--timeout", "10", "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0
    assert (report["stopped"], report["forced"], report["pid"]) == (True, False, engine.pid)
    assert _gone(engine.pid)
    assert engine.cli("status").returncode == 3


def test_down_stops_a_sigstopped_engine(engine: EngineHandle) -> None:
    os.kill(engine.pid, signal.SIGSTOP)
    result = engine.cli("down", "--force", "--timeout", "1", "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0
    assert report["stopped"] is True
    assert wait_until(lambda: _gone(engine.pid))


def test_up_with_an_invalid_config_fails_fast_naming_the_key(engine_factory) -> None:
    handle = engine_factory(start=False)
    handle.config.write_text('[sim]\nblock_ms = "fast"\n')
    result = handle.cli("up", "--config", str(handle.config))
    assert result.returncode == 1
    assert "sim.block_ms" in result.stderr


def test_up_over_a_stale_socket_reports_it_and_starts(engine_factory) -> None:
    handle = engine_factory(start=False)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(handle.socket))
    stale.close()  # the file stays: what a crashed engine leaves behind
    handle.config.write_text(handle.config_text)
    result = handle.cli("up", "--config", str(handle.config), "--json")
    assert result.returncode == 0, result.stderr
    handle.started.append(json.loads(result.stdout)["pid"])
    assert "stale socket" in result.stderr


def test_up_refuses_while_a_frozen_engine_owns_the_socket(engine: EngineHandle) -> None:
    os.kill(engine.pid, signal.SIGSTOP)
    try:
        result = engine.cli("up", "--config", str(engine.config))
    finally:
        os.kill(engine.pid, signal.SIGCONT)
    assert result.returncode == 4
    assert f"pid {engine.pid}" in result.stderr
    assert "not answering" in result.stderr
