"""The CLI's and the console's clients are one client: same framing, same errors."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from arbctl.client import Client, EngineUnreachable, RpcError
from arbctl.client.aio import AsyncClient
from engine.errors import ArbctlError
from screens import connection


def _serve_one_error_per_connection(path: Path, stop: threading.Event) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen()
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                request = json.loads(conn.makefile("rb").readline())
                event = {"jsonrpc": "2.0", "method": "event", "params": {"topic": "x", "seq": 1}}
                error = {"code": -32602, "message": "reason: too long"}
                answer = {"jsonrpc": "2.0", "id": request["id"], "error": error}
                conn.sendall((json.dumps(event) + "\n" + json.dumps(answer) + "\n").encode())


@pytest.fixture
def refusing_engine(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "engine.sock"
    stop = threading.Event()
    thread = threading.Thread(target=_serve_one_error_per_connection, args=(path, stop))
    thread.start()
    while not path.exists():
        time.sleep(0.01)
    yield path
    stop.set()
    thread.join()


def test_both_clients_raise_the_same_rpc_error_after_skipping_pushed_events(
    refusing_engine: Path,
) -> None:
    with pytest.raises(RpcError) as sync_error:
        Client(refusing_engine).call("pause", {"reason": "x"})
    with pytest.raises(RpcError) as async_error:
        asyncio.run(AsyncClient(refusing_engine).call("pause", {"reason": "x"}))
    assert sync_error.value.to_dict() == async_error.value.to_dict()
    assert sync_error.value.name == "invalid_params"


def test_both_clients_phrase_a_missing_socket_the_same_way(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.sock"
    with pytest.raises(EngineUnreachable) as sync_error:
        Client(missing).call("status")
    with pytest.raises(EngineUnreachable) as async_error:
        asyncio.run(AsyncClient(missing).call("status"))
    assert sync_error.value.kind == async_error.value.kind == "no_socket"
    assert str(sync_error.value) == str(async_error.value)


def test_the_console_uses_the_clients_errors_and_every_one_is_an_arbctl_error() -> None:
    assert connection.EngineUnreachable is EngineUnreachable
    assert connection.RpcError is RpcError
    assert issubclass(EngineUnreachable, ArbctlError) and issubclass(RpcError, ArbctlError)
