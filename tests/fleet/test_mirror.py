"""The mirror: an engine's state, latest heartbeat and provider health appear in Redis
with a TTL, follow state changes, and expire on their own once the engine is dead."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable

import redis

from engine.fleet.keys import Keys
from tests.conftest import EngineHandle, _alive, wait_until
from tests.fleet.conftest import FAST, SHARED_REDIS_URL, call, redis_toml, wait_for_state

TTL_MS = int(FAST["ttl_s"] * 1000)


def _record(client: redis.Redis, key: str) -> dict:
    raw = client.get(key)
    assert raw is not None, f"{key} is missing"
    return json.loads(raw)


def test_mirror_keys_carry_a_ttl_and_expire_after_the_engine_dies(
    engine_factory: Callable[..., EngineHandle], namespace: str, shared_redis: redis.Redis
) -> None:
    engine = engine_factory(redis_toml(SHARED_REDIS_URL, namespace))
    wait_for_state(engine, "running")
    keys = Keys(namespace, call(engine, "redis")["engine"])
    mirrored = [keys.presence, keys.state, keys.heartbeat, keys.providers]
    assert wait_until(lambda: all(shared_redis.exists(k) for k in mirrored)), (
        f"mirror keys missing: {sorted(shared_redis.scan_iter(match=f'{namespace}:*'))}"
    )
    for key in mirrored:
        assert 0 < shared_redis.pttl(key) <= TTL_MS, f"{key} has no TTL"

    assert _record(shared_redis, keys.presence)["pid"] == engine.pid
    assert _record(shared_redis, keys.state)["state"] == "running"
    heartbeat = _record(shared_redis, keys.heartbeat)
    assert {"loop_latency_ms", "trades_booked", "block"} <= heartbeat.keys()
    providers = _record(shared_redis, keys.providers)["providers"]
    assert providers and {"name", "status"} <= providers[0].keys()

    call(engine, "pause", {"reason": "mirror follows state changes"})
    assert wait_until(lambda: _record(shared_redis, keys.state)["state"] == "paused")

    os.kill(engine.pid, signal.SIGKILL)
    assert wait_until(lambda: not _alive(engine.pid))
    assert wait_until(lambda: not list(shared_redis.scan_iter(match=f"{namespace}:*"))), (
        f"keys outlived the engine: {sorted(shared_redis.scan_iter(match=f'{namespace}:*'))}"
    )
