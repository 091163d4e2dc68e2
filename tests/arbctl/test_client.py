"""The socket client's contract, against a throwaway server that can misbehave on cue."""

from __future__ import annotations

import itertools
import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from arbctl.client import Client, EngineUnreachable, RpcError
from arbctl.commands.events import follow_events
from engine import protocol
from tests.arbctl.fake_engine import FakeEngine, error, event, result


@pytest.fixture
def sock_path() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="arb", dir="/tmp") as tmp:
        yield Path(tmp) / "s"


def test_call_returns_the_result_of_its_own_request(sock_path: Path) -> None:
    with FakeEngine(sock_path, lambda r: [result(r, {"pong": True})]):
        assert Client(sock_path).call("ping") == {"pong": True}


def test_call_skips_pushed_events_before_its_answer(sock_path: Path) -> None:
    with FakeEngine(sock_path, lambda r: [event("block", 1), result(r, 42)]):
        assert Client(sock_path).call("status") == 42


def test_engine_error_becomes_rpc_error_with_code_and_name(sock_path: Path) -> None:
    respond = lambda r: [error(r, protocol.INVALID_STATE, "cannot resume")]  # noqa: E731
    with FakeEngine(sock_path, respond), pytest.raises(RpcError) as caught:
        Client(sock_path).call("resume", {"reason": "x"})
    assert (caught.value.code, caught.value.name) == (protocol.INVALID_STATE, "invalid_state")


def test_silent_engine_is_unreachable_with_kind_timeout(sock_path: Path) -> None:
    with FakeEngine(sock_path, lambda r: None), pytest.raises(EngineUnreachable) as caught:
        Client(sock_path).call("kill", {"reason": "x"}, timeout=0.3)
    assert caught.value.kind == "timeout"


def test_missing_socket_is_unreachable_with_kind_no_socket(sock_path: Path) -> None:
    with pytest.raises(EngineUnreachable) as caught:
        Client(sock_path).call("ping")
    assert caught.value.kind == "no_socket"
    assert str(sock_path) in str(caught.value)


def test_socket_without_listener_is_unreachable_with_kind_refused(sock_path: Path) -> None:
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(sock_path))  # a file, but nobody listening: a crashed engine's leftover
    try:
        with pytest.raises(EngineUnreachable) as caught:
            Client(sock_path).call("ping")
        assert caught.value.kind == "refused"
    finally:
        stale.close()


def test_hang_up_before_answering_is_unreachable_with_kind_closed(sock_path: Path) -> None:
    with FakeEngine(sock_path, lambda r: "close"), pytest.raises(EngineUnreachable) as caught:
        Client(sock_path).call("ping")
    assert caught.value.kind == "closed"


def test_peer_pid_names_the_process_listening_on_the_socket(sock_path: Path) -> None:
    with FakeEngine(sock_path, lambda r: None):
        assert Client(sock_path).peer_pid() == os.getpid()


def test_follow_resubscribes_after_lag_from_the_last_printed_seq(sock_path: Path) -> None:
    answers = iter(
        [
            [event("block", 11), event("block", 12), event("lagged", 99, {"reason": "full"})],
            [event("block", 12), event("block", 13)],  # 12 again: must not be printed twice
        ]
    )

    def respond(request: dict) -> list[dict] | str:
        batch = next(answers, None)
        if batch is None:
            return "close"
        return [result(request, {"subscription": 1, "last_seq": 10}), *batch]

    with (
        FakeEngine(sock_path, respond) as fake,
        closing(follow_events(Client(sock_path), None, 10, as_json=True)) as stream,
    ):
        seqs = [e["seq"] for e in itertools.islice(stream, 3)]
    assert seqs == [11, 12, 13]
    assert fake.requests[1]["params"]["since_seq"] == 12


def test_follow_keeps_reading_after_a_replay_gap_notice(sock_path: Path) -> None:
    gap = {"reason": "since_seq is older than the event ring", "oldest_available_seq": 500}

    def respond(request: dict) -> list[dict]:
        answer = result(request, {"subscription": 1, "last_seq": 600})
        return [answer, event("lagged", 600, gap), event("state", 500), event("state", 501)]

    with (
        FakeEngine(sock_path, respond) as fake,
        closing(follow_events(Client(sock_path), None, 7, as_json=True)) as stream,
    ):
        seqs = [e["seq"] for e in itertools.islice(stream, 2)]
    assert seqs == [500, 501]
    assert len(fake.requests) == 1
