"""The `[redis]` section: optional, its password masked, bad timings refused at start."""

from __future__ import annotations

from collections.abc import Callable

from engine.config import Config, RedisSection, redacted
from tests.conftest import EngineHandle
from tests.fleet.conftest import SHARED_REDIS_URL, redis_toml


def test_redis_is_off_by_default() -> None:
    assert Config().redis.url == ""


def test_config_show_masks_the_redis_password() -> None:
    for url in ("redis://:s3cret-pw@10.0.0.5:6379/0", "redis://ops:s3cret-pw@10.0.0.5/0"):
        shown = redacted(Config(redis=RedisSection(url=url)))["redis"]["url"]
        assert "s3cret-pw" not in shown and "10.0.0.5" in shown


def test_an_engine_refuses_a_ttl_shorter_than_the_heartbeat(
    engine_factory: Callable[..., EngineHandle], namespace: str
) -> None:
    engine = engine_factory(
        redis_toml(SHARED_REDIS_URL, namespace, heartbeat_s=2.0, ttl_s=1.0), start=False
    )
    engine.config.write_text(engine.config_text)
    result = engine.cli("up", "--config", str(engine.config), "--json")
    assert result.returncode != 0
    logged = engine.log.read_text() if engine.log.exists() else ""
    assert "redis.ttl_s" in result.stdout + result.stderr + logged
