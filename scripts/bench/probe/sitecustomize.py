"""Bench-only probes loaded into an engine under test (`scripts/bench/offloop.py --probe`).

Put on the engine's PYTHONPATH (after the code tree), Python imports this at start-up.
Never part of the engine; nothing here runs unless its variable is set:

- `ARBCTL_BENCH_KILL_LOG=PATH`: each `KillSwitch.kill` appends its duration inside the
  engine (ms, from the call to the answer, the first latch write included), so the
  engine's share can be told from the client's and the socket's;
- `ARBCTL_BENCH_SWITCH_INTERVAL=SECONDS`: the market worker's GIL switch interval
  (`engine.market.worker.SWITCH_INTERVAL_S`) for this run, to compare values;
- `ARBCTL_BENCH_WAKE_LOG=PATH`: a daemon thread sleeps `WAKE_SLEEP_S` over and over and
  appends how late each wake-up was (ms) and how much of it the thread spent on the
  kernel's run queue (ms, from `/proc/thread-self/schedstat`): the rest is the wait for
  the GIL. Any thread of the engine (the loop after `epoll`, the halt latch's I/O thread
  after each syscall) pays the same two waits each time it takes the GIL back, so this
  tells a GIL tail (the worker holding it) from a scheduling tail (no free core). It
  starts with the engine's first market worker (not in the CLI's own processes).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from typing import Any

WAKE_SLEEP_S = 0.001


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


def _run_queue_ms() -> float:
    with open("/proc/thread-self/schedstat") as stat:  # run time, run-queue wait (ns), …
        return int(stat.read().split()[1]) / 1e6


def _wake_log(path: str) -> None:
    import engine.market.worker as worker

    original = worker.MarketWorker.__init__
    started: list[threading.Thread] = []

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if not started:
            started.append(threading.Thread(target=sleeper, name="bench-wake", daemon=True))
            started[0].start()

    def sleeper() -> None:
        with open(path, "a", buffering=1) as out:
            while True:
                queued, began = _run_queue_ms(), time.perf_counter()
                time.sleep(WAKE_SLEEP_S)
                late = (time.perf_counter() - began - WAKE_SLEEP_S) * 1000
                out.write(f"{late:.4f} {_run_queue_ms() - queued:.4f}\n")

    worker.MarketWorker.__init__ = init  # type: ignore[method-assign]


def _install() -> None:
    if path := os.environ.get("ARBCTL_BENCH_KILL_LOG"):
        _kill_log(path)
    if value := os.environ.get("ARBCTL_BENCH_SWITCH_INTERVAL"):
        _switch_interval(float(value))
    if path := os.environ.get("ARBCTL_BENCH_WAKE_LOG"):
        _wake_log(path)


with contextlib.suppress(ImportError):  # not an engine tree: nothing to probe
    _install()
