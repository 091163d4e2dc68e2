"""Where the tests find the real Prometheus programs (`prometheus`, `promtool`).

They come from the Debian package `prometheus`, installed the way `scripts/services.sh up`
installs the other servers: already on PATH, else `apt-get install -y prometheus` when
this runs as root with apt (once per machine: a lock keeps parallel workers from
installing twice), else the tests that need them skip and say why. The package's own
systemd service is never used: a test starts a `prometheus` process of its own, with a
config and a data directory in a temporary directory, on a free port, and stops it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

PACKAGE = "prometheus"
APT_TIMEOUT_S = 600
_LOCK = Path(tempfile.gettempdir()) / "arbctl-apt-prometheus.lock"


def _found() -> tuple[str, str] | None:
    server, tool = shutil.which("prometheus"), shutil.which("promtool")
    return (server, tool) if server and tool else None


def _apt_install() -> str:
    """Install the Debian package; returns what went wrong ("" when it worked)."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "not root with apt-get"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with _LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _found():
            return ""
        for argv in (["apt-get", "update"], ["apt-get", "install", "-y", PACKAGE]):
            done = subprocess.run(
                argv, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT_S, check=False
            )
            if done.returncode != 0 and argv[1] == "install":
                return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
    return ""


def prometheus_programs() -> tuple[str, str]:
    """(prometheus, promtool): found, or installed now; the test skips when neither works."""
    found = _found()
    if found:
        return found
    problem = _apt_install()
    found = _found()
    if found:
        return found
    pytest.skip(f"prometheus/promtool not installed and cannot be ({problem or 'not found'})")


def promtool(
    *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `promtool ARGS` (text in, text out, never raises on a non-zero exit)."""
    _, tool = prometheus_programs()
    return subprocess.run(
        [tool, *args],
        input=stdin,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
