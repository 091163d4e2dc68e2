"""The engine process's resource use, as the runbooks check it (`docker stats`, `df`).

Sampled once per heartbeat, not per request: psutil reads /proc, and the console asks
for these numbers continuously.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import psutil


class ResourceSampler:
    def __init__(self, state_dir: Path) -> None:
        self._process = psutil.Process()
        self._process.cpu_percent(None)  # the first reading primes the counter
        self._state_dir = state_dir
        self.latest: dict[str, Any] = {}

    def sample(self) -> dict[str, Any]:
        process = self._process
        with process.oneshot():
            memory = process.memory_info()
            self.latest = {
                "cpu_percent": round(process.cpu_percent(None), 1),
                "rss_bytes": memory.rss,
                "threads": process.num_threads(),
                "open_files": _open_files(process),
            }
        self.latest["disk_used_percent"] = disk_used_percent(self._state_dir)
        return self.latest


def disk_used_percent(path: Path) -> float:
    """As `df` reports it (used / (used + available)): the runbook's 80 % threshold is
    a df figure, and the blocks reserved for root are not space the engine can use."""
    disk = shutil.disk_usage(path)
    return round(100 * disk.used / (disk.used + disk.free), 1)


def _open_files(process: psutil.Process) -> int:
    try:
        return process.num_fds()
    except (psutil.Error, AttributeError):
        return -1
