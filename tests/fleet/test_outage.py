"""Losing Redis never stops trading: health goes WARNING (never CRITICAL), the outage is
logged once, and everything recovers by itself when Redis comes back.

Runs against a private redis-server (SIGKILLed and restarted on the same port), never
the shared one."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from engine.fleet.halt import new_flag, set_flag
from engine.fleet.keys import Keys
from engine.fleet.link import connect
from tests.conftest import EngineHandle, wait_until
from tests.fleet.conftest import (
    PrivateRedis,
    call,
    health_check,
    redis_toml,
    wait_for_state,
)

NAMESPACE = "arbctl-test-outage"


def _redis_log(engine: EngineHandle, text: str) -> list[str]:
    """Lines of the engine's JSON log from the Redis part that contain `text`."""
    found = []
    for line in engine.log.read_text().splitlines():
        record = json.loads(line)
        if record.get("logger") == "arbctl.redis" and text in record.get("msg", ""):
            found.append(record["msg"])
    return found


def _trades_grow(engine: EngineHandle, by: int = 3, timeout: float = 30.0) -> bool:
    start = call(engine, "status")["trades_booked"]
    return wait_until(lambda: call(engine, "status")["trades_booked"] >= start + by, timeout)


def _set_global_halt(url: str, reason: str) -> None:
    async def main() -> None:
        client = connect(url, 2.0)
        try:
            await set_flag(client, Keys(NAMESPACE), new_flag(reason, "test"))
        finally:
            await client.aclose()

    asyncio.run(main())


def test_trading_goes_on_without_redis_and_health_recovers(
    engine_factory: Callable[..., EngineHandle], private_redis: PrivateRedis
) -> None:
    engine = engine_factory(redis_toml(private_redis.url, NAMESPACE))
    wait_for_state(engine, "running")
    assert wait_until(lambda: (health_check(engine, "redis") or {}).get("status") == "OK")
    presence = Keys(NAMESPACE, call(engine, "redis")["engine"]).presence

    private_redis.kill()
    assert wait_until(lambda: health_check(engine, "redis")["status"] == "WARNING")
    health = engine.cli("health", "--json")
    assert json.loads(health.stdout)["status"] != "CRITICAL"
    assert _trades_grow(engine), "trading stalled while Redis was down"
    assert call(engine, "status")["state"] == "running"
    assert call(engine, "redis")["link"]["outages"] == 1
    assert len(_redis_log(engine, "unreachable")) == 1, "an outage is logged once"

    private_redis.start()
    assert wait_until(lambda: health_check(engine, "redis")["status"] == "OK", 20)
    client = private_redis.client()
    assert wait_until(lambda: bool(client.exists(presence))), "the mirror did not resume"
    client.close()
    assert len(_redis_log(engine, "reachable again")) == 1
    assert _trades_grow(engine)

    # The watcher is back too: a flag set in the restarted Redis halts the engine.
    _set_global_halt(private_redis.url, "after the outage")
    halt = wait_for_state(engine, "halted")["halt"]
    assert halt["source"] == "redis-global-halt"
