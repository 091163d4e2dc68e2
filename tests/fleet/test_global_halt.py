"""The shared halt flag: `kill --global` halts every engine of the namespace through its
own kill path (persisted, audited as "redis-global-halt"), no engine of another
namespace, and any engine started while it is set; only `resume --global` clears it."""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import redis

from engine.fleet.keys import Keys
from tests.conftest import EngineHandle, wait_until
from tests.fleet.conftest import (
    SHARED_REDIS_URL,
    call,
    free_port,
    health_check,
    redis_toml,
    wait_for_state,
)
from tests.fulldisk import small_tmpfs

GLOBAL_CLIENT = "redis-global-halt"


def _json(result: object) -> dict:
    stdout = getattr(result, "stdout", "")
    assert stdout, f"no output: {getattr(result, 'stderr', '')}"
    return json.loads(stdout)


def test_kill_global_halts_the_namespace_and_nothing_else(
    engine_factory: Callable[..., EngineHandle], namespaces: Callable[[], str]
) -> None:
    fleet_ns, other_ns = namespaces(), namespaces()
    a = engine_factory(redis_toml(SHARED_REDIS_URL, fleet_ns))
    b = engine_factory(redis_toml(SHARED_REDIS_URL, fleet_ns))
    c = engine_factory(redis_toml(SHARED_REDIS_URL, other_ns))
    for engine in (a, b, c):
        wait_for_state(engine, "running")

    result = a.cli("kill", "--global", "--reason", "fleet drill", "--json")
    report = _json(result)
    assert result.returncode == 0, report
    assert report["global"]["ok"] and report["global"]["namespace"] == fleet_ns
    assert report["acknowledged"]

    # A's first halt is kept (kills are idempotent): the flag's or the socket's, by timing.
    assert "fleet drill" in wait_for_state(a, "halted")["halt"]["reason"]
    halted_b = wait_for_state(b, "halted")["halt"]
    assert halted_b["source"] == GLOBAL_CLIENT and "fleet drill" in halted_b["reason"]
    audit = call(b, "audit", {"limit": 20})["entries"]
    assert any(e["action"] == "kill" and e["client"] == GLOBAL_CLIENT for e in audit)

    # C read its own namespace's flag after the kill, and kept running.
    set_at = report["global"]["flag"]["ts"]
    assert wait_until(lambda: (call(c, "redis")["halt"]["checked_at"] or 0) > set_at)
    assert call(c, "status")["state"] == "running"

    # Clearing the flag resumes B only; A keeps its own persisted halt until resumed.
    cleared = b.cli("resume", "--global", "--reason", "drill over", "--json")
    assert cleared.returncode == 0, cleared.stdout + cleared.stderr
    assert _json(cleared)["global"]["cleared"]["reason"] == "fleet drill"
    assert call(b, "status")["state"] == "running"
    assert call(a, "status")["state"] == "halted"
    assert a.cli("resume", "--reason", "drill over here too").returncode == 0
    assert call(a, "status")["state"] == "running"


def test_an_engine_started_under_the_flag_comes_up_halted_and_resume_needs_it_cleared(
    engine_factory: Callable[..., EngineHandle],
    no_engine: EngineHandle,
    namespace: str,
    shared_redis: redis.Redis,
) -> None:
    # From a machine with no engine: the flag is set, the local fallback reports no pid.
    flagged = no_engine.cli(
        "kill", "--global", "--redis-url", SHARED_REDIS_URL, "--namespace", namespace,
        "--reason", "exchange incident", "--json",
    )  # fmt: skip
    assert _json(flagged)["global"]["ok"], flagged.stdout
    assert shared_redis.exists(Keys(namespace).halt)

    engine = engine_factory(redis_toml(SHARED_REDIS_URL, namespace))
    halt = wait_for_state(engine, "halted")["halt"]
    assert halt["source"] == GLOBAL_CLIENT and "exchange incident" in halt["reason"]

    refused = engine.cli("resume", "--reason", "looks fine to me")
    assert refused.returncode == 1
    assert "resume --global" in refused.stderr
    assert call(engine, "status")["state"] == "halted"

    cleared = engine.cli("resume", "--global", "--reason", "incident closed")
    assert cleared.returncode == 0, cleared.stdout + cleared.stderr
    assert "GLOBAL HALT CLEARED" in cleared.stdout
    assert not shared_redis.exists(Keys(namespace).halt)
    assert call(engine, "status")["state"] == "running"


def test_kill_global_still_halts_the_local_engine_when_redis_is_unreachable(
    engine: EngineHandle,
) -> None:
    wait_for_state(engine, "running")
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    result = engine.cli("kill", "--global", "--redis-url", nowhere, "--reason", "x", "--json")
    report = _json(result)
    assert result.returncode == 0  # the local halt held: not a failed kill (docs/cli.md)
    assert report["global"]["ok"] is False and report["halted"] is True
    assert call(engine, "status")["state"] == "halted"


def test_the_global_flag_halts_an_engine_whose_disk_is_full_through_the_kill_switch(
    engine_factory: Callable[..., EngineHandle], no_engine: EngineHandle, namespace: str
) -> None:
    engine = engine_factory(redis_toml(SHARED_REDIS_URL, namespace), start=False)
    with small_tmpfs(engine.state_dir) as disk:
        try:
            engine.start()
            wait_for_state(engine, "running")
            disk.fill()
            flagged = no_engine.cli(
                "kill", "--global", "--redis-url", SHARED_REDIS_URL, "--namespace", namespace,
                "--reason", "desk-wide stop", "--json",
            )  # fmt: skip
            assert _json(flagged)["global"]["ok"], flagged.stdout

            halted = wait_for_state(engine, "halted")
            halt = halted["halt"]
            assert halt["source"] == GLOBAL_CLIENT and "desk-wide stop" in halt["reason"]
            assert halt["uid"] == os.getuid()
            assert halt["persisted"] is False and "No space left" in halt["persist_error"]
            assert health_check(engine, "halt_latch")["status"] == "CRITICAL"
            audit = call(engine, "events.recent", {"topics": ["audit"]})["events"]
            kills = [e["data"] for e in audit if e["data"]["action"] == "kill"]
            assert [k["client"] for k in kills] == [GLOBAL_CLIENT]

            disk.free()
            assert wait_until(lambda: call(engine, "status")["halt"]["persisted"] is True)
            assert (engine.state_dir / "halt.json").exists()
        finally:
            disk.free()
            engine.cleanup()
