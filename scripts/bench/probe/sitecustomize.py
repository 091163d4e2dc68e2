"""Bench-only probes loaded into an engine under test (`scripts/bench/offloop.py --probe`).

Put on the engine's PYTHONPATH (after the code tree), Python imports this at start-up.
Never part of the engine; nothing here runs unless its variable is set:

- `ARBCTL_BENCH_KILL_LOG=PATH`: each `KillSwitch.kill` appends its duration inside the
  engine (ms, from the call to the answer, the first latch write included), so the
  engine's share can be told from the client's and the socket's;
- `ARBCTL_BENCH_SWITCH_INTERVAL=SECONDS`: the market worker's GIL switch interval
  (`engine.market.worker.SWITCH_INTERVAL_S`) for this run, to compare values.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import Any


def _kill_log(path: str) -> None:
    import engine.killswitch as killswitch

    original = killswitch.KillSwitch.kill

    async def kill(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original(self, *args, **kwargs)
        finally:
            with open(path, "a") as out:
                out.write(f"{(time.perf_counter() - started) * 1000:.4f}\n")

    killswitch.KillSwitch.kill = kill  # type: ignore[method-assign]


def _switch_interval(seconds: float) -> None:
    import engine.market.worker as worker

    worker.SWITCH_INTERVAL_S = seconds
    sys.setswitchinterval(seconds)


def _install() -> None:
    if path := os.environ.get("ARBCTL_BENCH_KILL_LOG"):
        _kill_log(path)
    if value := os.environ.get("ARBCTL_BENCH_SWITCH_INTERVAL"):
        _switch_interval(float(value))


with contextlib.suppress(ImportError):  # not an engine tree: nothing to probe
    _install()
