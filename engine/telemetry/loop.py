"""Loop latency: how late the event loop runs a timer. It is the engine's pulse.

A kill request is only as fast as the loop that serves it, so the loop's lateness is
measured continuously, served in `status`, published in heartbeats, and it drives the
systemd watchdog: a stalled loop stops the WATCHDOG=1 pings and systemd restarts us.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from engine import protocol
from engine.bus import EventBus

TICK_S = 0.1


class LoopMonitor:
    def __init__(self, bus: EventBus, heartbeat_s: float, extra: Callable[[], dict]) -> None:
        self._bus = bus
        self._heartbeat_s = heartbeat_s
        self._extra = extra
        self._ticks: list[Callable[[], None]] = []
        self.loop_latency_ms = 0.0
        self._window: deque[float] = deque(maxlen=600)  # one minute of ticks
        self.last_tick = time.monotonic()

    def on_tick(self, callback: Callable[[], None]) -> None:
        self._ticks.append(callback)

    @property
    def avg_loop_latency_ms(self) -> float:
        return sum(self._window) / len(self._window) if self._window else 0.0

    def seconds_since_tick(self) -> float:
        return time.monotonic() - self.last_tick

    async def run(self) -> None:
        next_beat = time.monotonic() + self._heartbeat_s
        while True:
            scheduled = time.monotonic() + TICK_S
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            self.loop_latency_ms = max(0.0, (now - scheduled) * 1000)
            self._window.append(self.loop_latency_ms)
            self.last_tick = now
            for callback in self._ticks:
                callback()
            if now >= next_beat:
                next_beat = now + self._heartbeat_s
                self._bus.publish(protocol.TOPIC_HEARTBEAT, self.heartbeat())

    def heartbeat(self) -> dict:
        return {
            "loop_latency_ms": round(self.loop_latency_ms, 3),
            "avg_loop_latency_ms": round(self.avg_loop_latency_ms, 3),
            "events_per_s": round(self._bus.events_per_s, 1),
            **self._extra(),
        }
