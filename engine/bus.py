"""The in-process event bus: every part publishes here, the control socket serves it.

Three promises shape this module:
- every event gets a monotonically increasing `seq`, and the last `ring_size` events are
  kept so a reconnecting client resumes with `since_seq` without gaps or duplicates;
- publishing never blocks and never waits on a client: each subscriber has a bounded
  queue, and one that overflows is cut off with a single "lagged" notice (it must
  resync) instead of slowing the engine or growing memory;
- an event is serialised once, however many subscribers receive it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from engine import protocol


class Event:
    __slots__ = ("_line", "data", "seq", "topic", "ts")

    def __init__(self, seq: int, topic: str, ts: float, data: Any) -> None:
        self.seq = seq
        self.topic = topic
        self.ts = ts
        self.data = data
        self._line: bytes | None = None

    @property
    def line(self) -> bytes:
        """The wire form, computed on first use and shared by every subscriber."""
        if self._line is None:
            msg = protocol.event_notification(self.topic, self.seq, self.ts, self.data)
            self._line = protocol.encode(msg)
        return self._line

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "topic": self.topic, "ts": self.ts, "data": self.data}


class Subscription:
    """One consumer's view of the bus. Read with `await next()`; it ends when it lags."""

    def __init__(self, bus: EventBus, topics: frozenset[str] | None, limit: int) -> None:
        self._bus = bus
        self.topics = topics
        self.limit = limit
        self.queue: deque[Event] = deque()
        self.lagged = False
        self.closed = False
        # Replayed (since_seq) events still queued: they sit ahead of the live ones and do
        # not count against `limit`, or a client resuming after a long absence would be
        # cut off by the first live event and never catch up.
        self._replayed = 0
        self._wakeup = asyncio.Event()

    def wants(self, topic: str) -> bool:
        return self.topics is None or topic in self.topics

    def push(self, event: Event) -> None:
        if self.closed:
            return
        if len(self.queue) - self._replayed >= self.limit:
            self._lag(event.seq)
            return
        self.queue.append(event)
        self._wakeup.set()

    def _lag(self, at_seq: int) -> None:
        """Drop what is queued and leave one notice: the client resumes from its last seq."""
        first_missed = self.queue[0].seq if self.queue else at_seq
        self.queue.clear()
        self._replayed = 0
        # The notice's seq is the last one the client may consider handled, so a client
        # that resumes from "the highest seq I saw" gets everything it missed.
        notice = Event(
            seq=first_missed - 1,
            topic=protocol.TOPIC_LAGGED,
            ts=time.time(),
            data={
                "reason": f"subscriber queue exceeded {self.limit} events",
                "first_missed_seq": first_missed,
                "resume": "resubscribe with since_seq set to the last seq you processed",
            },
        )
        self.queue.append(notice)
        self.lagged = True
        self.closed = True
        self._bus.unsubscribe(self)
        self._wakeup.set()

    async def next(self) -> Event | None:
        """The next event, or None once the subscription is over and drained."""
        while not self.queue:
            if self.closed:
                return None
            self._wakeup.clear()
            await self._wakeup.wait()
        self._replayed = max(0, self._replayed - 1)
        return self.queue.popleft()

    def drain(self, max_items: int) -> list[Event]:
        """Take up to `max_items` without waiting: lets a writer batch its socket writes."""
        n = min(max_items, len(self.queue))
        self._replayed = max(0, self._replayed - n)
        return [self.queue.popleft() for _ in range(n)]

    def preload(self, events: Iterable[Event]) -> None:
        """Queue a replay ahead of live events, outside the live-queue limit."""
        self.queue.extend(events)
        self._replayed = len(self.queue)
        if self.queue:
            self._wakeup.set()

    def close(self) -> None:
        self.closed = True
        self._bus.unsubscribe(self)
        self._wakeup.set()


class EventBus:
    def __init__(
        self, ring_size: int = 20_000, queue_limit: int = 4_096, start_seq: int = 0
    ) -> None:
        """`start_seq`: the daemon passes a microsecond clock reading, so sequence numbers
        keep increasing across engine restarts and a client's stale since_seq is detected
        as a gap instead of silently matching a new engine's events."""
        self._ring: deque[Event] = deque(maxlen=ring_size)
        self._subs: list[Subscription] = []
        self._queue_limit = queue_limit
        self.last_seq = start_seq
        # events/s for the resources panel, counted cheaply per second
        self._rate_window_start = time.monotonic()
        self._rate_count = 0
        self.events_per_s = 0.0

    def publish(self, topic: str, data: Any) -> Event:
        self.last_seq += 1
        event = Event(self.last_seq, topic, time.time(), data)
        self._ring.append(event)
        self._count_rate()
        for sub in tuple(self._subs):
            if sub.wants(topic):
                sub.push(event)
        return event

    def _count_rate(self) -> None:
        self._rate_count += 1
        now = time.monotonic()
        elapsed = now - self._rate_window_start
        if elapsed >= 1.0:
            self.events_per_s = self._rate_count / elapsed
            self._rate_window_start = now
            self._rate_count = 0

    def subscribe(
        self,
        topics: Iterable[str] | None = None,
        since_seq: int | None = None,
        queue_limit: int | None = None,
    ) -> Subscription:
        """Subscribe, first replaying ring events after `since_seq` (if given).

        If the ring no longer reaches back to `since_seq`, the subscription starts with a
        lagged notice naming the gap, so the client knows to re-read state.
        """
        wanted = frozenset(topics) if topics else None
        sub = Subscription(self, wanted, queue_limit or self._queue_limit)
        if since_seq is not None:
            self._replay(sub, since_seq)
        if not sub.closed:
            self._subs.append(sub)
        return sub

    def _replay(self, sub: Subscription, since_seq: int) -> None:
        oldest = self.oldest_seq
        replay: list[Event] = []
        if since_seq < oldest - 1:
            replay.append(
                Event(
                    seq=oldest - 1,  # resuming from it replays what the ring still has
                    topic=protocol.TOPIC_LAGGED,
                    ts=time.time(),
                    data={
                        "reason": "since_seq is older than the event ring",
                        "first_missed_seq": since_seq + 1,
                        "oldest_available_seq": oldest,
                        "resume": "re-read state; events continue after this notice",
                    },
                )
            )
        # Replay bypasses the queue limit: it is bounded by the ring already, and a
        # resuming client must not be cut off for asking for what it missed.
        replay.extend(e for e in self._ring if e.seq > since_seq and sub.wants(e.topic))
        sub.preload(replay)

    def unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    def recent(
        self, topics: Iterable[str] | None = None, since_seq: int = 0, limit: int = 1000
    ) -> list[Event]:
        wanted = frozenset(topics) if topics else None
        found = [
            e for e in self._ring if e.seq > since_seq and (wanted is None or e.topic in wanted)
        ]
        return found[-limit:]

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    @property
    def oldest_seq(self) -> int:
        return self._ring[0].seq if self._ring else self.last_seq + 1
