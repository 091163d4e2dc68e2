"""Fixtures for the control-plane contract tests: real engines, raw sockets.

The contract is the socket, not the CLI, so these tests speak JSON-RPC over
`socket.socket(AF_UNIX)` themselves (`Wire`). Engines are the real thing, started with
`arbctl up` through `tests/conftest.py`'s `EngineHandle`; the module-scoped factory here
lets a whole file share one engine where a test does not need a fresh one (engine
start-up is the dominant cost of this suite).
"""

from __future__ import annotations

import itertools
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BASE_CONFIG, EngineHandle, new_engine_dir, wait_until

# `debug.flood` publishes synthetic events: the only way to drive the bus hard from outside.
DEBUG_TOML = "[engine]\ndebug_methods = true\n"
REPLY_TIMEOUT_S = 15.0

Message = dict[str, Any]


class Wire:
    """One raw JSON-RPC connection to an engine, exactly as any client sees it.

    Events pushed on the connection while waiting for a reply are kept in `events`, in
    arrival order, so a test can issue calls on a subscribed connection without losing
    what was pushed in between.
    """

    def __init__(self, path: Path, timeout: float = REPLY_TIMEOUT_S) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self._reader = self.sock.makefile("rb")
        self._ids = itertools.count(1)
        self.events: list[Message] = []

    # --- sending ---------------------------------------------------------------------
    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, method: str, params: dict[str, Any] | None = None, notify: bool = False) -> int:
        """Send one request; returns its id (a notification has none: returns 0)."""
        msg: Message = {"jsonrpc": "2.0", "method": method}
        msg_id = 0 if notify else next(self._ids)
        if not notify:
            msg["id"] = msg_id
        if params is not None:
            msg["params"] = params
        self.send_raw(json.dumps(msg).encode() + b"\n")
        return msg_id

    # --- receiving -------------------------------------------------------------------
    def read(self) -> Message | None:
        """The next line, parsed; None once the engine closed the connection.

        A last line without its newline was cut by the engine dropping a stalled
        client mid-write: that is a disconnection, not a malformed message.
        """
        try:
            line = self._reader.readline()
        except ConnectionResetError:
            return None
        if not line.endswith(b"\n"):
            return None
        return json.loads(line)

    def reply(self, msg_id: int) -> Message:
        """Read until the response with `msg_id`, keeping any events pushed meanwhile."""
        while True:
            msg = self.read()
            if msg is None:
                raise ConnectionError("engine closed the connection before replying")
            if msg.get("method") == "event":
                self.events.append(msg["params"])
                continue
            assert msg.get("id") == msg_id, f"reply out of order: {msg}"
            return msg

    def call(self, method: str, params: dict[str, Any] | None = None) -> Message:
        """The full response object (result or error)."""
        return self.reply(self.send(method, params))

    def result(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """The result, failing the test with the error if there was one."""
        response = self.call(method, params)
        assert "result" in response, f"{method} failed: {response}"
        return response["result"]

    def next_event(self) -> Message | None:
        """The next pushed event's params (buffered ones first); None at EOF."""
        if self.events:
            return self.events.pop(0)
        msg = self.read()
        if msg is None:
            return None
        assert msg.get("method") == "event", f"expected an event, got {msg}"
        return msg["params"]

    def close(self) -> None:
        self._reader.close()
        self.sock.close()

    def __enter__(self) -> Wire:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def status_of(engine: EngineHandle) -> Message:
    """`status` on a fresh connection: the question every liveness check asks."""
    with Wire(engine.socket) as wire:
        return wire.result("status")


def wait_for_state(engine: EngineHandle, state: str, timeout: float = 15.0) -> Message:
    """Poll `status` until the engine reports `state`; fail with the last status if not."""
    last: list[Message] = [{}]

    def reached() -> bool:
        last[0] = status_of(engine)
        return last[0]["state"] == state

    assert wait_until(reached, timeout), f"engine never reached {state}: {last[0]}"
    return last[0]


def ensure_running(engine: EngineHandle) -> None:
    """Put a shared engine back to running, whatever an earlier test left it in."""
    status = wait_for_state_not_starting(engine)
    if status["state"] in ("paused", "halted"):
        with Wire(engine.socket) as wire:
            wire.result("resume", {"reason": "test setup: back to running"})
    wait_for_state(engine, "running")


def wait_for_state_not_starting(engine: EngineHandle) -> Message:
    last: list[Message] = [{}]

    def settled() -> bool:
        last[0] = status_of(engine)
        return last[0]["state"] != "starting"

    assert wait_until(settled), f"engine stuck starting: {last[0]}"
    return last[0]


def rss_kb(pid: int) -> int:
    """Resident memory of `pid` from /proc, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def audit_entries(engine: EngineHandle, limit: int = 100) -> list[Message]:
    with Wire(engine.socket) as wire:
        return wire.result("audit", {"limit": limit})["entries"]


def flood(engine: EngineHandle, count: int, topic: str = "bench", **extra: Any) -> Message:
    """Publish `count` synthetic events and wait for the flood to finish."""
    with Wire(engine.socket, timeout=120.0) as wire:
        return wire.result("debug.flood", {"count": count, "topic": topic, **extra})


def poll(predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
    """wait_until, re-exported so tests read one vocabulary."""
    return wait_until(predicate, timeout)


def _start_when_settled(handle: EngineHandle) -> None:
    handle.start()
    wait_for_state_not_starting(handle)


@pytest.fixture(scope="module")
def module_engine_factory() -> Iterator[Callable[..., EngineHandle]]:
    """Like `engine_factory`, but the engines live for the whole test module."""
    handles: list[EngineHandle] = []

    def make(extra_toml: str = "", start: bool = True) -> EngineHandle:
        handle = EngineHandle(dir=new_engine_dir(), config_text=BASE_CONFIG + extra_toml)
        handles.append(handle)
        if start:
            _start_when_settled(handle)
        return handle

    yield make
    for handle in handles:
        handle.cleanup()


@pytest.fixture(scope="module")
def shared_engine(module_engine_factory: Callable[..., EngineHandle]) -> EngineHandle:
    """One engine (debug methods on) shared by a module's read-mostly tests."""
    return module_engine_factory(DEBUG_TOML)
