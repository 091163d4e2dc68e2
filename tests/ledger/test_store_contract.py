"""The `LedgerStore` contract, run against both backends (SQLite and PostgreSQL).

Each test states one behaviour the engine relies on; the `store` fixture runs it once per
backend on a fresh database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from typing import Any

import pytest

from engine.ledger import migrations
from engine.ledger.records import (
    TRADE_MONEY_FIELDS,
    AuditEntry,
    GuardTrigger,
    PnlSummary,
    SessionSnapshot,
    TradeRecord,
)
from engine.ledger.store import LedgerStore, LedgerUnavailable
from tests.ledger.conftest import T0, StoreMaker, make_trade, random_trades

HOUR = 3600
DAY = 86_400


# --- trades ---------------------------------------------------------------------------
async def test_a_trade_comes_back_exactly_as_recorded(store: LedgerStore) -> None:
    trade = make_trade(status="reverted", revert_reason="INSUFFICIENT_OUTPUT_AMOUNT")
    await store.record_trades([trade])
    assert await store.get_trade(trade.id) == trade


async def test_an_unknown_trade_id_reads_as_none(store: LedgerStore) -> None:
    assert await store.get_trade("no-such-trade") is None


async def test_money_fields_hold_ints_far_beyond_128_bits_exactly(store: LedgerStore) -> None:
    huge = {name: 2**200 + 7 * i + 1 for i, name in enumerate(TRADE_MONEY_FIELDS)}
    huge["profit_quote"] = -(2**160) - 3
    trade = make_trade(**huge)
    await store.record_trades([trade])
    stored = await store.get_trade(trade.id)
    assert stored is not None
    assert {name: getattr(stored, name) for name in huge} == huge


async def test_money_that_is_not_an_int_is_refused_and_nothing_is_stored(
    store: LedgerStore,
) -> None:
    with pytest.raises(TypeError, match="profit_token"):
        await store.record_trades([make_trade(id="ok"), make_trade(id="bad", profit_token=1.5)])
    assert await store.list_trades() == []


async def test_recording_a_stored_trade_again_does_not_duplicate_it(store: LedgerStore) -> None:
    first, second = make_trade(id="a"), make_trade(id="b", detected_at=T0 + 1)
    await store.record_trades([first])
    await store.record_trades([first, second])  # a retry that overlaps the first batch
    trades = await store.list_trades()
    assert sorted(t.id for t in trades) == ["a", "b"]


async def test_a_retried_batch_is_not_counted_twice_in_pnl(store: LedgerStore) -> None:
    batch = random_trades(seed=1, count=20)
    await store.record_trades(batch)
    await store.record_trades(batch)
    summary = await store.pnl(0.0)
    assert summary.total_trades == 20
    assert summary.net_profit_quote == sum(t.profit_quote for t in batch)


async def test_a_repeated_id_within_one_batch_keeps_the_first(store: LedgerStore) -> None:
    first = make_trade(id="a", profit_quote=1)
    await store.record_trades([first, make_trade(id="a", profit_quote=2)])
    assert await store.get_trade("a") == first
    assert (await store.pnl(0.0)).net_profit_quote == 1


async def test_two_stores_recording_the_same_batch_at_once_store_it_once(
    make_store: StoreMaker,
) -> None:
    one, two = await make_store(), await make_store()
    batch = random_trades(seed=2, count=50)
    await asyncio.gather(one.record_trades(batch), two.record_trades(batch))
    summary = await one.pnl(0.0)
    assert summary.total_trades == 50
    assert summary.gas_cost_wei == sum(t.gas_cost_wei for t in batch)


async def test_list_trades_is_newest_first(store: LedgerStore) -> None:
    times = [T0 + 5, T0 + 1, T0 + 9, T0 + 3]
    await store.record_trades(
        [make_trade(id=f"t{i}", detected_at=ts) for i, ts in enumerate(times)]
    )
    listed = await store.list_trades()
    assert [t.detected_at for t in listed] == sorted(times, reverse=True)


async def test_list_trades_period_includes_since_and_excludes_until(store: LedgerStore) -> None:
    await store.record_trades([make_trade(id=f"t{i}", detected_at=T0 + i) for i in range(5)])
    listed = await store.list_trades(since=T0 + 1, until=T0 + 3)
    assert [t.id for t in listed] == ["t2", "t1"]


async def test_list_trades_filters_by_status(store: LedgerStore) -> None:
    statuses = ["success", "reverted", "failed", "success"]
    await store.record_trades(
        [make_trade(id=f"t{i}", status=s, detected_at=T0 + i) for i, s in enumerate(statuses)]
    )
    listed = await store.list_trades(status="success")
    assert [t.id for t in listed] == ["t3", "t0"]


async def test_failed_only_lists_reverted_and_failed_trades(store: LedgerStore) -> None:
    statuses = ["success", "reverted", "failed", "success"]
    await store.record_trades(
        [make_trade(id=f"t{i}", status=s, detected_at=T0 + i) for i, s in enumerate(statuses)]
    )
    listed = await store.list_trades(failed_only=True)
    assert [t.id for t in listed] == ["t2", "t1"]


async def test_list_trades_returns_at_most_limit_newest(store: LedgerStore) -> None:
    await store.record_trades([make_trade(id=f"t{i}", detected_at=T0 + i) for i in range(10)])
    listed = await store.list_trades(limit=3)
    assert [t.id for t in listed] == ["t9", "t8", "t7"]


async def test_list_trades_rejects_an_unknown_status(store: LedgerStore) -> None:
    with pytest.raises(ValueError, match="unknown trade status"):
        await store.list_trades(status="sucess")


# --- pnl ------------------------------------------------------------------------------
def python_pnl(trades: list[TradeRecord], since: float, until: float | None) -> dict[str, Any]:
    """The oracle: the totals computed directly from the records, independently of the
    stores' bucket code. Gross is net plus the costs in quote."""
    picked = [
        t for t in trades if t.detected_at >= since and (until is None or t.detected_at < until)
    ]
    by_token: dict[str, dict[str, int]] = {}
    for t in picked:
        entry = by_token.setdefault(t.token, {"count": 0, "profit_token": 0, "flash_fee": 0})
        entry["count"] += 1
        entry["profit_token"] += t.profit_token
        entry["flash_fee"] += t.flash_fee
    net_quote = sum(t.profit_quote for t in picked)
    gas_quote = sum(t.gas_cost_quote for t in picked)
    fee_quote = sum(t.flash_fee_quote for t in picked)
    return {
        "total_trades": len(picked),
        "successful_trades": sum(t.status == "success" for t in picked),
        "reverted_trades": sum(t.status == "reverted" for t in picked),
        "failed_trades": sum(t.status == "failed" for t in picked),
        "gross_profit_quote": net_quote + gas_quote + fee_quote,
        "gas_cost_wei": sum(t.gas_cost_wei for t in picked),
        "gas_cost_quote": gas_quote,
        "flash_fee_quote": fee_quote,
        "net_profit_native": sum(t.profit_native for t in picked),
        "net_profit_quote": net_quote,
        "by_token": by_token,
        "token_symbols": {t.token: t.token_symbol for t in picked},
    }


