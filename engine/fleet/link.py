"""One Redis client with timeouts, outage tracking and reconnect backoff.

Every Redis call of the engine goes through `RedisLink.call`: bounded by a timeout,
refused at once while backing off after a failure, so a dead Redis costs nothing but a
cheap exception. An outage is logged once when it starts and once when it ends, never per
call. Only background tasks call this; the trading loop never awaits Redis.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from engine.config import redact_text
from engine.errors import ArbctlError

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("arbctl.redis")

T = TypeVar("T")
BACKOFF_MIN_S = 0.25
CALL_BUDGET = 3  # timeouts one call may use: a connect, its retry, the reply


class RedisDown(ArbctlError):
    """Redis did not answer (or we are backing off): the caller skips this round."""


def is_outage(exc: BaseException) -> bool:
    """Connection-level failures mean "Redis is gone"; a ResponseError means it answered."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(exc, RedisConnectionError | RedisTimeoutError | OSError | TimeoutError)


def connect(url: str, timeout_s: float) -> Redis:
    """A client that fails fast. One immediate retry only: it replaces a pooled connection
    that went stale (Redis restarted, or closed it for idleness) without reporting an
    outage; longer waits are our backoff's business, not the client's."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 1),
        decode_responses=True,
    )


class RedisLink:
    def __init__(self, url: str, timeout_s: float, backoff_max_s: float) -> None:
        self.client = connect(url, timeout_s)
        self.where = redact_text(url)
        self._timeout_s = timeout_s
        self._backoff_max_s = max(backoff_max_s, BACKOFF_MIN_S)
        self._backoff_s = 0.0
        self._retry_at = 0.0
        self.up: bool | None = None  # None until the first call
        self.last_error = ""
        self.down_since: float | None = None
        self.last_ok_at: float | None = None
        self.latency_ms: float | None = None
        self.outages = 0

    async def call(self, op: Callable[[Redis], Awaitable[T]]) -> T:
        """Run `op` against Redis within the timeout; RedisDown when it cannot."""
        if self.up is False and time.monotonic() < self._retry_at:
            raise RedisDown(self.last_error)
        started = time.perf_counter()
        try:
            result = await asyncio.wait_for(op(self.client), self._timeout_s * CALL_BUDGET)
        except Exception as exc:
            if not is_outage(exc):
                raise
            self.failed(exc)
            raise RedisDown(self.last_error) from None
        self.succeeded((time.perf_counter() - started) * 1000)
        return result

    def retry_delay(self) -> float:
        """Seconds until the next attempt is allowed (0 when Redis is up)."""
        return max(0.0, self._retry_at - time.monotonic()) if self.up is False else 0.0

    def failed(self, exc: BaseException) -> None:
        """Count a failure: back off, and log only the first failure of an outage."""
        self._backoff_s = min(max(self._backoff_s * 2, BACKOFF_MIN_S), self._backoff_max_s)
        self._retry_at = time.monotonic() + self._backoff_s
        self.last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if self.up is False:
            return
        self.up, self.down_since = False, time.time()
        self.outages += 1
        log.warning(
            "Redis %s unreachable (%s): trading continues without it; reconnecting with "
            "backoff up to %.0fs (logged once per outage)",
            self.where,
            self.last_error,
            self._backoff_max_s,
        )

    def succeeded(self, latency_ms: float | None = None) -> None:
        if self.up is False and self.down_since is not None:
            log.warning(
                "Redis %s reachable again after %.1fs", self.where, time.time() - self.down_since
            )
        self.up, self.down_since = True, None
        self._backoff_s = 0.0
        self.last_ok_at = time.time()
        if latency_ms is not None:
            self.latency_ms = latency_ms

    def health(self) -> tuple[bool, str]:
        """(reachable, detail) for the health check: never raises, never awaits."""
        if self.up is None:
            return False, f"{self.where}: not connected yet"
        if self.up:
            latency = f"{self.latency_ms:.1f} ms" if self.latency_ms is not None else "?"
            return True, f"{self.where} reachable ({latency})"
        since = time.time() - (self.down_since or time.time())
        return False, (
            f"{self.where} unreachable for {since:.0f}s ({self.last_error}); "
            "trading continues, reconnecting"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.where,
            "up": self.up,
            "last_error": self.last_error or None,
            "down_since": self.down_since,
            "last_ok_at": self.last_ok_at,
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 3),
            "outages": self.outages,
        }

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.client.aclose(), self._timeout_s)
        except Exception as exc:
            log.debug("closing the Redis client: %s", exc)
