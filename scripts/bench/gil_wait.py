"""Where the loop's wait comes from: the market's work in a thread, in slices, or in a process.

    .venv/bin/python scripts/bench/gil_wait.py                      # 50k pools, all modes
    .venv/bin/python scripts/bench/gil_wait.py --modes thread,process --repeat 3
    .venv/bin/python scripts/bench/gil_wait.py --tree /path/to/old --modes thread  # old code

The engine's market work per block (the simulated chain's `mine` and the search's
`on_block`, on the bench's 50k-pool market with ~1,000 pools changed per block) runs
for `--blocks` blocks in one of these places, while the main thread (standing in for the
event loop) sleeps 1 ms over and over and records how late each wake-up is:

- `none`: no market work at all (the machine's own floor);
- `thread`: on a worker thread at nice +19 with the GIL switch interval at 0.1 ms, as
  the engine does (`engine.market.worker`);
- `slices`: the same thread, which also gives the GIL up for `--yield-us` every
  `--slice-ms` of its work (a profile hook: an emulation of explicit yields between
  slices, to see whether they shorten the loop's wait beyond the forced switch);
  `slices@0.5/50` sets both for that mode (`slices@1e9/0`: the hook alone, no yields);
- `process`: in a child process at nice +19 (fork; its results would come back as
  records), so the main thread shares no GIL with it.

Each wake-up's lateness is split, from `/proc/thread-self/schedstat`, into the time the
main thread spent on the kernel's run queue (no free core: scheduling) and the rest
(asleep while runnable for Python: waiting for the GIL). Every time the loop takes the
GIL back (after `epoll`, a read, a write; the halt latch's I/O thread after each syscall)
it pays the same two waits, so the GIL column is what the market's work adds to each
step of a kill or a `status` (its floor, ~0.08 ms, is the sleep's own timer slack: see
`none`). With `--fifo` the main thread runs at SCHED_FIFO, so other processes on a
shared machine barely delay it and its GIL wait shows even under load (the worker keeps
the engine's nice +19 and is still preempted by them, as in the engine). Modes alternate
and repeat; compare within one run.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from control import describe, machine, percentiles_ms

if TYPE_CHECKING:
    from engine.market.sim.chain import SimChain
    from engine.strategy.search import ArbitrageSearch

ROOT = Path(__file__).resolve().parents[2]

SLEEP_S = 0.001
SWITCH_INTERVAL_S = 0.0001  # engine.market.worker.SWITCH_INTERVAL_S
NICE = [19]  # engine.market.worker.WORKER_NICE; --nice


def market(tokens: int, noise: int) -> tuple[SimChain, ArbitrageSearch]:
    """The bench's world, searched once (genesis: every pool), start-up heap frozen."""
    from engine.config import SimSection
    from engine.market.sim.chain import SimChain
    from tests.market.sim.drive import search_for

    chain = SimChain(SimSection(tokens=tokens, noise_swaps_per_block=noise))
    search = search_for(chain.market)
    genesis = chain.genesis(0.0)
    search.on_block(genesis.block, genesis.changed_pools, chain.gas.price)
    gc.collect()
    gc.freeze()
    return chain, search


def work(chain: SimChain, search: ArbitrageSearch, blocks: int, cpu: Any) -> None:
    """On the worker (thread or process): `blocks` blocks mined and searched."""
    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE[0])
    if FIFO_WORKER[0]:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    started = time.thread_time()
    try:
        for _ in range(blocks):
            mined = chain.mine(0.0)
            search.on_block(mined.block, mined.changed_pools, chain.gas.price)
    finally:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    cpu.value = (time.thread_time() - started) / blocks * 1000


def yielding(slice_s: float, yield_s: float) -> Callable[[FrameType, str, Any], None]:
    """A profile hook that sleeps `yield_s` (GIL released) after each `slice_s` of work."""
    since = [time.perf_counter()]

    def hook(frame: FrameType, event: str, arg: Any) -> None:
        now = time.perf_counter()
        if now - since[0] >= slice_s:
            time.sleep(yield_s)
            since[0] = time.perf_counter()

    return hook


def run_queue_ms() -> float:
    with open("/proc/thread-self/schedstat") as stat:
        return int(stat.read().split()[1]) / 1e6


FIFO = [False]  # --fifo: the probe runs at SCHED_FIFO
FIFO_WORKER = [False]  # --fifo-worker: and the worker too, below it


