"""Slow and stalled clients: they are told they lagged, or dropped; nobody else notices.

A subscriber that never reads must not slow the engine, block other clients or grow
the engine's memory; a merely slow one is sent one `lagged` notice, its subscription
ends, and it resumes by subscribing again with `since_seq`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import EngineHandle
from tests.control.conftest import DEBUG_TOML, Wire, poll, rss_kb, status_of

BIG_FLOOD = 500_000
RSS_GROWTH_LIMIT_KB = 100 * 1024


@pytest.fixture(scope="module")
def flood_engine(module_engine_factory: Callable[..., EngineHandle]) -> EngineHandle:
    return module_engine_factory(DEBUG_TOML)


class FloodInBackground:
    """`debug.flood` on its own connection and thread, so the test can act meanwhile."""

    def __init__(self, engine: EngineHandle, count: int, topic: str, **extra: Any) -> None:
        self.result: dict[str, Any] = {}
        self.done = threading.Event()
        params = {"count": count, "topic": topic, **extra}
        self._wire = Wire(engine.socket, timeout=120.0)
        self._wire.send("debug.flood", params)
        self._thread = threading.Thread(target=self._wait, daemon=True)
        self._thread.start()

    def _wait(self) -> None:
        try:
            self.result = self._wire.reply(1)
        finally:
            self.done.set()

    def join(self) -> dict[str, Any]:
        self._thread.join(120)
        self._wire.close()
        assert "result" in self.result, f"flood failed: {self.result}"
        return self.result["result"]


def _stalled_subscriber(engine: EngineHandle, topics: list[str]) -> Wire:
    """Subscribes, then never reads again."""
    wire = Wire(engine.socket)
    wire.result("subscribe", {"topics": topics})
    return wire


def _lagged_or_closed(wire: Wire) -> str:
    """Read what the engine sent a stalled subscriber until `lagged` or the end."""
    while (event := wire.next_event()) is not None:
        if event["topic"] == "lagged":
            return "lagged"
    return "disconnected"


def test_status_answers_while_a_stalled_subscriber_is_flooded(flood_engine: EngineHandle) -> None:
    stalled = _stalled_subscriber(flood_engine, ["stall"])
    running = FloodInBackground(flood_engine, BIG_FLOOD, "stall")
    answered_during_flood = 0
    while not running.done.is_set():
        status_of(flood_engine)
        answered_during_flood += not running.done.is_set()
    assert running.join()["published"] == BIG_FLOOD
    assert answered_during_flood > 0
    stalled.close()


def test_engine_memory_stays_bounded_while_a_stalled_subscriber_is_flooded(
    flood_engine: EngineHandle,
) -> None:
    stalled = _stalled_subscriber(flood_engine, ["stall"])
    before = rss_kb(flood_engine.pid)
    peak = before
    running = FloodInBackground(flood_engine, BIG_FLOOD, "stall", size=256)
    while not running.done.wait(0.05):
        peak = max(peak, rss_kb(flood_engine.pid))
    running.join()
    peak = max(peak, rss_kb(flood_engine.pid))
    stalled.close()
    assert peak - before < RSS_GROWTH_LIMIT_KB, f"RSS grew {before} kB -> {peak} kB"


def test_a_stalled_subscriber_is_told_it_lagged_or_disconnected(flood_engine: EngineHandle) -> None:
    stalled = _stalled_subscriber(flood_engine, ["stall"])
    FloodInBackground(flood_engine, BIG_FLOOD, "stall").join()
    with stalled:
        assert _lagged_or_closed(stalled) in ("lagged", "disconnected")


def test_a_client_whose_socket_accepts_nothing_is_disconnected(flood_engine: EngineHandle) -> None:
    assert poll(lambda: _only_me(flood_engine), 30), "earlier clients never went away"
    stalled = _stalled_subscriber(flood_engine, ["stall"])
    FloodInBackground(flood_engine, 100_000, "stall", size=256).join()
    assert not _only_me(flood_engine)
    assert poll(lambda: _only_me(flood_engine), 30)
    with stalled:
        assert _lagged_or_closed(stalled) == "disconnected"


def _only_me(engine: EngineHandle) -> bool:
    """The status call's own connection is the engine's only client."""
    return status_of(engine)["clients"] == 1


def test_a_slow_subscriber_gets_one_lagged_notice_and_its_subscription_ends(
    flood_engine: EngineHandle,
) -> None:
    with Wire(flood_engine.socket) as slow:
        subscribed = slow.result("subscribe", {"topics": ["slow"]})
        FloodInBackground(flood_engine, 10_000, "slow", chunk=10_000).join()  # > client_queue
        events = _events_until_lagged(slow)
        slow.result("ping")  # the connection is still usable: only the subscription ended
        assert slow.events == []
    processed = [subscribed["last_seq"]] + [e["seq"] for e in events[:-1]]
    assert [e["topic"] for e in events].count("lagged") == 1
    # seqs are the bus's, shared by every topic: an event of a topic this client did not
    # subscribe to (a heartbeat, a block) may take the seqs between its last one and the
    # first it missed
    assert events[-1]["data"]["first_missed_seq"] > processed[-1]


def test_a_lagged_subscriber_resumes_with_since_seq_and_misses_nothing(
    flood_engine: EngineHandle,
) -> None:
    with Wire(flood_engine.socket) as slow:
        last_processed = slow.result("subscribe", {"topics": ["resub"]})["last_seq"]
        flooded = FloodInBackground(flood_engine, 10_000, "resub", chunk=10_000).join()
        processed = [e for e in _events_until_lagged(slow) if e["topic"] != "lagged"]
        if processed:
            last_processed = processed[-1]["seq"]
        slow.result("subscribe", {"topics": ["resub"], "since_seq": last_processed})
        rest = [slow.next_event() for _ in range(10_000 - len(processed))]
    seqs = [e["seq"] for e in processed + rest if e]
    assert seqs == list(range(flooded["first_seq"], flooded["last_seq"] + 1))


def _events_until_lagged(wire: Wire) -> list[dict[str, Any]]:
    events = []
    while True:
        event = wire.next_event()
        assert event is not None, "connection closed instead of a lagged notice"
        events.append(event)
        if event["topic"] == "lagged":
            return events
