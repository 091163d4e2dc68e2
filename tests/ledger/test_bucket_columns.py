"""A correction's deltas and a bucket's totals are one list of columns.

`CorrectionRecord.bucket()` adds a correction to a token's totals column by column, and
both backends sum the correction table's delta columns into the same rollup buckets as
trades. A total added to `PnlBucket` but not to `CorrectionRecord` (or the other way
round, or in another order) would silently leave reorgs out of that total: these tests
fail first.
"""

from __future__ import annotations

from dataclasses import fields

from engine.ledger.records import (
    CORRECTION_DELTAS,
    PNL_BUCKET_STATUSES,
    PNL_BUCKET_TOTALS,
    CorrectionRecord,
    PnlBucket,
    correction_between,
)
from tests.ledger.conftest import make_trade


def _names(record: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(record))


def test_a_bucket_has_exactly_the_totals_columns_after_its_token() -> None:
    assert _names(PnlBucket) == ("token", "token_symbol", *PNL_BUCKET_TOTALS)


def test_a_correction_ends_with_every_bucket_total_but_the_trade_count() -> None:
    assert tuple(c for c in PNL_BUCKET_TOTALS if c != "trades") == CORRECTION_DELTAS
    assert _names(CorrectionRecord)[-len(CORRECTION_DELTAS) :] == CORRECTION_DELTAS
    assert set(_names(CorrectionRecord)) & set(PNL_BUCKET_TOTALS) == set(CORRECTION_DELTAS)


def test_the_status_deltas_are_the_bucket_counts_but_the_trade_count() -> None:
    assert ("trades", *PNL_BUCKET_STATUSES) == PNL_BUCKET_TOTALS[: len(PNL_BUCKET_STATUSES) + 1]


def test_a_corrections_bucket_carries_each_delta_in_its_own_column() -> None:
    trade = make_trade(block_hash="0x" + "01" * 32)
    correction = correction_between(
        trade, None, old_block_hash="0x" + "01" * 32, corrected_at=1.0, reason="reorg"
    )
    distinct = {name: -(i + 1) * 10**20 for i, name in enumerate(CORRECTION_DELTAS)}
    for name, value in distinct.items():
        setattr(correction, name, value)

    bucket = correction.bucket()

    assert bucket.trades == 0
    assert {name: getattr(bucket, name) for name in CORRECTION_DELTAS} == distinct
