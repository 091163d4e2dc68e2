"""docs/protocol.md, checked line by line against a real engine over a raw socket.

Every method answers with the fields the document lists; every error code is produced
by the input the document says produces it; framing (notifications, several requests
on one stream, the line limit) behaves as written.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
from typing import Any

import pytest

from engine import protocol
from tests.conftest import EngineHandle
from tests.control.conftest import Wire, ensure_running, flood, poll, status_of, wait_for_state

STATUS_FIELDS = {
    "state", "reason", "since", "halt", "pid", "started_at", "uptime_s", "socket",
    "state_dir", "config_source", "version", "loop_latency_ms", "avg_loop_latency_ms",
    "last_seq", "subscribers", "clients", "gate", "ledger", "venue", "chain", "block",
    "head_age_s", "gas_price", "cycles", "blocks_seen", "opportunities_seen",
    "trades_booked", "in_flight", "decision_ms",
}  # fmt: skip
GATE_FIELDS = {"sent", "refused", "in_flight", "last_refusal", "last_refusal_at"}
LEDGER_FIELDS = {"backend", "ok", "pending", "written", "error"}
LIFECYCLE_FIELDS = {"state", "reason", "since", "halt"}
KILL_FIELDS = {"state", "halt", "acknowledged_at", "cancellation", "shutdown"}
AUDIT_FIELDS = {"id", "ts", "uid", "client", "action", "reason", "params", "outcome"}
EVENT_FIELDS = {"topic", "seq", "ts", "data"}
PNL_FIELDS = {
    "period", "since", "until", "total_trades", "successful_trades", "reverted_trades",
    "failed_trades", "success_rate", "gross_profit_quote", "gas_cost_wei", "gas_cost_quote",
    "flash_fee_quote", "net_profit_native", "net_profit_quote", "by_token",
}  # fmt: skip

# (method, params, the result's documented top-level fields)
READ_METHODS: list[tuple[str, dict[str, Any], set[str]]] = [
    ("ping", {}, {"pong", "ts"}),
    ("status", {}, STATUS_FIELDS),
    ("health", {}, {"status", "checks"}),
    ("events.recent", {"limit": 5}, {"events", "last_seq"}),
    ("audit", {"limit": 5}, {"entries"}),
    ("config.show", {}, {"source", "config"}),
    ("opportunities", {"limit": 5}, {"opportunities"}),
    ("trades", {"limit": 5}, {"trades"}),
    ("pnl", {"period": "all"}, PNL_FIELDS),
]


@pytest.fixture
def engine_up(shared_engine: EngineHandle) -> EngineHandle:
    """The module's engine, running (a previous test may have paused or halted it)."""
    ensure_running(shared_engine)
    return shared_engine


def _error_code(response: dict[str, Any]) -> int:
    assert "error" in response and "result" not in response, response
    assert isinstance(response["error"]["message"], str) and response["error"]["message"]
    return response["error"]["code"]


def _raw_reply(wire: Wire, line: bytes) -> dict[str, Any]:
    wire.send_raw(line)
    reply = wire.read()
    assert reply is not None, f"no reply to {line!r}"
    assert reply["jsonrpc"] == "2.0"
    return reply


# --- methods and their documented fields -------------------------------------------------
@pytest.mark.parametrize(
    ("method", "params", "fields"), READ_METHODS, ids=[m[0] for m in READ_METHODS]
)
def test_read_method_answers_with_the_documented_fields(
    engine_up: EngineHandle, method: str, params: dict[str, Any], fields: set[str]
) -> None:
    with Wire(engine_up.socket) as wire:
        response = wire.call(method, params)
    assert response["jsonrpc"] == "2.0" and response["id"] == 1
    assert fields <= set(response["result"]), fields - set(response["result"])


def test_status_nests_gate_and_ledger_with_their_documented_fields(engine_up: EngineHandle) -> None:
    status = status_of(engine_up)
    assert set(status["gate"]) >= GATE_FIELDS
    assert set(status["ledger"]) >= LEDGER_FIELDS
    assert status["state"] in protocol.STATES and status["socket"] == str(engine_up.socket)


