"""Fixtures for the Redis hot-state tests: real Redis, real engines, private namespaces.

The shared Redis (tests/services.py: 127.0.0.1:6379 unless ARBCTL_REDIS_PORT says
otherwise) is used by other suites at the same time, so each test gets its own key prefix
(`arbctl-test-<uuid>`) and deletes its keys afterwards; nothing here ever flushes a
database. The outage test must kill Redis, so it starts a private `redis-server` on a free
port (`private_redis`) instead of touching the shared one.
TTLs and intervals are short so expiry and recovery happen within a few seconds.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from arbctl.client import Client
from tests.conftest import EngineHandle, wait_until
from tests.services import REDIS_URL, redis_server_binary

SHARED_REDIS_URL = REDIS_URL
FAST = {
    "heartbeat_s": 0.3,
    "ttl_s": 2.0,
    "halt_check_s": 0.5,
    "timeout_s": 0.5,
    "backoff_max_s": 1.0,
}


def redis_toml(url: str, namespace: str, **overrides: float) -> str:
    """A `[redis]` section with the fast test timings."""
    values = {**FAST, **overrides}
    lines = ["[redis]", f'url = "{url}"', f'namespace = "{namespace}"']
    lines += [f"{key} = {value}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def call(engine: EngineHandle, method: str, params: dict[str, Any] | None = None) -> Any:
    """One JSON-RPC call on the engine's socket (sync, like the CLI)."""
    return Client(engine.socket, timeout=10.0).call(method, params, timeout=10.0)


def wait_for_state(engine: EngineHandle, state: str, timeout: float = 15.0) -> dict[str, Any]:
    last: list[dict[str, Any]] = [{}]

    def reached() -> bool:
        last[0] = call(engine, "status")
        return last[0]["state"] == state

    assert wait_until(reached, timeout), f"engine never reached {state}: {last[0]}"
    return last[0]


def health_check(engine: EngineHandle, name: str) -> dict[str, Any] | None:
    checks = call(engine, "health")["checks"]
    return next((c for c in checks if c["name"] == name), None)


def delete_namespace(client: redis.Redis, namespace: str) -> None:
    """Remove every key of one test namespace (SCAN + DEL: never FLUSHALL)."""
    for key in list(client.scan_iter(match=f"{namespace}:*", count=500)):
        client.delete(key)


@pytest.fixture
def shared_redis() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(SHARED_REDIS_URL, decode_responses=True, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"the shared Redis at {SHARED_REDIS_URL} is not running: {exc}")
    yield client
    client.close()


@pytest.fixture
def namespaces(shared_redis: redis.Redis) -> Iterator[Callable[[], str]]:
    """Fresh namespaces on the shared Redis, deleted at teardown."""
    made: list[str] = []

    def make() -> str:
        made.append(f"arbctl-test-{uuid.uuid4().hex[:12]}")
        return made[-1]

    yield make
    for namespace in made:
        delete_namespace(shared_redis, namespace)


@pytest.fixture
def namespace(namespaces: Callable[[], str]) -> str:
    return namespaces()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PrivateRedis:
    """A redis-server of our own, so a test may SIGKILL it without hurting anyone."""

    port: int
    dir: Path
    binary: str = "redis-server"
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", str(self.dir)]
        self.process = subprocess.Popen(
            args, cwd=self.dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client = redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)
        assert wait_until(lambda: _pings(client), 10), "private redis-server did not start"
        client.close()

    def kill(self) -> None:
        """SIGKILL: no goodbye to connected clients, like a crashed or fenced Redis."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True, socket_timeout=2)


def _pings(client: redis.Redis) -> bool:
    with contextlib.suppress(redis.RedisError):
        return bool(client.ping())
    return False


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    binary = redis_server_binary()
    if binary is None:
        pytest.fail("no redis-server on PATH, nor one scripts/services.sh put into the venv")
    server = PrivateRedis(free_port(), Path(tempfile.mkdtemp(prefix="arbredis")), binary)
    server.start()
    yield server
    server.kill()
    shutil.rmtree(server.dir, ignore_errors=True)
