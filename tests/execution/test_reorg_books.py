"""The books after reorgs: a trade plus its corrections is the chain's last word (issue 18).

Pure: no chain, no database. The devnet tests (tests/devnet/test_evm_reorgs.py) make the
reorgs on anvil; these check the arithmetic they rely on."""

from __future__ import annotations

import dataclasses

from engine.execution.reorgs import corrected, unmined
from engine.ledger.records import PNL_BUCKET_MONEY, correction_between
from tests.ledger.conftest import T0, make_trade

A, B = "0x" + "aa" * 32, "0x" + "bb" * 32


def test_reversed_then_mined_elsewhere_leaves_the_books_at_the_new_outcome() -> None:
    trade = make_trade(block_hash=A, nonce=1, sender="0xme")
    gone = correction_between(trade, None, old_block_hash=A, corrected_at=T0 + 1, reason="r")
    again = dataclasses.replace(
        trade, block_number=trade.block_number + 2, block_hash=B, gas_cost_wei=1, status="reverted"
    )
    back = correction_between(
        unmined(trade), again, old_block_hash="", corrected_at=T0 + 2, reason="r"
    )
    now = corrected(trade, [gone, back])
    assert {n: getattr(now, n) for n in PNL_BUCKET_MONEY} == {
        n: getattr(again, n) for n in PNL_BUCKET_MONEY
    }
    assert (now.status, now.block_number, now.block_hash) == ("reverted", again.block_number, B)
    assert gone.id != back.id  # each correction has its own id: both rows are kept


def test_a_reversed_trade_counts_as_one_failed_trade_that_paid_nothing() -> None:
    trade = make_trade(block_hash=A)
    gone = correction_between(trade, None, old_block_hash=A, corrected_at=T0, reason="r")
    assert (gone.successful, gone.failed, gone.kind, gone.new_block) == (-1, 1, "reversed", 0)
    now = corrected(trade, [gone])
    assert all(getattr(now, n) == 0 for n in PNL_BUCKET_MONEY)
    assert (now.status, now.block_number) == ("failed", 0)
