"""A trade any client saw is in the ledger exactly once, whatever ends the engine.

Real engines on the busy simulated market; a subscriber on the control socket collects
every trade id published as a `trade` event, exactly as the console or `arbctl events`
would see it. Then the engine is ended the hard ways (issue 11, findings 3 and 4):
- SIGKILL at random moments, several times over the same state directory;
- SIGSTOP, then `arbctl kill`'s fallback (halt marker, SIGTERM + SIGCONT, wait its grace),
  also while another process holds the SQLite write lock as the stop begins, so the
  writer's BEGIN is waiting when the stop comes (where a cancelled BEGIN used to leave
  the connection inside a transaction and every later write failed).
After a restart, every id seen must be in the ledger once, and the P&L rollup must count
each stored trade once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from arbctl import process
from tests.accounting.conftest import BUSY_MARKET, EngineMaker, pg, status, wait_for
from tests.conftest import EngineHandle, new_engine_dir, wait_until
from tests.control.conftest import Wire
from tests.guards.conftest import rpc

KILLS = 5
FREEZES = 2


class TradeTap:
    """A subscriber to `trade` events, reading on its own thread until the engine is gone."""

    def __init__(self, engine: EngineHandle) -> None:
        self.ids: list[str] = []
        self._wire = Wire(engine.socket, timeout=60.0)
        self._wire.result("subscribe", {"topics": ["trade"]})
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while (event := self._wire.next_event()) is not None:
            self.ids.append(event["data"]["id"])

    def wait_for(self, count: int) -> None:
        wait_for(lambda: len(self.ids) >= count, f"{count} trade events")

    def close(self) -> list[str]:
        """The ids seen until the engine closed the connection (it must be ending)."""
        self._thread.join(timeout=30.0)
        assert not self._thread.is_alive(), "the event stream never ended"
        self._wire.close()
        return self.ids


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_toml(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return ""
    return request.getfixturevalue("pg_ledger").toml()


@pytest.fixture
def books_engine(ledger_toml: str) -> Iterator[EngineHandle]:
    """An engine on the busy market with the test's ledger; not started."""
    handle = EngineHandle(dir=new_engine_dir(), config_text=BUSY_MARKET + ledger_toml)
    yield handle
    handle.cleanup()


def stored_ids(engine: EngineHandle) -> Counter[str]:
    """Every trade id in the engine's ledger, read from the database itself."""
    if "postgres" in engine.config_text:
        schema = engine.config_text.split('schema = "')[1].split('"')[0]
        return Counter(row["id"] for row in pg(f'SELECT id FROM "{schema}".trades'))
    path = engine.state_dir / "ledger.sqlite3"
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        return Counter(row[0] for row in conn.execute("SELECT id FROM trades"))
    finally:
        conn.close()


def settle(engine: EngineHandle) -> None:
    """No trading, nothing in flight, every row written."""
    if status(engine)["state"] == "running":
        rpc(engine, "pause", {"reason": "test: settle the books", "client": "pytest"})

    def settled() -> bool:
        s = status(engine)
        return s["in_flight"] == 0 and s["ledger"]["pending"] == 0 and s["ledger"]["ok"]

    wait_for(settled, "the books to settle")


def assert_booked_once(engine: EngineHandle, seen: list[str], context: str = "") -> None:
    """After a restart: each id seen is stored once, and the rollup counts each once."""
    assert len(seen) == len(set(seen)), "a trade event was published twice"
    settle(engine)
    stored = stored_ids(engine)
    missing = sorted(set(seen) - set(stored))
    lost = f"{len(missing)} of {len(seen)} trades seen are not in the ledger {context}"
    assert not missing, lost
    assert all(stored[i] == 1 for i in seen)
    total = rpc(engine, "pnl", {"period": "all"})["total_trades"]
    assert total == sum(stored.values())


def resume_if_halted(engine: EngineHandle) -> None:
    if status(engine)["state"] == "halted":
        rpc(engine, "resume", {"reason": "test: next round", "client": "pytest"})


# --- finding 4: SIGKILL -----------------------------------------------------------------------
def test_every_trade_seen_before_a_sigkill_at_a_random_moment_is_in_the_ledger_once(
    books_engine: EngineHandle,
) -> None:
    engine, seed = books_engine, random.randrange(2**32)
    rng = random.Random(seed)
    seen: list[str] = []
    for _ in range(KILLS):
        engine.start()
        tap = TradeTap(engine)
        tap.wait_for(rng.randint(2, 12))
        time.sleep(rng.uniform(0.0, 0.15))  # a random moment in the flow of trades
        os.kill(engine.pid, signal.SIGKILL)
        assert wait_until(lambda: not process.is_alive(engine.pid))
        seen += tap.close()

    engine.start()
    assert_booked_once(engine, seen, f"(random seed {seed})")


# --- finding 3: SIGSTOP, then the CLI's fallback kill -------------------------------------------
def fallback_kill(engine: EngineHandle, during: Callable[[], None] = lambda: None) -> dict:
    """`arbctl kill` on the frozen engine; `during` runs while the CLI works."""
    os.kill(engine.pid, signal.SIGSTOP)
    kill = subprocess.Popen(
        [sys.executable, "-m", "arbctl", "kill", "--reason", "frozen engine", "--json"],
        env=engine.env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    during()
    out, _ = kill.communicate(timeout=60)
    report = json.loads(out)
    steps = {step["step"]: step for step in report["steps"]}
    assert steps["ask_engine"]["ok"] is False  # frozen: the fallback path was taken
    assert steps["sigterm"]["ok"] and steps["sigcont"]["ok"]
    return steps


def test_a_frozen_engine_killed_by_the_fallback_stops_within_its_grace_keeping_every_trade(
    books_engine: EngineHandle,
) -> None:
    engine = books_engine
    seen: list[str] = []
    for _ in range(FREEZES):
        engine.start()
        resume_if_halted(engine)
        tap = TradeTap(engine)
        tap.wait_for(10)
        steps = fallback_kill(engine)
        assert steps["wait_exit"]["ok"], steps["wait_exit"]["detail"]
        seen += tap.close()

    engine.start()
    assert status(engine)["state"] == "halted"
    assert_booked_once(engine, seen)


class WriteLock:
    """Another process's write transaction on the SQLite ledger (a maintenance job)."""

    def __init__(self, path: Path) -> None:
        self._conn: sqlite3.Connection | None = None
        self._conn = sqlite3.connect(path, isolation_level=None, timeout=10.0)
        self._conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.rollback()
            conn.close()


def test_a_fallback_kill_while_another_process_holds_the_write_lock_keeps_every_trade(
    busy_engine: EngineMaker,
) -> None:
    """As the stop begins the writer's BEGIN is waiting for the lock, which is let go a
    moment later. The stop must still write every trade seen, within the kill's grace
    (before the fix it cancelled the writer there and looped on `cannot start a
    transaction within a transaction` until its deadline, losing the queued trades)."""
    engine = busy_engine()
    tap = TradeTap(engine)
    tap.wait_for(10)
    lock = WriteLock(engine.state_dir / "ledger.sqlite3")

    def release_after_the_stop_began() -> None:
        began = lambda: "shutdown requested" in engine.log.read_text()  # noqa: E731
        wait_for(began, "the engine to begin its stop")
        time.sleep(1.0)  # the other process finishes its work while the engine stops
        lock.release()

    try:
        steps = fallback_kill(engine, during=release_after_the_stop_began)
    finally:
        lock.release()
    assert steps["wait_exit"]["ok"], steps["wait_exit"]["detail"]
    seen = tap.close()

    engine.start()
    assert_booked_once(engine, seen)
