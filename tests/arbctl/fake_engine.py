"""A throwaway line-JSON server for testing client logic the real engine cannot fake.

It answers each request with whatever `respond(request)` returns: a list of raw
messages to send (responses, pushed events), `None` to stay silent (a frozen engine),
or "close" to hang up. Runs in a thread; one connection at a time is plenty.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

Responder = Callable[[dict[str, Any]], list[dict[str, Any]] | str | None]


class FakeEngine:
    def __init__(self, path: Path, respond: Responder) -> None:
        self.path = path
        self.respond = respond
        self.requests: list[dict[str, Any]] = []
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        self._server.listen(8)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> FakeEngine:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with conn:
                self._handle(conn)

    def _handle(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        for line in reader:
            request = json.loads(line)
            self.requests.append(request)
            answer = self.respond(request)
            if answer == "close":
                return
            if answer is None:
                self._stop.wait(30)  # frozen: hold the connection, say nothing
                return
            assert isinstance(answer, list)
            conn.sendall(b"".join(json.dumps(m).encode() + b"\n" for m in answer))


def result(request: dict[str, Any], value: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request["id"], "result": value}


def error(request: dict[str, Any], code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request["id"], "error": {"code": code, "message": message}}


def event(topic: str, seq: int, data: Any = None) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "method": "event",
        "params": {"topic": topic, "seq": seq, "ts": 0.0, "data": data},
    }
