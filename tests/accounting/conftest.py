"""Fixtures for the accounting suite: real engines (`arbctl up`) on a busy seeded market,
with SQLite or with their own PostgreSQL schema and role, and no mocks.

The market: blocks every 20 ms, seed 13, rivals front-running 30 % of our orders, so a
few seconds give hundreds of blocks and trades with plenty of reverts. The trade rules
are off: their breaker would stop trading on exactly the reverts these tests want.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from tests.conftest import EngineHandle, new_engine_dir, wait_until
from tests.guards.conftest import QUIET_TRADE_RULES, rpc, toml_table
from tests.ledger.conftest import PG_DSN, unique_name
from tests.services import pg_dsn

SIM = {"block_ms": 20, "seed": 13, "competitor_probability": 0.3, "v3_pools": False}
BUSY_MARKET = toml_table("sim", SIM) + toml_table("guards", {"disabled": list(QUIET_TRADE_RULES)})

EngineMaker = Callable[..., EngineHandle]


@pytest.fixture
def busy_engine() -> Iterator[EngineMaker]:
    """`busy_engine(extra_toml)`: a running engine on the busy market; stopped after."""
    handles: list[EngineHandle] = []

    def make(extra_toml: str = "") -> EngineHandle:
        handle = EngineHandle(dir=new_engine_dir(), config_text=BUSY_MARKET + extra_toml)
        handles.append(handle)
        handle.start()
        return handle

    yield make
    for handle in handles:
        handle.cleanup()


def status(engine: EngineHandle) -> dict[str, Any]:
    return rpc(engine, "status")


def wait_for_trading(engine: EngineHandle, trades: int, reverted: int, blocks: int = 0) -> None:
    """Until the ledger holds `trades` trades of which `reverted` reverted (and the engine
    has seen `blocks` blocks): polled, never slept for."""

    def enough() -> bool:
        pnl = rpc(engine, "pnl", {"period": "all"})
        seen = status(engine)["blocks_seen"] or 0
        done = pnl["total_trades"] >= trades and pnl["reverted_trades"] >= reverted
        return done and seen >= blocks

    assert wait_until(enough, 60.0), f"engine did not book {trades} trades: {status(engine)}"


def pause_and_settle(engine: EngineHandle) -> None:
    """Pause, then wait until nothing is in flight and the ledger has every row."""
    rpc(engine, "pause", {"reason": "test: settle the books", "client": "pytest"})

    def settled() -> bool:
        s = status(engine)
        return s["in_flight"] == 0 and s["ledger"]["pending"] == 0 and s["ledger"]["ok"]

    assert wait_until(settled, 30.0), f"engine did not settle: {status(engine)}"


def cli_json(engine: EngineHandle, *args: str) -> tuple[int, dict[str, Any]]:
    result = engine.cli(*args, "--json")
    try:
        return result.returncode, json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"arbctl {' '.join(args)} printed no JSON:\n{result.stdout}{result.stderr}")


# --- PostgreSQL: a schema and a role of the test's own ----------------------------------------
def pg(sql: str, *args: Any) -> list[asyncpg.Record]:
    """One statement as the admin user, on a connection of its own."""

    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(PG_DSN)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


@dataclass(frozen=True)
class PgLedger:
    role: str
    schema: str

    @property
    def dsn(self) -> str:
        return pg_dsn(self.role)

    def toml(self) -> str:
        return toml_table("ledger", {"backend": "postgres", "dsn": self.dsn, "schema": self.schema})

    def cut_off(self) -> None:
        """The database goes away for this engine, for real: its role may no longer log
        in and its sessions are killed. The server itself is shared and stays up."""
        pg(f'ALTER ROLE "{self.role}" NOLOGIN')
        pg(_TERMINATE, self.role)

    def restore(self) -> None:
        pg(f'ALTER ROLE "{self.role}" LOGIN')


_TERMINATE = "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename = $1"


@pytest.fixture
def pg_ledger() -> Iterator[PgLedger]:
    """A login role owning a fresh schema; request it before the engine fixture, so the
    engine is stopped before the role and schema are dropped."""
    ledger = PgLedger(unique_name("arbctl_acct_role"), unique_name("arbctl_acct"))
    pg(f'CREATE ROLE "{ledger.role}" LOGIN')
    pg(f'CREATE SCHEMA "{ledger.schema}" AUTHORIZATION "{ledger.role}"')
    yield ledger
    pg(_TERMINATE, ledger.role)
    pg(f'DROP SCHEMA IF EXISTS "{ledger.schema}" CASCADE')
    pg(f'DROP OWNED BY "{ledger.role}"')
    pg(f'DROP ROLE "{ledger.role}"')


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    assert wait_until(predicate, timeout), f"timed out waiting for {what}"
