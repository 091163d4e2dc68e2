"""A row the store refuses is set aside, never retried forever; a store that is away
keeps its rows. On SQLite and PostgreSQL alike (the `make_store` fixture runs both).

A lone surrogate cannot be encoded as UTF-8, so both databases refuse it: before, one
such row at the head of the queue failed every flush, for good, and took every row
behind it down with it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import pytest

from engine.daemon import _flush_until
from engine.ledger.records import AuditEntry, GuardTrigger
from engine.ledger.writer import LedgerWriter
from tests.ledger.conftest import StoreMaker, make_trade

BAD = "\ud800"


def audit(action: str, reason: str = "r") -> AuditEntry:
    return AuditEntry(ts=time.time(), uid=0, client="test", action=action, reason=reason)


def trigger(trigger_id: str, reason: str = "r") -> GuardTrigger:
    return GuardTrigger(trigger_id, time.time(), "max_gas_price", "blocked", reason, "1", "0")


def dead_letters(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def queue_good_and_bad(writer: LedgerWriter) -> None:
    writer.add_audit(audit("before"))
    writer.add_audit(audit("bad", reason=f"pause {BAD}"))
    writer.add_audit(audit("after"))
    for trade in (
        make_trade(id="t0"),
        make_trade(id="t-bad", token_symbol=f"W{BAD}"),
        make_trade(id="t1"),
        make_trade(id="t2"),
    ):
        writer.add_trade(trade)
    writer.add_trigger(trigger("g-bad", reason=BAD))
    writer.add_trigger(trigger("g-ok"))


async def test_a_row_the_store_refuses_is_quarantined_and_the_good_rows_are_written(
    make_store: StoreMaker, tmp_path: Path
) -> None:
    store = await make_store()
    deadletter = tmp_path / "ledger-deadletter.jsonl"
    writer = LedgerWriter(store, deadletter=deadletter)
    queue_good_and_bad(writer)
    assert await writer.flush() is True
    assert writer.healthy and writer.pending == 0
    assert sorted(t.id for t in await store.list_trades()) == ["t0", "t1", "t2"]
    assert [e.action for e in await store.list_audit()] == ["after", "before"]
    assert [t.id for t in await store.list_guard_triggers()] == ["g-ok"]
    found = dead_letters(deadletter)
    assert [(d["kind"], d["row"].get("id") or d["row"]["action"]) for d in found] == [
        ("trade", "t-bad"),
        ("guard_trigger", "g-bad"),
        ("audit", "bad"),
    ]
    assert all(d["error"] and d["ts"] for d in found)
    assert found[0]["row"]["token_symbol"] == f"W{BAD}"  # kept exactly, escaped in the JSON
    status = writer.to_dict()
    assert status["ok"] and status["quarantined"] == 3 and status["error"] == ""
    assert status["deadletter"] == str(deadletter) and status["last_quarantined_at"]


async def test_a_graceful_stop_with_a_refused_row_queued_loses_nothing(
    make_store: StoreMaker, tmp_path: Path
) -> None:
    """The daemon's last flush: every row ends up in the ledger or in the dead letters."""
    store = await make_store()
    deadletter = tmp_path / "ledger-deadletter.jsonl"
    writer = LedgerWriter(store, deadletter=deadletter)
    queue_good_and_bad(writer)
    assert await _flush_until(writer, time.monotonic() + 5.0) is True
    assert writer.pending == 0
    stored = len(await store.list_trades()) + len(await store.list_audit())
    stored += len(await store.list_guard_triggers())
    assert stored + len(dead_letters(deadletter)) == 9


async def test_a_refused_row_is_logged_once_without_a_traceback(
    make_store: StoreMaker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = await make_store()
    writer = LedgerWriter(store, deadletter=tmp_path / "dead.jsonl")
    caplog.set_level(logging.INFO, logger="arbctl.ledger")
    writer.add_audit(audit("bad", reason=BAD))
    for _ in range(3):
        assert await writer.flush() is True
    refused = [r for r in caplog.records if "quarantined" in r.getMessage()]
    assert len(refused) == 1 and refused[0].levelno == logging.ERROR
    assert not any(r.exc_info for r in caplog.records)


async def test_a_store_that_is_away_keeps_its_rows_and_quarantines_nothing(
    make_store: StoreMaker, tmp_path: Path
) -> None:
    store = await make_store()
    deadletter = tmp_path / "dead.jsonl"
    writer = LedgerWriter(store, deadletter=deadletter)
    await store.close()  # the database goes away under the writer
    writer.add_trade(make_trade(id="t0"))
    writer.add_audit(audit("kept"))
    assert await writer.flush() is False
    assert writer.pending == 2 and writer.to_dict()["quarantined"] == 0
    assert not deadletter.exists()
    await store.open()
    assert await writer.flush() is True
    assert [t.id for t in await store.list_trades()] == ["t0"]


async def test_a_refused_row_whose_text_says_closed_is_not_taken_for_a_closed_connection(
    make_store: StoreMaker, tmp_path: Path
) -> None:
    """asyncpg quotes the refused value in its error; "closed" in it once read as a closed
    pool, so the row was kept and retried forever."""
    store = await make_store()
    writer = LedgerWriter(store, deadletter=tmp_path / "dead.jsonl")
    writer.add_audit(audit("bad", reason=f"breaker closed {BAD}"))
    writer.add_audit(audit("good"))
    assert await writer.flush() is True
    assert [e.action for e in await store.list_audit()] == ["good"]
    assert writer.to_dict()["quarantined"] == 1


async def test_booking_a_trade_the_store_refuses_returns_once_it_is_in_the_dead_letters(
    make_store: StoreMaker, tmp_path: Path
) -> None:
    """`book_trade` waits for the commit before the trade is published; a refused trade
    is durable in the dead letters instead, and the pipeline must not wait for ever."""
    store = await make_store()
    deadletter = tmp_path / "dead.jsonl"
    writer = LedgerWriter(store, deadletter=deadletter)
    runner = asyncio.create_task(writer.run())
    try:
        bad, good = make_trade(id="t-bad", token_symbol=f"W{BAD}"), make_trade(id="t-ok")
        await asyncio.wait_for(asyncio.gather(writer.book_trade(bad), writer.book_trade(good)), 30)
    finally:
        runner.cancel()
    assert [t.id for t in await store.list_trades()] == ["t-ok"]
    assert [d["row"]["id"] for d in dead_letters(deadletter)] == ["t-bad"]
