"""Mirrors the engine into Redis: state, latest heartbeat, provider health, presence.

Two tasks, so the bus is never held up by Redis: `follow` drains the bus and keeps only
the latest heartbeat (a one-slot buffer: the bounded queue of a mirror) and wakes the
writer on a state change; `run` writes everything in one pipelined round trip on every
heartbeat interval or wake-up. Every key carries a TTL, so a dead engine's keys expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine import protocol
from engine.bus import EventBus
from engine.fleet.keys import Keys, encode
from engine.fleet.link import RedisDown, RedisLink

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("arbctl.redis")

Records = dict[str, dict[str, Any]]


class Mirror:
    def __init__(
        self,
        link: RedisLink,
        keys: Keys,
        bus: EventBus,
        snapshot: Callable[[], dict[str, Any]],
        interval_s: float,
        ttl_s: float,
    ) -> None:
        """`snapshot()` gives the presence and state fields; read at each write, no await."""
        self._link = link
        self._keys = keys
        self._bus = bus
        self._snapshot = snapshot
        self._interval_s = interval_s
        self._ttl_s = ttl_s
        self._heartbeat: dict[str, Any] | None = None
        self._wake = asyncio.Event()
        self.writes = 0
        self.last_write_at: float | None = None
        self._last_problem = ""

    async def follow(self) -> None:
        """Keep the latest heartbeat; never awaits Redis, so it keeps up with the bus."""
        topics = [protocol.TOPIC_STATE, protocol.TOPIC_HEARTBEAT]
        while True:  # a lagged subscription ends; resubscribe
            sub = self._bus.subscribe(topics, queue_limit=256)
            while (event := await sub.next()) is not None:
                if event.topic == protocol.TOPIC_HEARTBEAT:
                    self._heartbeat = event.data
                elif event.topic == protocol.TOPIC_STATE:
                    self._wake.set()

    async def run(self) -> None:
        """Write on every interval, and at once after a state change."""
        while True:
            self._wake.clear()
            await self._write_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval_s)

    async def _write_once(self) -> None:
        try:
            await self.write()
        except RedisDown:
            return  # the link logs the outage once
        except Exception as exc:  # a bad reply must not end the mirror; logged once per kind
            problem = f"{type(exc).__name__}: {exc}"
            if problem != self._last_problem:
                log.warning("Redis mirror write failed: %s", problem)
            self._last_problem = problem

    async def write(self) -> None:
        now = time.time()
        records = self._records(now)
        ttl_ms = max(1, int(self._ttl_s * 1000))

        async def op(client: Redis) -> list[Any]:
            pipe = client.pipeline(transaction=False)
            for key, record in records.items():
                pipe.set(key, encode(record), px=ttl_ms)
            pipe.zadd(self._keys.fleet, {self._keys.engine: now})
            pipe.zremrangebyscore(self._keys.fleet, "-inf", now - self._ttl_s)
            pipe.pexpire(self._keys.fleet, ttl_ms)
            return await pipe.execute()

        await self._link.call(op)
        self.writes += 1
        self.last_write_at = now

    def _records(self, now: float) -> Records:
        snapshot = self._snapshot()
        keys = self._keys
        records: Records = {
            keys.presence: {**snapshot["presence"], "ts": now},
            keys.state: {**snapshot["state"], "ts": now},
        }
        heartbeat = self._heartbeat
        if heartbeat is not None:
            metrics = {k: v for k, v in heartbeat.items() if k != "providers"}
            records[keys.heartbeat] = {**metrics, "ts": now}
            records[keys.providers] = {"providers": heartbeat.get("providers") or [], "ts": now}
        return records

    async def withdraw(self) -> None:
        """Graceful stop: leave the fleet now; state and metrics expire with their TTL."""
        keys = self._keys

        async def op(client: Redis) -> list[Any]:
            pipe = client.pipeline(transaction=False)
            pipe.delete(keys.presence)
            pipe.zrem(keys.fleet, keys.engine)
            return await pipe.execute()

        with contextlib.suppress(RedisDown):
            await self._link.call(op)

    def to_dict(self) -> dict[str, Any]:
        return {
            "writes": self.writes,
            "last_write_at": self.last_write_at,
            "interval_s": self._interval_s,
            "ttl_s": self._ttl_s,
        }
