"""The engine's side of the shared halt flag: see it, and halt like a local `kill`.

Seeing the flag calls the kill switch (engine/killswitch.py), the same service the
socket's `kill` uses — send gate shut first, in-flight work cancelled, halt persisted
(or retried, loudly), audit entry — as an `Actor` named "redis-global-halt" with the
uid of whoever set the flag, so a fleet-wide halt is no different from an operator's
kill on each engine, full disk included. Pub/sub is the fast path; a periodic
read is the backstop for missed messages and reconnects, and the daemon reads the flag
once before leaving `starting` so an engine started while it is set comes up halted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from engine.fleet.halt import CLEAR, read_flag
from engine.fleet.keys import Keys, decode
from engine.fleet.link import RedisDown, RedisLink, is_outage
from engine.killswitch import KillSwitch
from engine.lifecycle import Actor, InvalidTransition

log = logging.getLogger("arbctl.redis")

GLOBAL_HALT_CLIENT = "redis-global-halt"
LISTEN_POLL_S = 1.0  # how long one pub/sub read waits before looping
MAX_REASON = 400  # as the socket's reasons: at most 500 characters with the prefix


class HaltWatcher:
    def __init__(
        self,
        link: RedisLink,
        keys: Keys,
        killswitch: KillSwitch,
        check_s: float,
    ) -> None:
        self._link = link
        self._keys = keys
        self._killswitch = killswitch
        self._check_s = check_s
        self.flag: dict[str, Any] | None = None  # as last read from Redis
        self.checked_at: float | None = None
        self.halts = 0
        self._last_problem = ""

    async def check(self) -> dict[str, Any] | None:
        """Read the flag now and act on it; RedisDown when Redis does not answer."""
        flag = await self._link.call(lambda client: read_flag(client, self._keys))
        await self._seen(flag)
        return flag

    async def current(self) -> tuple[dict[str, Any] | None, bool]:
        """(flag, fresh): read now if Redis answers, else the last value read."""
        try:
            return await self.check(), True
        except RedisDown:
            return self.flag, False

    async def poll(self) -> None:
        """The backstop: a missed pub/sub message is caught within `check_s`."""
        while True:
            await asyncio.sleep(self._check_s)
            try:
                await self.check()
            except RedisDown:
                pass
            except Exception as exc:
                self._problem("reading the halt flag", exc)

    async def listen(self) -> None:
        """Pub/sub: halts within a round trip of `arbctl kill --global`."""
        while True:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_outage(exc):
                    self._link.failed(exc)
                else:
                    self._problem("listening for the halt flag", exc)
            await asyncio.sleep(max(self._link.retry_delay(), LISTEN_POLL_S))

    async def _listen_once(self) -> None:
        pubsub = self._link.client.pubsub()
        try:
            await asyncio.wait_for(pubsub.subscribe(self._keys.halt_channel), LISTEN_POLL_S * 2)
            self._link.succeeded()
            with contextlib.suppress(RedisDown):
                await self.check()  # whatever was set while we were not subscribed
            while True:
                message = await pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=LISTEN_POLL_S
                )
                if message is not None:
                    await self._on_message(message.get("data"))
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pubsub.aclose(), LISTEN_POLL_S)

    async def _on_message(self, data: Any) -> None:
        message = decode(data) or {}
        flag = message.get("flag")
        if message.get("action") == CLEAR:
            await self._seen(None)
        elif isinstance(flag, dict):
            await self._seen(flag)

    async def _seen(self, flag: dict[str, Any] | None) -> None:
        self.flag, self.checked_at = flag, time.time()
        if flag is not None:
            await self._halt(flag)

    async def _halt(self, flag: dict[str, Any]) -> None:
        """Halt once: an engine already halted keeps its first halt."""
        if self._killswitch.engaged:
            return
        reason = f"global halt: {str(flag.get('reason') or 'no reason given')[:MAX_REASON]}"
        log.warning(
            "GLOBAL HALT flag set in Redis (namespace %s) by %s@%s: %s",
            self._keys.namespace,
            flag.get("user", "?"),
            flag.get("host", "?"),
            flag.get("reason"),
        )
        try:
            await self._killswitch.kill(reason, _actor(flag))
        except InvalidTransition as exc:  # stopping: nothing is sent any more anyway
            log.info("global halt not applied: %s", exc)
            return
        self.halts += 1

    def _problem(self, doing: str, exc: Exception) -> None:
        problem = f"{type(exc).__name__}: {exc}"
        if problem != self._last_problem:
            log.warning("%s failed: %s", doing, problem)
        self._last_problem = problem

    def to_dict(self) -> dict[str, Any]:
        return {"flag": self.flag, "checked_at": self.checked_at, "halts": self.halts}


def _actor(flag: dict[str, Any]) -> Actor:
    """The audit entry names the uid that set the flag, and this client."""
    uid = flag.get("uid")
    uid = uid if isinstance(uid, int) and not isinstance(uid, bool) else -1
    return Actor(uid, GLOBAL_HALT_CLIENT)
