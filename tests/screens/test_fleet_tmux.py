"""End to end in a real terminal: `arbctl tui --fleet` in a tmux pane at 80x24 with NO_COLOR,
three real engines on different chains and quote tokens found through Redis presence:
the fleet table, Enter into one engine's dashboard, Esc back, and the fleet kill typed
as an operator types it (`KILL⏎` after `K`)."""

from __future__ import annotations

import json
import shutil
import sys

import pytest
import redis

from tests.conftest import EngineHandle, wait_until
from tests.fleet.conftest import (  # noqa: F401  (fixtures)
    SHARED_REDIS_URL,
    namespace,
    namespaces,
    shared_redis,
)
from tests.screens.test_fleet import FLEET, three_engines  # noqa: F401  (fixture)
from tests.screens.test_tmux import Tmux, _console_env, tmux  # noqa: F401  (fixture)

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def _state(engine: EngineHandle) -> str:
    return json.loads(engine.cli("status", "--json").stdout).get("state", "?")


def test_fleet_view_drill_in_and_fleet_kill_in_tmux(
    three_engines: list[EngineHandle],  # noqa: F811
    namespace: str,  # noqa: F811
    shared_redis: redis.Redis,  # noqa: F811
    tmux: Tmux,  # noqa: F811
) -> None:
    argv = ["tui", "--fleet", "--redis-url", SHARED_REDIS_URL, "--namespace", namespace]
    tmux.start(_console_env(three_engines[0].socket), sys.executable, "-m", "arbctl", *argv)
    for name, seed, quote in FLEET:
        assert tmux.shows(name), tmux.screen()
        assert tmux.shows(f"sim-{seed}"), tmux.screen()
        assert tmux.shows(quote), tmux.screen()
    assert tmux.shows("3 engines"), tmux.screen()

    # Rows are sorted by name: arb-dai, bsc-usdt, eth-usdc. Drill into bsc-usdt.
    tmux.keys("Down", "Enter")
    assert tmux.shows("RUNNING"), tmux.screen()
    assert tmux.shows("sim-23"), tmux.screen()
    assert wait_until(lambda: "3 engines" not in tmux.screen(), 10), tmux.screen()
    tmux.keys("Escape")
    assert tmux.shows("3 engines"), tmux.screen()

    tmux.keys("K")
    assert tmux.shows("EMERGENCY KILL — WHOLE FLEET"), tmux.screen()
    tmux.type("KILL")
    tmux.keys("Enter")
    for engine in three_engines:
        assert wait_until(lambda e=engine: _state(e) == "halted", 20), tmux.screen()
    assert tmux.shows("3 of 3 engines halted"), tmux.screen()
    assert shared_redis.get(f"{namespace}:halt") is not None
