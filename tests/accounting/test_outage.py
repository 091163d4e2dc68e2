"""The PostgreSQL ledger goes away mid-run: trading waits behind the `ledger_unavailable`
guard, the rows are kept, and when the database is back trading resumes with every
published trade in the ledger exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.accounting.conftest import (
    EngineMaker,
    PgLedger,
    cli_json,
    pause_and_settle,
    pg,
    status,
    wait_for,
)
from tests.conftest import EngineHandle

MAX_IN_FLIGHT = 4  # the pipeline's bound: executions already sent when trading stops


class Follower:
    """`arbctl events --follow` for trades and guard triggers, as an operator runs it."""

    def __init__(self, engine: EngineHandle) -> None:
        self.path = engine.dir / "events.jsonl"
        self._out = self.path.open("w")
        topics = ["--topic", "trade", "--topic", "guard_trigger"]
        argv = ["events", "--follow", "--since-seq", "0", *topics, "--json"]  # from the start
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "arbctl", *argv],
            env=engine.env(),
            stdout=self._out,
            stderr=subprocess.DEVNULL,
        )

    def events(self) -> list[dict[str, Any]]:
        lines = Path(self.path).read_text().splitlines()
        return [json.loads(line) for line in lines if line.endswith("}")]

    def trade_ids(self) -> list[str]:
        return [e["data"]["id"] for e in self.events() if e["topic"] == "trade"]

    def triggers(self, guard: str) -> list[dict[str, Any]]:
        found = [e["data"] for e in self.events() if e["topic"] == "guard_trigger"]
        return [t for t in found if t["guard"] == guard]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self._out.close()


@pytest.fixture
def follower_of() -> Iterator[Any]:
    followers: list[Follower] = []

    def follow(engine: EngineHandle) -> Follower:
        followers.append(Follower(engine))
        return followers[-1]

    yield follow
    for follower in followers:
        if follower.proc.poll() is None:
            follower.stop()


def test_trading_waits_out_a_database_outage_and_loses_or_doubles_nothing(
    pg_ledger: PgLedger, busy_engine: EngineMaker, follower_of: Any
) -> None:
    engine = busy_engine(pg_ledger.toml() + "[engine]\nevent_ring = 200000\n")
    follower = follower_of(engine)
    wait_for(lambda: len(follower.trade_ids()) >= 30, "trades before the outage")

    pg_ledger.cut_off()

    wait_for(lambda: follower.triggers("ledger_unavailable"), "the ledger_unavailable trigger")
    during = status(engine)
    assert during["state"] == "running"  # the engine state machine is not involved
    assert during["ledger"]["ok"] is False and during["ledger"]["pending"] > 0
    blocks = during["blocks_seen"]
    wait_for(lambda: status(engine)["blocks_seen"] >= blocks + 100, "blocks during the outage")
    later = status(engine)
    assert later["ledger"]["ok"] is False
    assert later["trades_booked"] - during["trades_booked"] <= MAX_IN_FLIGHT  # trading waits
    assert later["ledger"]["pending"] >= during["ledger"]["pending"]  # rows are kept

    pg_ledger.restore()

    wait_for(lambda: status(engine)["ledger"]["ok"], "the ledger to take writes again")
    booked = status(engine)["trades_booked"]
    wait_for(lambda: status(engine)["trades_booked"] >= booked + 30, "trading to resume")
    pause_and_settle(engine)
    total = status(engine)["trades_booked"]
    wait_for(lambda: len(follower.trade_ids()) >= total, "the follower to catch up")
    follower.stop()

    published = follower.trade_ids()
    stored = [row["id"] for row in pg(f'SELECT id FROM "{pg_ledger.schema}".trades')]
    assert len(published) == len(set(published)) == total
    assert len(stored) == len(set(stored))
    assert sorted(stored) == sorted(published)
    guards = pg(f'SELECT guard FROM "{pg_ledger.schema}".guard_triggers')
    assert "ledger_unavailable" in {row["guard"] for row in guards}  # kept, written later
    code, report = cli_json(engine, "reconcile")
    assert code == 0 and report["reconciled"], report


def test_db_backup_of_a_postgres_ledger_prints_the_pg_dump_command(
    pg_ledger: PgLedger, busy_engine: EngineMaker
) -> None:
    engine = busy_engine(pg_ledger.toml())
    dest = engine.dir / "ledger.dump"

    code, data = cli_json(engine, "db", "backup", str(dest))

    assert code == 0, data
    assert data["backend"] == "postgres"
    assert data["command"] == (
        f"pg_dump --dbname={pg_ledger.dsn} --schema={pg_ledger.schema} "
        f"--format=custom --file={dest}"
    )
    assert not dest.exists()
