"""Trading reads: opportunities, trades, one trade, P&L — shapes and refusals."""

from __future__ import annotations

import json

from tests.conftest import EngineHandle


def test_opportunities_json_is_a_list(engine: EngineHandle) -> None:
    result = engine.cli("opportunities", "--limit", "5", "--json")
    assert result.returncode == 0
    assert isinstance(json.loads(result.stdout)["opportunities"], list)


def test_trades_accepts_failed_and_since_filters(engine: EngineHandle) -> None:
    result = engine.cli("trades", "--failed", "--since", "1h", "--json")
    assert result.returncode == 0
    assert isinstance(json.loads(result.stdout)["trades"], list)


def test_trades_with_unreadable_since_is_a_usage_error(engine: EngineHandle) -> None:
    result = engine.cli("trades", "--since", "last tuesday")
    assert result.returncode == 2
    assert "--since" in result.stderr


def test_unknown_trade_is_not_found_with_exit_1(engine: EngineHandle) -> None:
    result = engine.cli("trade", "no-such-trade", "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"]["name"] == "not_found"


def test_pnl_json_is_the_summary_for_the_period(engine: EngineHandle) -> None:
    summary = json.loads(engine.cli("pnl", "--period", "24h", "--json").stdout)
    assert summary["period"] == "24h"
    assert {"total_trades", "success_rate", "net_profit_quote", "gas_cost_wei"} <= set(summary)


def test_pnl_rejects_an_unknown_period(engine: EngineHandle) -> None:
    assert engine.cli("pnl", "--period", "fortnight").returncode == 2


def test_human_tables_render_without_error(engine: EngineHandle) -> None:
    for argv in (["opportunities"], ["trades"], ["pnl"], ["audit"], ["events"]):
        result = engine.cli(*argv)
        assert (result.returncode, result.stderr) == (0, "")


def test_pnl_for_humans_shows_amounts_in_token_units_too(engine: EngineHandle) -> None:
    units = json.loads(engine.cli("pnl", "--json").stdout)["units"]
    result = engine.cli("pnl")
    assert result.returncode == 0
    assert units["quote"]["symbol"] in result.stdout


def test_trades_lists_reorg_corrections_on_request(engine: EngineHandle) -> None:
    data = json.loads(engine.cli("trades", "--corrections", "--json").stdout)
    assert isinstance(data["corrections"], list)
    assert all(isinstance(t["corrections"], list) for t in data["trades"])


def test_a_corrected_trade_shows_its_correction_beside_its_booked_status() -> None:
    from arbctl.commands.trading import _status

    trade = {"status": "success", "corrections": [{"kind": "reversed", "new_status": "failed"}]}
    assert _status(trade) == "success → reversed failed"
    assert _status({"status": "reverted", "corrections": []}) == "reverted"
