"""A real full disk for an engine's state directory: a small tmpfs, filled on demand.

Mounting needs root (or CAP_SYS_ADMIN); where the machine does not allow it the test is
skipped with the reason `mount` gave. The filler is one file, so freeing the disk is
deleting it. The mount is undone at teardown, lazily if a process still holds a file.
"""

from __future__ import annotations

import contextlib
import errno
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SIZE = "2m"
CHUNK = 64 * 1024
FILLER = "filler.bin"


@dataclass(frozen=True, slots=True)
class SmallDisk:
    path: Path

    @property
    def filler(self) -> Path:
        return self.path / FILLER

    def fill(self) -> int:
        """Write until the disk refuses; the bytes written. Also uses the last blocks."""
        written = 0
        with self.filler.open("ab", buffering=0) as out:
            for size in (CHUNK, 4096, 512, 1):
                written += _write_until_full(out, size)
        return written

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


def _write_until_full(out: object, size: int) -> int:
    written = 0
    block = b"\0" * size
    while True:
        try:
            written += out.write(block)  # type: ignore[attr-defined]
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            return written


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str = SIZE) -> Iterator[SmallDisk]:
    """Mount a `size` tmpfs on `path` (created), or skip the test saying why not."""
    if shutil.which("mount") is None:
        pytest.skip("no `mount` command on this machine: cannot make a small real disk")
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {done.stderr.strip()}")
    try:
        yield SmallDisk(path)
    finally:
        _unmount(path)


def _unmount(path: Path) -> None:
    unmounted = subprocess.run(["umount", str(path)], capture_output=True, check=False)
    if unmounted.returncode != 0:  # busy: detach now, the kernel frees it when released
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)
