"""The CSV row format and the export's paging, on their own: exact values, awkward
text, trades that share a detection time, and the masked pg_dump line."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from engine.accounting.backup import mask_password, pg_dump_command
from engine.accounting.export import COLUMNS, Cursor, Units, trade_from_row, trade_page, trade_row
from engine.ledger.sqlite import SqliteLedger
from tests.ledger.conftest import T0, make_trade

UNITS = Units(
    symbols={"0xweth": "WETH", "0xusdc": "USDC"},
    decimals={"0xweth": 18, "0xusdc": 6},
    native="0xweth",
    quote="0xusdc",
)


def through_csv(rows: list[list[str]]) -> list[dict[str, str]]:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([list(COLUMNS), *rows])
    return list(csv.DictReader(io.StringIO(buffer.getvalue())))


def test_a_row_reads_back_as_the_same_trade_whatever_the_values() -> None:
    trades = [
        make_trade(),
        make_trade(
            id="t-2",
            status="reverted",
            revert_reason='UniswapV2: K, "quoted"\nsecond line',
            amount_out=0,
            profit_token=-(2**200) - 1,
            profit_native=-(10**40),
            profit_quote=-1,
            gas_cost_wei=2**255,
            detected_at=0.1 + 0.2,
            mined_at=T0 + 1e-6,
        ),
    ]
    parsed = through_csv([trade_row(t, UNITS) for t in trades])
    assert [trade_from_row(row) for row in parsed] == trades
    assert parsed[1]["profit_token"] == str(-(2**200) - 1)


def test_human_columns_show_whole_tokens_and_utc_times() -> None:
    row = through_csv([trade_row(make_trade(), UNITS)])[0]
    assert row["route_symbols"] == "WETH>USDC>WETH"
    assert row["profit_token_dec"] == "0.03"
    assert row["gas_price_gwei"] == "20"
    assert row["gas_cost_native_dec"] == "0.0026"
    assert row["profit_quote_dec"] == "50"
    assert row["detected_utc"] == "2023-11-14T22:13:20.000Z"


def test_amounts_of_a_token_the_market_does_not_list_have_no_human_value() -> None:
    row = through_csv([trade_row(make_trade(token="0xgone"), UNITS)])[0]
    assert row["profit_token_dec"] == "" and row["profit_token"] == str(3 * 10**16)
    assert row["profit_quote_dec"] == "50"


async def test_pages_never_split_or_repeat_trades_that_share_a_detection_time(
    tmp_path: Path,
) -> None:
    store = SqliteLedger(tmp_path / "ledger.sqlite3")
    await store.open()
    try:
        # 7 blocks of 5 trades each, every trade of a block detected at the same instant
        trades = [
            make_trade(id=f"b{block}-{i}", detected_at=T0 + block)
            for block in range(7)
            for i in range(5)
        ]
        await store.record_trades(trades)
        expected = await store.list_trades(since=0.0, until=T0 + 100, limit=1000)
        for size in (1, 3, 5, 7, 34, 35, 36):
            cursor: Cursor | None = None
            seen = []
            while True:
                page, cursor = await trade_page(store, 0.0, T0 + 100, cursor, size)
                seen += page
                if cursor is None:
                    break
                cursor = Cursor.from_dict(cursor.to_dict())  # as it travels over JSON
            assert seen == expected, size
    finally:
        await store.close()


def test_the_password_is_masked_wherever_the_dsn_carries_it() -> None:
    assert mask_password("postgresql://u:s3cret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert mask_password("postgresql://u@h/db?password=s3cret&sslmode=require") == (
        "postgresql://u@h/db?password=***&sslmode=require"
    )
    assert mask_password("postgresql://u@h/db") == "postgresql://u@h/db"
    line = pg_dump_command("postgresql://u:s3cret@h/db", "arbctl", "/b/ledger.dump")
    assert line == (
        "pg_dump '--dbname=postgresql://u:***@h/db' --schema=arbctl --format=custom "
        "--file=/b/ledger.dump"
    )