def probe(done: Callable[[], bool]) -> list[tuple[float, float]]:
    """(lateness, run-queue wait) of each 1 ms sleep, ms, until `done()`."""
    wakes = []
    if FIFO[0]:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
    try:
        while not done():
            queued, began = run_queue_ms(), time.perf_counter()
            time.sleep(SLEEP_S)
            late = (time.perf_counter() - began - SLEEP_S) * 1000
            wakes.append((late, run_queue_ms() - queued))
    finally:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    return wakes


class Value:
    value = 0.0


def run_mode(mode: str, args: argparse.Namespace) -> tuple[list[tuple[float, float]], float]:
    cpu: Any = Value()
    if mode == "none":
        ends = time.monotonic() + args.idle_s
        return probe(lambda: time.monotonic() > ends), 0.0
    if mode == "process":
        context = multiprocessing.get_context("fork")
        cpu = context.Value("d", 0.0)
        ready = context.Event()

        def child() -> None:
            chain, search = market(args.tokens, args.noise)
            ready.set()
            work(chain, search, args.blocks, cpu)

        process = context.Process(target=child)
        process.start()
        ready.wait()
        wakes = probe(lambda: not process.is_alive())
        process.join()
        return wakes, cpu.value
    chain, search = market(args.tokens, args.noise)
    hook = None
    if mode.startswith("slices"):  # slices, or slices@SLICE_MS/YIELD_US
        slice_ms, yield_us = args.slice_ms, args.yield_us
        if "@" in mode:
            slice_ms, yield_us = (float(x) for x in mode.split("@")[1].split("/"))
        hook = yielding(slice_ms / 1000, yield_us / 1e6)

    def target() -> None:
        if hook is not None:
            sys.setprofile(hook)
        work(chain, search, args.blocks, cpu)

    thread = threading.Thread(target=target)
    thread.start()
    wakes = probe(lambda: not thread.is_alive())
    thread.join()
    gc.unfreeze()  # this mode's market is garbage once returned
    return wakes, cpu.value


def describe_wakes(wakes: list[tuple[float, float]]) -> str:
    parts = {
        "late": [late / 1000 for late, _ in wakes],
        "run queue": [queued / 1000 for _, queued in wakes],
        "GIL": [max(0.0, late - queued) / 1000 for late, queued in wakes],
    }
    return f"{len(wakes):,} wakes · " + " · ".join(
        f"{name}: {describe(percentiles_ms(values))}" for name, values in parts.items()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=5_555, help="5,555: 50,003 pools")
    parser.add_argument("--noise", type=int, default=1_000, help="noise swaps per block")
    parser.add_argument("--blocks", type=int, default=60, help="blocks per mode")
    parser.add_argument("--modes", default="none,thread,slices,process")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--slice-ms", type=float, default=0.5)
    parser.add_argument("--yield-us", type=float, default=50.0)
    parser.add_argument("--idle-s", type=float, default=10.0, help="length of `none`")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the engine code to run")
    parser.add_argument(
        "--fifo",
        action="store_true",
        help="run the sleeping main thread at SCHED_FIFO (root): it gets a core at once, so "
        "on a shared machine what is left of its lateness is the GIL",
    )
    parser.add_argument(
        "--fifo-worker",
        action="store_true",
        help="with --fifo, run the worker at SCHED_FIFO too (below the main thread): no "
        "other process preempts it, as on a quiet machine",
    )
    parser.add_argument("--nice", type=int, default=19, help="the worker's niceness")
    args = parser.parse_args()
    sys.path.insert(0, str(args.tree.resolve()))
    NICE[0] = args.nice
    FIFO[0] = args.fifo
    FIFO_WORKER[0] = args.fifo and args.fifo_worker
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    print(f"- Machine: {machine()}")
    print(f"- Command: python {' '.join(sys.argv)}")
    print(f"- Tree: {args.tree.resolve()}; worker nice +{args.nice}; fifo {args.fifo}")
    print("\n| mode | worker CPU per block | 1 ms sleep on the main thread: lateness | load |")
    print("|---|---|---|---|")
    for _ in range(args.repeat):
        for mode in args.modes.split(","):
            before = ", ".join(f"{x:.1f}" for x in os.getloadavg())
            wakes, cpu = run_mode(mode, args)
            after = ", ".join(f"{x:.1f}" for x in os.getloadavg())
            cpu_text = f"{cpu:.1f} ms" if cpu else "-"
            print(f"| {mode} | {cpu_text} | {describe_wakes(wakes)} | {before} → {after} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
