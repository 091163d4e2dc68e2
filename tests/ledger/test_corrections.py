"""Correction rows (issue 18, reorgs in the books), on both backends (SQLite, PostgreSQL).

A trade whose block was reorged away is never edited: a correction row carries the exact
deltas to the chain's outcome now, and every total (pnl from the rollup, the raw scan the
reconciliation uses) is trades plus corrections. The `store` fixture runs each test once
per backend on a fresh database.
"""

from __future__ import annotations

import dataclasses

import pytest

from engine.accounting.reconcile import TradeScan
from engine.ledger.records import PnlSummary, correction_between
from engine.ledger.store import LedgerStore
from tests.ledger.conftest import T0, make_trade

HOUR = 3600
DAY = 86_400
OLD_HASH = "0x" + "01" * 32
NEW_HASH = "0x" + "02" * 32


async def test_a_trade_with_its_block_hash_comes_back_exactly(store: LedgerStore) -> None:
    trade = make_trade(block_hash=OLD_HASH, venue="evm", nonce=3, sender="0xme")
    await store.record_trades([trade])
    assert await store.get_trade(trade.id) == trade


async def test_a_reversed_trade_nets_to_nothing_in_pnl_and_the_trade_row_is_unchanged(
    store: LedgerStore,
) -> None:
    trade = make_trade(block_hash=OLD_HASH)
    await store.record_trades([trade])
    correction = correction_between(
        trade, None, old_block_hash=OLD_HASH, corrected_at=T0 + 60, reason="reorg"
    )
    await store.record_corrections([correction])

    assert await store.get_trade(trade.id) == trade  # never edited
    for summary in (await store.pnl(T0 - DAY, T0 + DAY), await _scan(store, T0 - DAY)):
        assert summary.total_trades == 1
        assert (summary.successful_trades, summary.failed_trades) == (0, 1)
        assert summary.gas_cost_wei == 0
        assert summary.net_profit_quote == 0
        assert summary.by_token["0xweth"]["profit_token"] == 0
    assert await store.list_corrections() == [correction]


async def test_a_moved_trade_counts_its_new_outcome_exactly(store: LedgerStore) -> None:
    trade = make_trade(block_hash=OLD_HASH)
    await store.record_trades([trade])
    moved = dataclasses.replace(
        trade,
        status="reverted",
        profit_token=-(2**130),
        profit_native=-(2**131) - 5,
        profit_quote=-77,
        gas_cost_wei=2**100 + 1,
        flash_fee=0,
        block_number=trade.block_number + 1,
        block_hash=NEW_HASH,
    )
    correction = correction_between(
        trade, moved, old_block_hash=OLD_HASH, corrected_at=T0 + 30, reason="reorg"
    )
    await store.record_corrections([correction])

    for summary in (await store.pnl(T0 - DAY, T0 + 2 * DAY), await _scan(store, T0 - DAY)):
        assert (summary.successful_trades, summary.reverted_trades) == (0, 1)
        assert summary.gas_cost_wei == 2**100 + 1
        assert summary.net_profit_native == -(2**131) - 5
        assert summary.by_token["0xweth"] == {"count": 1, "profit_token": -(2**130), "flash_fee": 0}
    (stored,) = await store.list_corrections(trade_id=trade.id)
    assert (stored.kind, stored.new_block, stored.new_block_hash) == (
        "moved",
        moved.block_number,
        NEW_HASH,
    )


async def test_a_correction_written_twice_is_counted_once(store: LedgerStore) -> None:
    trade = make_trade(block_hash=OLD_HASH)
    await store.record_trades([trade])
    correction = correction_between(
        trade, None, old_block_hash=OLD_HASH, corrected_at=T0 + 5, reason="reorg"
    )
    await store.record_corrections([correction])
    await store.record_corrections([correction, correction])
    assert len(await store.list_corrections()) == 1
    assert (await store.pnl(T0 - DAY, T0 + DAY)).gas_cost_wei == 0


async def test_a_correction_counts_in_the_period_it_was_written(store: LedgerStore) -> None:
    trade = make_trade(block_hash=OLD_HASH)  # detected at T0
    await store.record_trades([trade])
    later = T0 + 3 * DAY + 17
    correction = correction_between(
        trade, None, old_block_hash=OLD_HASH, corrected_at=later, reason="reorg"
    )
    await store.record_corrections([correction])
    before = await store.pnl(T0 - 1, T0 + HOUR)
    assert before.gas_cost_wei == trade.gas_cost_wei  # the closed period is not rewritten
    whole = await store.pnl(T0 - DAY, later + DAY)  # whole days from the rollup
    assert whole.gas_cost_wei == 0 and whole.net_profit_quote == 0
    assert _same_totals(whole, await _scan(store, T0 - DAY, later + DAY))


@pytest.mark.parametrize("field", ["profit_token", "gas_cost_wei"])
async def test_correction_money_that_is_not_an_int_is_refused(
    store: LedgerStore, field: str
) -> None:
    trade = make_trade(block_hash=OLD_HASH)
    correction = dataclasses.replace(
        correction_between(trade, None, old_block_hash=OLD_HASH, corrected_at=T0, reason="r"),
        **{field: 1.5},
    )
    with pytest.raises(TypeError, match=field):
        await store.record_corrections([correction])
    assert await store.list_corrections() == []


async def _scan(store: LedgerStore, since: float, until: float | None = None) -> PnlSummary:
    assert isinstance(store, TradeScan)
    return await store.pnl_from_trades(since, until)


def _same_totals(a: object, b: object) -> bool:
    keys = (
        "total_trades",
        "successful_trades",
        "failed_trades",
        "gas_cost_wei",
        "net_profit_quote",
    )
    return all(getattr(a, k) == getattr(b, k) for k in keys)