def totals(summary: PnlSummary) -> dict[str, Any]:
    data = dataclasses.asdict(summary)
    del data["since"], data["until"]
    return data


Window = tuple[float, float | None]


def random_windows(trades: list[TradeRecord], seed: int, count: int) -> list[Window]:
    """Periods whose ends fall on trade times, on hour and day boundaries, just off them,
    and anywhere: every way a partial hour or day can meet the rollup."""
    rng = random.Random(seed)
    hours = sorted({int(t.detected_at // HOUR) * HOUR for t in trades})
    days = sorted({int(t.detected_at // DAY) * DAY for t in trades})
    points = [t.detected_at for t in trades] + [float(h) for h in hours + days]
    points += [h + d for h in hours + days for d in (-1e-6, 1e-6, 0.5, HOUR - 0.5)]
    points += [T0 + rng.random() * 90 * HOUR for _ in range(20)]
    windows: list[Window] = [(0.0, None), (T0 - HOUR, None), (0.0, 2e9)]
    for _ in range(count):
        a, b = sorted(rng.sample(points, 2))
        windows.append((a, b) if rng.random() < 0.9 else (a, None))
    return windows


async def test_pnl_of_an_empty_period_is_all_zero(store: LedgerStore) -> None:
    await store.record_trades([make_trade()])
    summary = await store.pnl(T0 + 10, T0 + 20)
    assert totals(summary) == totals(PnlSummary(since=0.0, until=0.0))
    assert summary.success_rate is None


async def test_pnl_reports_the_period_asked_for(store: LedgerStore) -> None:
    summary = await store.pnl(T0, T0 + HOUR)
    assert (summary.since, summary.until) == (T0, T0 + HOUR)


async def test_gross_profit_is_net_profit_plus_gas_and_flash_fee_in_quote(
    store: LedgerStore,
) -> None:
    trade = make_trade(profit_quote=100, gas_cost_quote=30, flash_fee_quote=20)
    await store.record_trades([trade])
    summary = await store.pnl(0.0)
    assert (summary.gross_profit_quote, summary.net_profit_quote) == (150, 100)


async def test_pnl_sums_exactly_what_python_computes_from_the_records(
    store: LedgerStore,
) -> None:
    trades = random_trades(seed=3, count=300)
    for start in range(0, len(trades), 70):  # several batches, as the engine writes them
        await store.record_trades(trades[start : start + 70])
    for since, until in random_windows(trades, seed=3, count=25):
        summary = await store.pnl(since, until)
        assert totals(summary) == python_pnl(trades, since, until), (since, until)


async def test_rollup_pnl_equals_a_raw_scan_for_any_period(store: LedgerStore) -> None:
    trades = random_trades(seed=4, count=300)
    await store.record_trades(trades)
    for since, until in random_windows(trades, seed=4, count=40):
        from_rollup = await store.pnl(since, until)
        from_scan = await store.pnl_from_trades(since, until)  # type: ignore[attr-defined]
        assert totals(from_rollup) == totals(from_scan), (since, until)


async def test_pnl_sums_beyond_64_bits_exactly(store: LedgerStore) -> None:
    big = 2**130 + 1
    await store.record_trades(
        [make_trade(id=f"t{i}", detected_at=T0 + i * HOUR, gas_cost_wei=big) for i in range(3)]
    )
    assert (await store.pnl(0.0)).gas_cost_wei == 3 * big


# --- guard triggers and audit ----------------------------------------------------------
def make_trigger(id: str, ts: float) -> GuardTrigger:
    return GuardTrigger(
        id=id,
        ts=ts,
        guard="max_gas_price",
        action="blocked",
        reason="gas price above limit",
        observed=str(500 * 10**9),
        threshold=str(200 * 10**9),
        opportunity_id="opp-1",
    )


async def test_guard_triggers_round_trip_newest_first_since(store: LedgerStore) -> None:
    triggers = [make_trigger(f"g{i}", T0 + i) for i in range(4)]
    for trigger in triggers:
        await store.record_guard_trigger(trigger)
    assert await store.list_guard_triggers(since=T0 + 1) == triggers[:0:-1]


async def test_recording_a_guard_trigger_twice_keeps_one(store: LedgerStore) -> None:
    trigger = make_trigger("g1", T0)
    await store.record_guard_trigger(trigger)
    await store.record_guard_trigger(trigger)
    assert await store.list_guard_triggers() == [trigger]


async def test_audit_entries_get_increasing_ids_and_round_trip(store: LedgerStore) -> None:
    entries = [
        AuditEntry(ts=T0 + i, uid=1000, client="arbctl", action=action, reason="on call")
        for i, action in enumerate(["pause", "resume", "kill"])
    ]
    stored = [await store.append_audit(e) for e in entries]
    assert stored[0].id > 0
    assert [e.id for e in stored] == sorted({e.id for e in stored})
    assert await store.list_audit() == stored[::-1]


async def test_audit_params_keep_nested_values_and_big_ints(store: LedgerStore) -> None:
    params = {"reason": "key rotation", "limits": {"max_gas": 2**90, "pairs": ["a", "b"]}}
    entry = AuditEntry(ts=T0, uid=-1, client="engine", action="set", reason="x", params=params)
    await store.append_audit(entry)
    (listed,) = await store.list_audit()
    assert listed.params == params


async def test_list_audit_is_newest_first_since_and_limited(store: LedgerStore) -> None:
    for i in range(5):
        await store.append_audit(AuditEntry(T0 + i, 1000, "arbctl", f"a{i}", "r"))
    listed = await store.list_audit(since=T0 + 1, limit=2)
    assert [e.action for e in listed] == ["a4", "a3"]


# --- snapshots and engine state ----------------------------------------------------------
def snapshot(session: str, ts: float, status: str = "running") -> SessionSnapshot:
    kind = "shutdown" if status == "stopped" else "periodic"
    return SessionSnapshot(session, ts, kind, status, {"last_seq": int(ts), "big": 2**100})


async def test_a_snapshot_round_trips_with_its_assigned_id(store: LedgerStore) -> None:
    saved = await store.save_snapshot(snapshot("s1", T0))
    assert saved.id > 0
    assert await store.list_snapshots() == [saved]


async def test_latest_snapshot_is_none_on_an_empty_ledger(store: LedgerStore) -> None:
    assert await store.latest_snapshot() is None


async def test_latest_snapshot_is_the_newest(store: LedgerStore) -> None:
    await store.save_snapshot(snapshot("s1", T0 + 5))
    newest = await store.save_snapshot(snapshot("s2", T0 + 9))
    await store.save_snapshot(snapshot("s3", T0 + 1))
    assert await store.latest_snapshot() == newest


async def test_list_snapshots_is_newest_first_and_limited(store: LedgerStore) -> None:
    saved = [await store.save_snapshot(snapshot("s1", T0 + i)) for i in range(5)]
    assert await store.list_snapshots(limit=3) == saved[:1:-1]


async def test_cleanup_deletes_old_snapshots_of_stopped_sessions_only(store: LedgerStore) -> None:
    cutoff = T0 + 100
    old_stopped = [snapshot("done", T0), snapshot("done", T0 + 10, "stopped")]
    old_running = snapshot("crashed-or-live", T0 + 20)
    recent_of_stopped = snapshot("done-late", cutoff + 1, "stopped")
    recent = snapshot("live", cutoff + 50)
    kept = [old_running, recent_of_stopped, recent]
    for s in [*old_stopped, *kept]:
        await store.save_snapshot(s)
    await store.save_snapshot(snapshot("done-late", T0 + 30))  # old, session stopped later

    assert await store.cleanup_snapshots(older_than=cutoff) == 3
    remaining = await store.list_snapshots()
    assert [(s.session_id, s.ts) for s in remaining] == [
        (s.session_id, s.ts) for s in sorted(kept, key=lambda s: -s.ts)
    ]


async def test_cleanup_never_deletes_the_newest_snapshot(store: LedgerStore) -> None:
    await store.save_snapshot(snapshot("s1", T0))
    last = await store.save_snapshot(snapshot("s1", T0 + 10, "stopped"))
    assert await store.cleanup_snapshots(older_than=T0 + 1000) == 1
    assert await store.latest_snapshot() == last


async def test_engine_state_reads_back_the_last_value_set(store: LedgerStore) -> None:
    await store.set_state("halt", {"halted": True, "reason": "drill"})
    await store.set_state("halt", {"halted": False, "seq": 2**70})
    assert await store.get_state("halt") == {"halted": False, "seq": 2**70}


async def test_engine_state_keeps_floats_floats_and_ints_ints(store: LedgerStore) -> None:
    value = {"ratio": 0.1, "large_float": 1e20, "count": 10**20, "nested": [1.0, 2]}
    await store.set_state("mix", value)
    stored = await store.get_state("mix")
    assert stored == value
    assert stored is not None
    assert [type(stored[k]) for k in value] == [float, float, int, list]
    assert [type(x) for x in stored["nested"]] == [float, int]


async def test_engine_state_of_an_unknown_key_is_none(store: LedgerStore) -> None:
    assert await store.get_state("never-set") is None


# --- schema and health ------------------------------------------------------------------
async def test_schema_version_records_every_migration(store: LedgerStore) -> None:
    assert await store.schema_version() == len(migrations.load(store.backend))  # type: ignore[arg-type]


async def test_opening_an_existing_ledger_again_keeps_its_data(make_store: StoreMaker) -> None:
    first = await make_store()
    await first.record_trades([make_trade()])
    await first.close()
    again = await make_store()
    assert await again.get_trade("trade-1") == make_trade()
    assert await again.schema_version() == len(migrations.load(again.backend))  # type: ignore[arg-type]


async def test_ping_reports_a_round_trip_in_ms(store: LedgerStore) -> None:
    assert await store.ping() >= 0.0


async def test_a_closed_store_raises_ledger_unavailable(store: LedgerStore) -> None:
    await store.close()
    with pytest.raises(LedgerUnavailable, match="not open"):
        await store.ping()
    with pytest.raises(LedgerUnavailable):
        await store.record_trades([make_trade()])
