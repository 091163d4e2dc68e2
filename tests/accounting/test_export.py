"""`arbctl export trades`: the CSV is a faithful copy of the ledger's trades."""

from __future__ import annotations

import asyncio
import csv
import re
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest

from engine.accounting.export import COLUMNS, trade_from_row
from engine.ledger.records import TRADE_MONEY_FIELDS, TradeRecord
from engine.ledger.sqlite import SqliteLedger
from tests.accounting.conftest import (
    BUSY_MARKET,
    cli_json,
    pause_and_settle,
    wait_for_trading,
)
from tests.conftest import EngineHandle, new_engine_dir
from tests.guards.conftest import rpc

INTEGER = re.compile(r"^-?\d+$")


@pytest.fixture(scope="module")
def settled() -> Iterator[EngineHandle]:
    """One engine for the module: traded for a while, then paused with every row written
    (a trade still in flight would otherwise be booked after the export)."""
    engine = EngineHandle(dir=new_engine_dir(), config_text=BUSY_MARKET)
    try:
        engine.start()
        wait_for_trading(engine, trades=120, reverted=20)
        pause_and_settle(engine)
        yield engine
    finally:
        engine.cleanup()


def ledger_trades(path: Path, since: float, until: float) -> list[TradeRecord]:
    """The engine's own SQLite file, read through a second connection (WAL)."""

    async def read() -> list[TradeRecord]:
        store = SqliteLedger(path)
        await store.open()
        try:
            return await store.list_trades(since=since, until=until, limit=1_000_000)
        finally:
            await store.close()

    return asyncio.run(read())


def test_csv_export_round_trips_every_trade_field_exactly(settled: EngineHandle) -> None:
    out = settled.dir / "trades.csv"

    code, summary = cli_json(settled, "export", "trades", "--period", "today", "--out", str(out))

    assert code == 0, summary
    with out.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header, rows = reader.fieldnames, list(reader)
    assert header == list(COLUMNS)
    assert {f.name for f in fields(TradeRecord)} <= set(header)
    assert summary["rows"] == len(rows) >= 120
    for row in rows:
        assert all(INTEGER.match(row[name]) for name in TRADE_MONEY_FIELDS), row
    ledger = settled.state_dir / "ledger.sqlite3"
    assert [trade_from_row(row) for row in rows] == ledger_trades(
        ledger, summary["since"], summary["until"]
    )
    reverted = [row for row in rows if row["status"] == "reverted"]
    assert len(reverted) >= 20 and all(row["revert_reason"] for row in reverted)


def test_export_pages_join_up_without_gaps_or_repeats(settled: EngineHandle) -> None:
    page = rpc(settled, "export.trades", {"period": "all", "limit": 7})
    ids = [row[0] for row in page["rows"]]
    while page["cursor"] is not None:
        params = {key: page[key] for key in ("since", "until", "cursor")}
        page = rpc(settled, "export.trades", {**params, "limit": 7})
        ids += [row[0] for row in page["rows"]]

    everything = rpc(settled, "trades", {"limit": 100_000})["trades"]
    assert ids == [t["id"] for t in everything]
    assert len(ids) == len(set(ids)) >= 120


def test_export_to_stdout_is_the_same_csv(settled: EngineHandle) -> None:
    out = settled.dir / "again.csv"
    assert settled.cli("export", "trades", "--period", "all", "--out", str(out)).returncode == 0
    result = settled.cli("export", "trades", "--period", "all", "--out", "-")
    assert result.returncode == 0, result.stderr
    assert result.stdout == out.read_text(encoding="utf-8")
