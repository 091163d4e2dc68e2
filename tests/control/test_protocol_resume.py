"""Resuming a subscription with `since_seq`: every later event exactly once, or `lagged`.

Floods are published in one loop step (`chunk` = `count`), so each flood's events have
consecutive sequence numbers and the flood's reply gives the last one: the exact set of
seqs a resuming client must see is known, and is compared with what it saw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import EngineHandle
from tests.control.conftest import DEBUG_TOML, Wire, flood, wait_for_state

TOPIC = "resume-test"
# A ring big enough to hold every flood here, and the documented default client queue.
RING_TOML = DEBUG_TOML + "event_ring = 100000\nclient_queue = 4096\n"


@pytest.fixture(scope="module")
def resume_engine(module_engine_factory: Callable[..., EngineHandle]) -> EngineHandle:
    return module_engine_factory(RING_TOML)


def _burst(engine: EngineHandle, count: int, size: int = 16) -> list[int]:
    """Publish `count` events on TOPIC in one step; their (consecutive) seqs."""
    last = flood(engine, count, TOPIC, chunk=count, size=size)["last_seq"]
    return list(range(last - count + 1, last + 1))


def _read_events(wire: Wire, count: int) -> list[dict[str, Any]]:
    """`count` events, or fewer if the subscription was cut off (nothing follows that)."""
    events = []
    while len(events) < count:
        event = wire.next_event()
        assert event is not None, f"connection closed after {len(events)} of {count} events"
        events.append(event)
        if _cut_off(event):
            break
    return events


def _cut_off(event: dict[str, Any]) -> bool:
    """A queue-overflow `lagged` ends the subscription (a ring gap does not)."""
    return event["topic"] == "lagged" and "oldest_available_seq" not in event["data"]


def _subscribe(engine: EngineHandle, since_seq: int | None = None) -> Wire:
    wire = Wire(engine.socket)
    params: dict[str, Any] = {"topics": [TOPIC]}
    if since_seq is not None:
        params["since_seq"] = since_seq
    wire.result("subscribe", params)
    return wire


def test_a_reconnecting_subscriber_gets_every_later_event_exactly_once(
    resume_engine: EngineHandle,
) -> None:
    first = _subscribe(resume_engine)
    before = _burst(resume_engine, 3000)
    seen = [e["seq"] for e in _read_events(first, 1000)]
    first.close()  # 2,000 of the burst were pushed but never processed
    away = _burst(resume_engine, 5000)  # published while nobody listens
    with _subscribe(resume_engine, since_seq=seen[-1]) as second:
        live = _burst(resume_engine, 1000)
        seen += [e["seq"] for e in _read_events(second, 2000 + 5000 + 1000)]
    assert seen == before + away + live


def test_a_resumed_subscription_carries_on_with_live_events(resume_engine: EngineHandle) -> None:
    with _subscribe(resume_engine) as wire:
        last = _read_events_after(wire, _burst(resume_engine, 10))[-1]
    with _subscribe(resume_engine, since_seq=last) as wire:
        live = _burst(resume_engine, 10)
        assert [e["seq"] for e in _read_events(wire, 10)] == live


def test_a_resume_backlog_larger_than_the_client_queue_is_not_cut_off(
    resume_engine: EngineHandle,
) -> None:
    with _subscribe(resume_engine) as wire:
        mark = _read_events_after(wire, _burst(resume_engine, 1))[-1]
    away = _burst(resume_engine, 15_000, size=200)  # > client_queue, and > socket buffers
    with _subscribe(resume_engine, since_seq=mark) as wire:
        live = _burst(resume_engine, 1000)  # arrives while the backlog is still queued
        events = _read_events(wire, len(away) + len(live))
    assert "lagged" not in {e["topic"] for e in events}
    assert [e["seq"] for e in events] == away + live


def test_since_seq_older_than_the_ring_starts_with_a_lagged_notice(
    resume_engine: EngineHandle,
) -> None:
    with Wire(resume_engine.socket) as probe:
        oldest = probe.result("events.recent", {"limit": 100_000})["events"][0]["seq"]
    with _subscribe(resume_engine, since_seq=oldest - 10) as wire:
        notice = wire.next_event()
    assert notice is not None and notice["topic"] == "lagged"
    assert notice["data"]["first_missed_seq"] == oldest - 9
    assert notice["data"]["oldest_available_seq"] == oldest
    assert {"reason", "resume"} <= set(notice["data"])


def test_events_follow_the_lagged_notice(resume_engine: EngineHandle) -> None:
    with _subscribe(resume_engine, since_seq=1) as wire:
        notice = wire.next_event()
        live = _burst(resume_engine, 5)
        after = [e for e in _read_until_seq(wire, live[-1]) if e["seq"] in live]
    assert notice is not None and notice["topic"] == "lagged"
    assert [e["seq"] for e in after] == live


def test_since_seq_from_a_previous_engine_is_a_gap_not_new_events(engine: EngineHandle) -> None:
    wait_for_state(engine, "running")
    with Wire(engine.socket) as wire:
        old_last = wire.result("status")["last_seq"]
    engine.stop()
    engine.start()
    with Wire(engine.socket) as wire:
        new_status = wire.result("status")
        wire.result("subscribe", {"since_seq": old_last})
        notice = wire.next_event()
    assert new_status["last_seq"] > old_last
    assert notice is not None and notice["topic"] == "lagged"


# --- helpers ------------------------------------------------------------------------------
def _read_events_after(wire: Wire, seqs: list[int]) -> list[int]:
    """Read the pushed burst `seqs`; returns them as seen."""
    return [e["seq"] for e in _read_events(wire, len(seqs))]


def _read_until_seq(wire: Wire, last: int) -> list[dict[str, Any]]:
    events = []
    while not events or events[-1]["seq"] < last:
        event = wire.next_event()
        assert event is not None, "connection closed early"
        events.append(event)
    return events
