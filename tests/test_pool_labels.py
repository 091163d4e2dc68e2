"""A V3 route on every surface that shows one: the ledger (SQLite and PostgreSQL), the
CSV export, the CLI's route line and the console's trade detail. The route's hop dicts
carry the pool's kind and fee tier (`Hop.to_dict`); each surface names them."""

from __future__ import annotations

from arbctl.names import Names
from engine import units
from engine.accounting.export import trade_row
from engine.strategy.opportunity import Hop
from screens.state import Units as ConsoleUnits
from screens.trades import detail_lines
from tests.accounting.test_rows import UNITS, through_csv
from tests.ledger.conftest import make_trade

V3_ROUTE = [
    Hop("0xpool1", "0xweth", "0xusdc", "v3", 500).to_dict(),
    Hop("0xpool2", "0xusdc", "0xweth", "v2", 3_000).to_dict(),
]


def test_fee_tiers_read_as_percentages_and_a_hop_names_its_kind() -> None:
    assert [units.fee_tier(f) for f in (100, 500, 3_000, 10_000, 2_500)] == [
        "0.01%",
        "0.05%",
        "0.3%",
        "1%",
        "0.25%",
    ]
    assert units.pool_label(V3_ROUTE[0]) == "v3·0.05%"
    assert units.pool_label(V3_ROUTE[1]) == "v2·0.3%"
    assert units.pool_label({"pool": "0xold"}) == "", "a record from before pool kinds"


def test_the_csv_route_names_the_v3_hop_and_its_fee_tier() -> None:
    row = through_csv([trade_row(make_trade(route=V3_ROUTE), UNITS)])[0]
    assert row["route_symbols"] == "WETH>USDC v3·0.05%>WETH"


def test_the_cli_route_line_names_the_v3_hop_and_its_fee_tier() -> None:
    names = Names(
        tokens={
            "0xweth": {"symbol": "WETH", "decimals": 18},
            "0xusdc": {"symbol": "USDC", "decimals": 6},
        }
    )
    assert names.route(V3_ROUTE) == "WETH→USDC v3·0.05%→WETH"
    old = [{k: v for k, v in h.items() if k in ("pool", "token_in", "token_out")} for h in V3_ROUTE]
    assert names.route(old) == "WETH→USDC→WETH"


def test_the_console_trade_detail_shows_each_pool_s_kind_and_fee() -> None:
    trade = make_trade(route=V3_ROUTE).to_dict()
    lines = dict(detail_lines(trade, ConsoleUnits()))
    assert lines["pools"] == "v3·0.05% → v2·0.3%"
    old = make_trade().to_dict()  # a record from before pool kinds: no such line
    assert "pools" not in dict(detail_lines(old, ConsoleUnits()))
