"""`arbctl fleet` lists the engines present in Redis, through the local engine or
straight from Redis, and an engine that stops leaves the list."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import CliRunner

from arbctl.cli import app
from tests.conftest import EngineHandle, wait_until
from tests.fleet.conftest import SHARED_REDIS_URL, redis_toml, wait_for_state


def _fleet(engine: EngineHandle, *args: str) -> dict[str, Any]:
    result = engine.cli("fleet", "--json", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def _pids(data: dict[str, Any]) -> set[int]:
    return {e["pid"] for e in data["engines"]}


def test_fleet_lists_both_engines(
    engine_factory: Callable[..., EngineHandle], namespace: str
) -> None:
    a = engine_factory(redis_toml(SHARED_REDIS_URL, namespace))
    b = engine_factory(redis_toml(SHARED_REDIS_URL, namespace))
    for engine in (a, b):
        wait_for_state(engine, "running")

    assert wait_until(lambda: _pids(_fleet(a)) == {a.pid, b.pid})
    data = _fleet(a)
    assert data["namespace"] == namespace and data["via"] == "engine"
    by_pid = {e["pid"]: e for e in data["engines"]}
    assert by_pid[b.pid]["socket"] == str(b.socket)
    assert by_pid[b.pid]["state"] == "running"
    assert by_pid[b.pid]["heartbeat_age_s"] is not None and by_pid[b.pid]["host"]

    direct = _fleet(a, "--redis-url", SHARED_REDIS_URL, "--namespace", namespace)
    assert direct["via"] == "redis" and _pids(direct) == {a.pid, b.pid}

    table = a.cli("fleet")
    assert table.returncode == 0
    for name in by_pid[a.pid]["name"], by_pid[b.pid]["name"]:
        assert name in table.stdout

    b.stop()  # a graceful stop leaves the fleet at once, without waiting for the TTL
    assert wait_until(lambda: _pids(_fleet(a)) == {a.pid})


PROBE = """
import json, sys
from typer.main import get_command
import arbctl.cli
try:
    get_command(arbctl.cli.app).main({argv!r}, prog_name="arbctl", standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("argv", [["status", "--json"], ["kill", "--help"], ["fleet", "--help"]])
def test_plain_commands_and_help_do_not_import_redis(argv: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)],
        capture_output=True,
        text=True,
        check=True,
        env={"ARBCTL_SOCKET": "/tmp/arbctl-test-no-such.sock", "PATH": "/usr/bin:/bin"},
    )
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert not {m for m in loaded if m.split(".")[0] == "redis" or m.startswith("engine.hot")}


def test_fleet_help_explains_exit_codes() -> None:
    result = CliRunner().invoke(app, ["fleet", "--help"], terminal_width=200)
    assert result.exit_code == 0 and "Exit codes" in result.output