def test_ping_says_pong(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as wire:
        assert wire.result("ping")["pong"] is True


def test_health_reports_a_monitoring_status_and_named_checks(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as wire:
        health = wire.result("health")
    assert health["status"] in ("OK", "WARNING", "CRITICAL")
    assert health["checks"] and all(
        {"name", "status", "detail"} <= set(c) for c in health["checks"]
    )


def test_events_recent_returns_events_with_seq_topic_ts_data(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as wire:
        events = wire.result("events.recent", {"limit": 20})["events"]
    assert events and all(set(e) == EVENT_FIELDS for e in events)
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_pause_and_resume_answer_with_the_lifecycle(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as wire:
        paused = wire.result("pause", {"reason": "conformance: pause"})
        resumed = wire.result("resume", {"reason": "conformance: resume"})
    assert set(paused) == LIFECYCLE_FIELDS and paused["state"] == "paused"
    assert paused["reason"] == "conformance: pause"
    assert set(resumed) == LIFECYCLE_FIELDS and resumed["state"] == "running"


def test_kill_answers_with_the_persisted_halt_and_acknowledgement(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as wire:
        killed = wire.result("kill", {"reason": "conformance: kill"})
        wire.result("resume", {"reason": "conformance: after kill"})
    assert set(killed) >= KILL_FIELDS
    assert killed["state"] == "halted" and killed["shutdown"] is False
    assert killed["halt"]["reason"] == "conformance: kill"
    assert isinstance(killed["acknowledged_at"], float)


def test_kill_is_idempotent(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as wire:
        first = wire.result("kill", {"reason": "conformance: first kill"})
        second = wire.result("kill", {"reason": "conformance: second kill"})
        wire.result("resume", {"reason": "conformance: after two kills"})
    assert first["state"] == second["state"] == "halted"


def test_audit_entries_carry_the_documented_fields(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as wire:
        wire.result("pause", {"reason": "conformance: audited"})
        wire.result("resume", {"reason": "conformance: audited back"})
        entries = wire.result("audit", {"limit": 10})["entries"]
    assert entries and all(set(e) == AUDIT_FIELDS for e in entries)


def test_trade_returns_one_trade_by_id(engine_up: EngineHandle) -> None:
    def has_trade() -> bool:
        with Wire(engine_up.socket) as wire:
            return bool(wire.result("trades", {"limit": 1})["trades"])

    assert poll(has_trade, 30), "the sim market booked no trade"
    with Wire(engine_up.socket) as wire:
        listed = wire.result("trades", {"limit": 1})["trades"][0]
        one = wire.result("trade", {"id": listed["id"]})
    assert one["id"] == listed["id"]


def test_subscribe_answers_with_a_subscription_then_pushes_events(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as wire:
        sub = wire.result("subscribe", {"topics": ["block"]})
        event = wire.next_event()
    assert isinstance(sub["subscription"], int) and isinstance(sub["last_seq"], int)
    assert event is not None and set(event) == EVENT_FIELDS and event["topic"] == "block"
    assert {"number", "timestamp", "base_fee", "changed_pools", "provider"} <= set(event["data"])


def test_unsubscribe_answers_and_stops_the_pushes(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as wire:
        sub_id = wire.result("subscribe", {"topics": ["block"]})["subscription"]
        gone = wire.result("unsubscribe", {"subscription": sub_id})
        wire.events.clear()
        wire.result("ping")  # anything pushed after the unsubscribe reply would show here
        after = list(wire.events)
    assert gone == {"unsubscribed": sub_id}
    assert after == []


def test_state_event_names_state_previous_reason_and_actor(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as watcher, Wire(engine_up.socket) as actor:
        watcher.result("subscribe", {"topics": ["state"]})
        actor.result("pause", {"reason": "conformance: state event", "client": "pytest"})
        actor.result("resume", {"reason": "conformance: state event back"})
        event = watcher.next_event()
    assert event is not None and event["topic"] == "state"
    assert event["data"]["state"] == "paused" and event["data"]["previous"] == "running"
    assert event["data"]["reason"] == "conformance: state event"
    assert event["data"]["actor"] == {"uid": os.getuid(), "client": "pytest"}


def test_heartbeat_event_carries_loop_latency_and_state(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as wire:
        wire.result("subscribe", {"topics": ["heartbeat"]})
        event = wire.next_event()
    assert event is not None
    fields = {"loop_latency_ms", "avg_loop_latency_ms", "events_per_s", "state", "block"}
    assert fields <= set(event["data"])


def test_shutdown_answers_ok_then_the_engine_stops(engine: EngineHandle) -> None:
    wait_for_state(engine, "running")
    with Wire(engine.socket) as wire:
        answer = wire.result("shutdown", {"reason": "conformance: shutdown"})
    assert answer["ok"] is True and "state" in answer
    assert poll(lambda: not engine.socket.exists(), 15)


# --- error codes ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "line",
    [b"not json\n", b'{"jsonrpc": "2.0", "id": 1,\n', b"\xff\xfe\xfd\n", b"{'a': 1}\n"],
    ids=["words", "truncated", "not-utf8", "single-quotes"],
)
def test_a_line_that_is_not_json_is_a_parse_error(engine_up: EngineHandle, line: bytes) -> None:
    with Wire(engine_up.socket) as wire:
        reply = _raw_reply(wire, line)
    assert _error_code(reply) == protocol.PARSE_ERROR and reply["id"] is None


def test_deeply_nested_json_is_a_parse_error_not_an_internal_error(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as wire:
        reply = _raw_reply(wire, b"[" * 100_000 + b"]" * 100_000 + b"\n")
    assert _error_code(reply) == protocol.PARSE_ERROR


@pytest.mark.parametrize(
    "request_obj",
    [
        [1, 2, 3],
        "status",
        42,
        {"id": 1, "method": "status"},
        {"jsonrpc": "1.0", "id": 1, "method": "status"},
        {"jsonrpc": "2.0", "id": 1, "method": 7},
        {"jsonrpc": "2.0", "id": 1},
        {"jsonrpc": "2.0", "id": True, "method": "status"},
        {"jsonrpc": "2.0", "id": 1.5, "method": "status"},
        {"jsonrpc": "2.0", "id": [1], "method": "status"},
        {"jsonrpc": "2.0", "id": {"n": 1}, "method": "status"},
    ],
    ids=[
        "array", "string", "number", "missing-jsonrpc", "wrong-jsonrpc", "method-not-string",
        "no-method", "id-bool", "id-float", "id-array", "id-object",
    ],
)  # fmt: skip
def test_a_malformed_request_is_an_invalid_request(
    engine_up: EngineHandle, request_obj: Any
) -> None:
    with Wire(engine_up.socket) as wire:
        reply = _raw_reply(wire, json.dumps(request_obj).encode() + b"\n")
    assert _error_code(reply) == protocol.INVALID_REQUEST


def test_an_unknown_method_is_method_not_found_and_lists_the_known_ones(
    engine_up: EngineHandle,
) -> None:
    with Wire(engine_up.socket) as wire:
        reply = wire.call("no.such.method")
    assert _error_code(reply) == protocol.METHOD_NOT_FOUND and reply["id"] == 1
    assert "status" in reply["error"]["message"] and "subscribe" in reply["error"]["message"]


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("pause", {}),
        ("pause", {"reason": ""}),
        ("pause", {"reason": "   "}),
        ("pause", {"reason": 5}),
        ("resume", {}),
        ("kill", {}),
        ("kill", {"reason": None}),
        ("shutdown", {}),
        ("events.recent", {"limit": "10"}),
        ("events.recent", {"topics": "block"}),
        ("events.recent", {"since_seq": 1.5}),
        ("audit", {"limit": True}),
        ("audit", {"since": "yesterday"}),
        ("trades", {"failed": 1}),
        ("trades", {"limit": -1}),
        ("trade", {}),
        ("trade", {"id": 12}),
        ("pnl", {"period": "fortnight"}),
        ("opportunities", {"limit": []}),
        ("subscribe", {"topics": "block"}),
        ("subscribe", {"topics": [1, 2]}),
        ("subscribe", {"since_seq": "0"}),
        ("subscribe", {"since_seq": False}),
        ("unsubscribe", {"subscription": "1"}),
        ("unsubscribe", {"subscription": True}),
        ("unsubscribe", {"subscription": 999_999}),
    ],
    ids=lambda v: v if isinstance(v, str) else json.dumps(v),
)
def test_wrong_or_missing_params_are_invalid_params(
    engine_up: EngineHandle, method: str, params: dict[str, Any]
) -> None:
    with Wire(engine_up.socket) as wire:
        reply = wire.call(method, params)
    assert _error_code(reply) == protocol.INVALID_PARAMS and reply["id"] == 1


def test_params_that_are_not_an_object_are_invalid_params_with_the_request_id(
    engine_up: EngineHandle,
) -> None:
    with Wire(engine_up.socket) as wire:
        reply = _raw_reply(wire, b'{"jsonrpc":"2.0","id":9,"method":"status","params":[1]}\n')
    assert _error_code(reply) == protocol.INVALID_PARAMS and reply["id"] == 9


def test_missing_reason_names_the_parameter(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as wire:
        reply = wire.call("pause")
    assert _error_code(reply) == protocol.INVALID_PARAMS
    assert '"reason"' in reply["error"]["message"]


def test_an_oversized_line_is_refused_and_the_connection_closed(engine_up: EngineHandle) -> None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(15)
    sock.connect(str(engine_up.socket))
    try:
        _send_until_refused(sock, b"x" * (protocol.MAX_LINE_BYTES + 4096) + b"\n")
        lines = _read_until_closed(sock)
    finally:
        sock.close()
    assert len(lines) == 1, lines
    reply = json.loads(lines[0])
    assert reply["error"]["code"] == protocol.LINE_TOO_LONG
    assert status_of(engine_up)["state"] == "running"


def test_resume_while_running_is_invalid_state(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as wire:
        reply = wire.call("resume", {"reason": "conformance: nothing to resume"})
    assert _error_code(reply) == protocol.INVALID_STATE


def test_pause_while_halted_is_invalid_state(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as wire:
        wire.result("kill", {"reason": "conformance: halt first"})
        reply = wire.call("pause", {"reason": "conformance: pause a halted engine"})
        wire.result("resume", {"reason": "conformance: clean up"})
    assert _error_code(reply) == protocol.INVALID_STATE


def test_pause_while_paused_is_invalid_state(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as wire:
        wire.result("pause", {"reason": "conformance: pause once"})
        reply = wire.call("pause", {"reason": "conformance: pause twice"})
        wire.result("resume", {"reason": "conformance: clean up"})
    assert _error_code(reply) == protocol.INVALID_STATE


def test_an_unknown_trade_id_is_not_found(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as wire:
        reply = wire.call("trade", {"id": "no-such-trade"})
    assert _error_code(reply) == protocol.NOT_FOUND


# --- framing ------------------------------------------------------------------------------
def test_a_notification_is_executed_but_not_answered(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as wire:
        wire.send("pause", {"reason": "conformance: notified pause"}, notify=True)
        reply = wire.call("status")  # the next line must be this reply, not one for the pause
        wire.result("resume", {"reason": "conformance: clean up"})
    assert reply["result"]["state"] == "paused"


def test_a_notification_with_an_error_is_not_answered_either(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as wire:
        wire.send("no.such.method", notify=True)
        wire.send("pause", {"reason": 5}, notify=True)
        reply = wire.call("ping")
    assert reply["id"] == 1 and reply["result"]["pong"] is True


def test_several_requests_on_one_line_stream_are_answered_in_order(engine_up: EngineHandle) -> None:
    methods = ["ping", "status", "nope", "health", "events.recent", "ping", "audit", "pnl"]
    lines = b"".join(
        json.dumps({"jsonrpc": "2.0", "id": i, "method": m}).encode() + b"\n"
        for i, m in enumerate(methods)
    )
    with Wire(engine_up.socket) as wire:
        wire.send_raw(lines)
        replies = [wire.read() for _ in methods]
    assert [r["id"] for r in replies if r] == list(range(len(methods)))
    assert "error" in replies[2] and "result" in replies[3]


def test_string_ids_are_echoed(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as wire:
        reply = _raw_reply(wire, b'{"jsonrpc":"2.0","id":"abc-1","method":"ping"}\n')
    assert reply["id"] == "abc-1" and reply["result"]["pong"] is True


def test_a_last_request_without_newline_is_still_answered(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as wire:
        wire.send_raw(b'{"jsonrpc":"2.0","id":3,"method":"ping"}')
        wire.sock.shutdown(socket.SHUT_WR)
        reply = wire.read()
    assert reply is not None and reply["id"] == 3


def test_blank_lines_are_ignored(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as wire:
        reply = _raw_reply(wire, b"\n\r\n   \n" + b'{"jsonrpc":"2.0","id":4,"method":"ping"}\n')
    assert reply["id"] == 4


# --- half-closed connections: what `echo … | socat - UNIX-CONNECT:…` does ------------------
def test_a_large_reply_arrives_whole_after_the_client_half_closes(engine_up: EngineHandle) -> None:
    flood(engine_up, 20_000, "bulk", size=700)  # the whole ring: a ~15 MB events.recent
    request = b'{"jsonrpc":"2.0","id":1,"method":"events.recent","params":{"limit":100000}}\n'
    replies = []
    for _ in range(3):  # the tail used to be lost in most attempts, not in every one
        with Wire(engine_up.socket) as wire:
            wire.send_raw(request)
            wire.sock.shutdown(socket.SHUT_WR)
            replies.append(b"".join(_read_until_closed(wire.sock)))
    assert all(json.loads(reply)["result"]["events"] for reply in replies)


def test_a_half_closed_subscriber_keeps_receiving_events(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as wire:
        wire.send("subscribe", {"topics": ["block"]})
        wire.sock.shutdown(socket.SHUT_WR)
        assert "result" in (wire.read() or {})
        events = [wire.next_event() for _ in range(3)]
    assert all(e is not None and e["topic"] == "block" for e in events)


def test_a_subscriber_that_hangs_up_is_forgotten(engine_up: EngineHandle) -> None:
    with Wire(engine_up.socket) as wire:
        baseline = wire.result("status")["subscribers"]
    with Wire(engine_up.socket) as gone:
        gone.result("subscribe", {"topics": ["no-such-topic"]})  # nothing will ever be written
    assert poll(lambda: status_of(engine_up)["subscribers"] == baseline, 10)


@pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")
def test_the_documented_socat_follow_recipe_streams_events(engine_up: EngineHandle) -> None:
    request = b'{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"topics":["block"]}}\n'
    proc = subprocess.Popen(
        ["socat", "-t", "100000", "-", f"UNIX-CONNECT:{engine_up.socket}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(request)
        proc.stdin.close()  # what `echo … |` does: EOF on the request side
        lines = [json.loads(proc.stdout.readline()) for _ in range(4)]
    finally:
        proc.kill()
        proc.wait()
    assert "result" in lines[0]
    assert all(line["method"] == "event" for line in lines[1:])


# --- helpers ------------------------------------------------------------------------------
def _send_until_refused(sock: socket.socket, data: bytes) -> None:
    """Send an oversized line; the engine may close before it has all of it."""
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(data)


def _read_until_closed(sock: socket.socket) -> list[bytes]:
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return [line for line in b"".join(chunks).split(b"\n") if line]
