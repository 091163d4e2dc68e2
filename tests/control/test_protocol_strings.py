"""Strings and numbers are checked at the protocol boundary, through a real engine socket.

A lone surrogate ("\\ud800" in the JSON) is valid JSON but not valid Unicode: no
database can store it. Accepted as a `pause` reason it wedged the SQLite ledger (every
write failed, ~27 times a second, and nothing traded). So every string a client sends is
refused with -32602 naming the field when it is not valid Unicode, when a one-line field
holds a control character, or when it is absurdly long; and a number too large for what
it stands for is -32602 too, never an internal error.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import pytest

from engine import protocol
from tests.conftest import EngineHandle, wait_until
from tests.control.conftest import Wire, ensure_running, status_of

SURROGATE = "\ud800"


def raw_call(wire: Wire, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Send exactly what a client would put on the wire: json.dumps escapes a lone
    surrogate as the six characters \\ud800, which the engine's parser turns back into one."""
    line = json.dumps({"jsonrpc": "2.0", "id": 7, "method": method, "params": params})
    wire.send_raw(line.encode() + b"\n")
    return wire.reply(7)


def test_a_pause_whose_reason_is_a_lone_surrogate_is_refused_and_the_ledger_stays_healthy(
    engine: EngineHandle,
) -> None:
    ensure_running(engine)
    with Wire(engine.socket) as wire:
        answer = raw_call(wire, "pause", {"reason": SURROGATE})
        wire.call("pause", {"reason": "after the bad one"})  # must reach the ledger

    def ledger_writes() -> bool:
        ledger = status_of(engine)["ledger"]
        return ledger["ok"] and ledger["pending"] == 0 and ledger["error"] == ""

    healthy = wait_until(ledger_writes, 15.0)
    assert answer.get("error", {}).get("code") == protocol.INVALID_PARAMS, answer
    assert "reason" in answer["error"]["message"]
    assert healthy, json.dumps(status_of(engine)["ledger"])
    with Wire(engine.socket) as wire:
        entries = wire.result("audit", {"limit": 5})["entries"]
    assert entries[0]["reason"] == "after the bad one"


# (method, params without the bad field, the bad field)
STRING_FIELDS = [
    ("pause", {}, "reason"),
    ("resume", {}, "reason"),
    ("shutdown", {}, "reason"),
    ("breaker.reset", {}, "reason"),
    ("failover", {"reason": "r"}, "name"),
    ("failover", {}, "reason"),
    ("providers.mark", {"reason": "r", "online": True}, "name"),
    ("db.cleanup", {"before": 1.0}, "reason"),
    ("db.backup", {}, "path"),
    ("trade", {}, "id"),
    ("pnl", {}, "period"),
    ("export.trades", {}, "period"),
    ("status", {}, "client"),
    ("debug.flood", {"count": 1}, "topic"),
]
BAD_VALUES: dict[str, Callable[[str], Any]] = {
    "lone_surrogate": lambda field: f"ok{SURROGATE}" if field != "path" else f"/tmp/{SURROGATE}",
    "control_character": lambda field: "line\none" if field != "path" else "/tmp/a\x07b",
    "absurd_length": lambda field: "x" * 100_000 if field != "path" else "/" + "x" * 100_000,
}


@pytest.mark.parametrize("kind", list(BAD_VALUES))
@pytest.mark.parametrize(
    ("method", "params", "field"), STRING_FIELDS, ids=[f"{m}.{f}" for m, _, f in STRING_FIELDS]
)
def test_every_string_parameter_is_refused_naming_it_when_it_is_not_one_clean_line(
    shared_engine: EngineHandle, method: str, params: dict[str, Any], field: str, kind: str
) -> None:
    ensure_running(shared_engine)
    with Wire(shared_engine.socket) as wire:
        answer = raw_call(wire, method, {**params, field: BAD_VALUES[kind](field)})
    assert answer.get("error", {}).get("code") == protocol.INVALID_PARAMS, answer
    assert f'"{field}"' in answer["error"]["message"]
    assert len(answer["error"]["message"]) < 500  # the bad value is not echoed back whole
    assert status_of(shared_engine)["state"] == "running"


