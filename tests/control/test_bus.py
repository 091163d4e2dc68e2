"""The event bus: sequence numbers, resume from the ring, and bounded subscribers."""

from __future__ import annotations

import asyncio

from engine import protocol
from engine.bus import EventBus


def drain(sub) -> list:
    return sub.drain(1_000_000)


def test_sequence_numbers_increase_by_one_from_the_start_value():
    bus = EventBus(start_seq=1000)
    seqs = [bus.publish("trade", {"n": i}).seq for i in range(3)]
    assert seqs == [1001, 1002, 1003]


def test_resume_from_since_seq_replays_exactly_the_missed_events():
    bus = EventBus()
    for i in range(10):
        bus.publish("trade", {"n": i})
    sub = bus.subscribe(since_seq=6)
    bus.publish("trade", {"n": 10})
    assert [e.seq for e in drain(sub)] == [7, 8, 9, 10, 11]


def test_resume_honours_the_topic_filter():
    bus = EventBus()
    bus.publish("trade", {})
    bus.publish("heartbeat", {})
    bus.publish("trade", {})
    sub = bus.subscribe(topics=["trade"], since_seq=0)
    assert [e.seq for e in drain(sub)] == [1, 3]


def test_since_seq_older_than_the_ring_starts_with_a_lagged_notice():
    bus = EventBus(ring_size=5)
    for i in range(20):
        bus.publish("trade", {"n": i})
    sub = bus.subscribe(since_seq=3)
    events = drain(sub)
    assert events[0].topic == protocol.TOPIC_LAGGED
    assert events[0].data["first_missed_seq"] == 4
    assert [e.seq for e in events[1:]] == [16, 17, 18, 19, 20]


def test_a_subscriber_that_overflows_gets_one_lagged_notice_and_is_cut_off():
    bus = EventBus(queue_limit=10)
    sub = bus.subscribe()
    for i in range(50):
        bus.publish("trade", {"n": i})
    events = drain(sub)
    assert [e.topic for e in events] == [protocol.TOPIC_LAGGED]
    assert sub.closed and bus.subscriber_count == 0


def test_a_stalled_subscriber_does_not_affect_another():
    bus = EventBus(queue_limit=10)
    stalled = bus.subscribe()
    healthy = bus.subscribe()
    for i in range(100):
        bus.publish("trade", {"n": i})
        drain(healthy)
    assert stalled.lagged and not healthy.lagged


def test_an_event_is_serialised_once_for_all_subscribers():
    bus = EventBus()
    subs = [bus.subscribe() for _ in range(3)]
    bus.publish("trade", {"n": 1})
    lines = [drain(s)[0].line for s in subs]
    assert lines[0] is lines[1] is lines[2]


async def test_next_waits_for_a_publish():
    bus = EventBus()
    sub = bus.subscribe()
    waiter = asyncio.create_task(sub.next())
    await asyncio.sleep(0)
    bus.publish("state", {"state": "running"})
    event = await asyncio.wait_for(waiter, 1)
    assert event.topic == "state"


async def test_next_returns_none_after_close():
    bus = EventBus()
    sub = bus.subscribe()
    sub.close()
    assert await sub.next() is None


def test_resuming_from_an_overflow_notice_seq_loses_nothing():
    bus = EventBus(queue_limit=3)
    sub = bus.subscribe()
    for i in range(10):
        bus.publish("trade", {"n": i})
    (notice,) = drain(sub)
    resumed = bus.subscribe(since_seq=notice.seq)
    assert [e.seq for e in drain(resumed)] == list(range(1, 11))


def test_resuming_from_a_ring_gap_notice_seq_replays_the_ring():
    bus = EventBus(ring_size=5)
    for i in range(20):
        bus.publish("trade", {"n": i})
    notice = drain(bus.subscribe(since_seq=3))[0]
    assert [e.seq for e in drain(bus.subscribe(since_seq=notice.seq))] == [16, 17, 18, 19, 20]
