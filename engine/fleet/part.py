"""The Redis part as the daemon sees it: built only when `[redis] url` is set.

`start()` reads the shared halt flag before the daemon leaves `starting` (bounded by
the timeout: an unreachable Redis delays start-up by at most that, and never stops it),
then runs the mirror and the watcher as background tasks. Nothing here is on the
trading loop's path: the pipeline never awaits Redis.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.bus import EventBus
from engine.config import Config, RedisSection
from engine.fleet.keys import Keys, default_engine_name
from engine.fleet.link import RedisDown, RedisLink
from engine.fleet.mirror import Mirror
from engine.fleet.watch import HaltWatcher
from engine.killswitch import KillSwitch
from engine.lifecycle import Lifecycle

log = logging.getLogger("arbctl.redis")

CLOSE_TIMEOUT_S = 1.0


@dataclass(frozen=True, slots=True)
class Whereabouts:
    """Where this engine lives, as its presence in Redis tells the fleet."""

    socket_path: str
    state_dir: str
    started_at: float


def build_fleet_part(
    config: Config, where: Whereabouts, lifecycle: Lifecycle, killswitch: KillSwitch, bus: EventBus
) -> FleetPart | None:
    """None when Redis is not configured; `[redis]` was validated by `engine.config.load`."""
    if not config.redis.url:
        return None
    return FleetPart(config.redis, where, lifecycle, killswitch, bus)


class FleetPart:
    def __init__(
        self,
        section: RedisSection,
        where: Whereabouts,
        lifecycle: Lifecycle,
        killswitch: KillSwitch,
        bus: EventBus,
    ) -> None:
        name = section.engine_name or default_engine_name(Path(where.state_dir))
        self.keys = Keys(section.namespace, name)
        self.link = RedisLink(section.url, section.timeout_s, section.backoff_max_s)
        self._where = where
        self._lifecycle = lifecycle
        self.watcher = HaltWatcher(self.link, self.keys, killswitch, section.halt_check_s)
        self.mirror = Mirror(
            self.link, self.keys, bus, self._snapshot, section.heartbeat_s, section.ttl_s
        )
        self._tasks: list[asyncio.Task[None]] = []

    def redis_health(self) -> tuple[bool, str]:
        """For `health`: Redis down is a WARNING there, never CRITICAL."""
        return self.link.health()

    async def start(self) -> None:
        """Read the halt flag once (an engine started under it comes up halted), then
        mirror and watch in the background."""
        try:
            await self.watcher.check()
        except RedisDown:
            log.warning("global halt flag not readable at start; the watcher keeps trying")
        except Exception as exc:
            log.warning("global halt flag not readable at start: %s", exc)
        keys = self.keys
        log.info("Redis hot state on %s as %s/%s", self.link.where, keys.namespace, keys.engine)
        self._tasks = [
            asyncio.create_task(self.mirror.follow(), name="redis-mirror-follow"),
            asyncio.create_task(self.mirror.run(), name="redis-mirror"),
            asyncio.create_task(self.watcher.listen(), name="redis-halt-listen"),
            asyncio.create_task(self.watcher.poll(), name="redis-halt-poll"),
        ]

    async def close(self) -> None:
        """Stop the tasks, leave the fleet (best effort, bounded), close the client."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=CLOSE_TIMEOUT_S)
        try:
            await asyncio.wait_for(self.mirror.withdraw(), CLOSE_TIMEOUT_S)
        except Exception as exc:
            log.debug("leaving the fleet in Redis: %s", exc)
        await self.link.close()

    def _snapshot(self) -> dict[str, Any]:
        """What the mirror writes besides metrics: presence and the lifecycle's state."""
        where, lifecycle = self._where, self._lifecycle
        presence = {
            "name": self.keys.engine,
            "namespace": self.keys.namespace,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "state": lifecycle.state,
            "reason": lifecycle.reason,
            "socket": where.socket_path,
            "state_dir": where.state_dir,
            "started_at": where.started_at,
        }
        return {"presence": presence, "state": lifecycle.to_dict()}