@pytest.mark.parametrize("kind", list(BAD_VALUES))
def test_a_kill_whose_text_is_not_one_clean_line_still_halts_with_the_text_cleaned(
    engine: EngineHandle, kind: str
) -> None:
    """The halt matters more than its words: the kill switch works whatever it is sent."""
    ensure_running(engine)
    reason = BAD_VALUES[kind]("reason")
    with Wire(engine.socket) as wire:
        answer = raw_call(wire, "kill", {"reason": reason, "client": f"bad\n{SURROGATE}"})
        assert "error" not in answer, answer
        assert wire.result("status")["state"] == "halted"
        entry = wire.result("audit", {"limit": 5})["entries"][0]
    assert entry["action"] == "kill"
    assert entry["reason"] == protocol.clean_line(reason, 500)
    assert entry["client"] == "bad \ufffd"
    assert status_of(engine)["ledger"]["ok"]


def test_a_kill_with_a_malformed_shutdown_flag_halts_without_shutting_down(
    engine: EngineHandle,
) -> None:
    ensure_running(engine)
    with Wire(engine.socket) as wire:
        answer = raw_call(wire, "kill", {"reason": "drill", "shutdown": "yes"})
        assert "error" not in answer and answer["result"]["state"] == "halted", answer
        assert answer["result"]["shutdown"] is False
    assert status_of(engine)["state"] == "halted"  # still up, still answering


@pytest.mark.parametrize("method", ["subscribe", "events.recent"])
def test_topics_that_are_not_clean_names_are_refused(
    shared_engine: EngineHandle, method: str
) -> None:
    with Wire(shared_engine.socket) as wire:
        answer = raw_call(wire, method, {"topics": ["trade", SURROGATE]})
    assert answer["error"]["code"] == protocol.INVALID_PARAMS and "topics" in str(answer)


def test_a_lone_surrogate_anywhere_in_params_is_refused_naming_where(
    shared_engine: EngineHandle,
) -> None:
    """Even where a method reads no such parameter: no part may ever see it."""
    with Wire(shared_engine.socket) as wire:
        answer = raw_call(wire, "ping", {"note": {"deep": ["fine", f"x{SURROGATE}"]}})
    assert answer.get("error", {}).get("code") == protocol.INVALID_PARAMS, answer
    assert "note" in answer["error"]["message"]


HUGE = int("9" * 4000)


@pytest.mark.parametrize(
    ("method", "field"),
    [
        ("audit", "since"),
        ("trades", "since"),
        ("guards", "since"),
        ("events.recent", "since_seq"),
        ("subscribe", "since_seq"),
        ("trades", "limit"),
    ],
)
def test_a_four_thousand_digit_integer_is_invalid_params_not_an_internal_error(
    shared_engine: EngineHandle, method: str, field: str
) -> None:
    with Wire(shared_engine.socket) as wire:
        wire.send_raw(b'{"jsonrpc":"2.0","id":1,"method":"%s","params":{"%s":%s}}\n' % (
            method.encode(), field.encode(), str(HUGE).encode()))  # fmt: skip
        answer = wire.reply(1)
    assert answer.get("error", {}).get("code") == protocol.INVALID_PARAMS, str(answer)[:300]
    assert f'"{field}"' in answer["error"]["message"]
    assert "Traceback" not in shared_engine.log.read_text()[-20_000:]


def test_five_hundred_simultaneous_connects_are_all_served(shared_engine: EngineHandle) -> None:
    """Every connection is made before the engine has a chance to accept any: only a
    listen backlog as deep as the burst keeps the kernel from refusing some of them."""
    clients, refused = [], 0
    for _ in range(500):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            sock.connect(str(shared_engine.socket))
        except (BlockingIOError, ConnectionRefusedError, ConnectionResetError):
            refused += 1
            sock.close()
            continue
        clients.append(sock)
    try:
        assert refused == 0, f"{refused} of 500 connects refused"
        for sock in clients:
            sock.setblocking(True)
            sock.settimeout(30.0)
            sock.sendall(b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n')
        answered = sum(1 for sock in clients if b'"pong":true' in _line(sock))
        assert answered == 500
    finally:
        for sock in clients:
            sock.close()


def _line(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data
