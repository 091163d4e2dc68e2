"""The market's worker thread: per-block CPU work runs here, never on the event loop.

The search over a big market and the simulated chain's block (noise, sweeps, the
mempool) take tens of milliseconds; on the loop they would delay every kill and every
`status` by as much. They run instead on one dedicated thread per market (numpy and
most of the pure-Python work release the loop; the GIL is shared but switched every few
milliseconds), through a single-thread executor, so jobs run one at a time in the
order they were submitted.

Invariant: the market's pools are mutated only by jobs on this worker (the simulated
chain's mining) or on the loop while no search job is queued or running (the venue's
`blocks()` applying a block, which only the pipeline, the sole submitter of searches,
drives between searches). One thread, one job at a time: a search therefore never reads
pools that are being changed.

The GIL: numpy's kernels release it, but the simulated chain and the search's exact
re-check are pure Python and hold it. A thread that wants the GIL back gets it when the
holder has run for the interpreter's switch interval (5 ms by default), and a request
on the socket takes it back several times (read, handle, write): behind a busy worker a
`status` would wait 5 ms at each step. A worker therefore lowers the process's switch
interval to `SWITCH_INTERVAL_S`; the cost is a hand-over every 0.1 ms, and only while
the loop actually wants to run.

The kernel: on two busy cores the loop thread, once it has the GIL, may still wait for
a core. The worker thread runs at the lowest priority (nice +19) so the loop goes first.

`busy` says whether a job is queued or running; `on_idle` callbacks run on the loop
after the job that made the worker idle has handed its result to its awaiting task, so
that task resumes before anything woken by the callback (the simulated chain relies on
it to keep a seed's blocks identical whatever the machine's speed).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
SWITCH_INTERVAL_S = 0.0001
WORKER_NICE = 19  # added to the process's niceness, for the worker thread only


class MarketWorker:
    def __init__(self, name: str = "market") -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"arbctl-{name}", initializer=_lower_priority
        )
        self._jobs = 0
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        self._idle_callbacks: list[Callable[[], None]] = []

    @property
    def busy(self) -> bool:
        """A job is queued or running (counted until its thread is done with it)."""
        return self._jobs > 0

    def on_idle(self, callback: Callable[[], None]) -> None:
        self._idle_callbacks.append(callback)

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """Run `function(*args)` on the worker thread; await its result on the loop.

        If the awaiting task is cancelled the job still runs to its end (a thread cannot
        be interrupted) and the worker stays busy until it has.
        """
        loop = asyncio.get_running_loop()
        job = self._executor.submit(function, *args)
        self._jobs += 1
        result = asyncio.wrap_future(job, loop=loop)
        job.add_done_callback(lambda _: self._from_thread(loop))
        return await result

    def _from_thread(self, loop: asyncio.AbstractEventLoop) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is already closed: nobody waits
            loop.call_soon_threadsafe(self._done, loop)

    def _done(self, loop: asyncio.AbstractEventLoop) -> None:
        # The result was chained first, so its `_set_state` ran just before this and
        # queued the awaiting task's wake-up; `call_soon` queues the callbacks after it.
        self._jobs -= 1
        if self._jobs == 0:
            for callback in self._idle_callbacks:
                loop.call_soon(callback)

    def close(self) -> None:
        """No new jobs; a running one finishes in its thread."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def _lower_priority() -> None:
    """On the worker thread: nice it below the loop, so that on busy cores the kernel
    runs the loop (and the client it answers) first. Linux nices threads one by one."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICE)
