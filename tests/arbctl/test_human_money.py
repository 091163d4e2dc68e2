"""Human output at 80 columns (issue 16: findings 9, Deliver 4 and 5).

Money reads in token units with sensible precision, thousands separators and the unit in
the column header (`engine.units.money`); exact base units stay in --json and behind
--exact. Tables fit 80 columns without splitting a number: ids are shortened with "…",
wide columns are dropped in order of importance. `events` without --json prints every
topic as a readable line. One engine for the module (`trading`, tests/arbctl/conftest.py).
"""

from __future__ import annotations

import json
import re

from tests.conftest import EngineHandle
from tests.guards.conftest import rpc

BASE_UNITS = re.compile(r"(?<![\w,.])\d{7,}(?![\w,])")  # a bare 7+ digit integer: wei, not words
CLOCK = re.compile(r"\d\d:\d\d:\d\d")


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _fits_80_without_wrapping(text: str, rows_expected: int) -> None:
    lines = _lines(text)
    assert max(len(line) for line in lines) <= 80, text
    rows = [line for line in lines if CLOCK.search(line)]
    assert len(rows) == rows_expected, text  # a wrapped row would add lines without a time


def test_failed_trades_fit_80_columns_with_reasons_and_units_in_headers(
    trading: EngineHandle,
) -> None:
    result = trading.cli("trades", "--failed", "--limit", "8")
    assert result.returncode == 0, result.stderr
    _fits_80_without_wrapping(result.stdout, 8)
    assert "(USDC)" in _lines(result.stdout)[0]  # the unit is in the header
    assert "reverted" in result.stdout and BASE_UNITS.search(result.stdout) is None
    assert "…" in result.stdout  # the trade ids are shortened, not wrapped


def test_trades_and_opportunities_fit_80_columns(trading: EngineHandle) -> None:
    trades = trading.cli("trades", "--limit", "10")
    _fits_80_without_wrapping(trades.stdout, 10)
    assert BASE_UNITS.search(trades.stdout) is None, trades.stdout
    opportunities = trading.cli("opportunities", "--limit", "10")
    _fits_80_without_wrapping(opportunities.stdout, 10)
    assert "WETH" in opportunities.stdout and BASE_UNITS.search(opportunities.stdout) is None


def test_exact_shows_the_base_units_humans_do_not_see_by_default(trading: EngineHandle) -> None:
    trade = json.loads(trading.cli("trades", "--limit", "1", "--json").stdout)["trades"][0]
    exact = trading.cli("trade", trade["id"], "--exact")
    assert str(trade["profit_quote"]) in exact.stdout
    human = trading.cli("trade", trade["id"])
    assert str(trade["profit_quote"]) not in human.stdout and "USDC" in human.stdout
    assert "0x" not in human.stdout.split("route", 1)[1].splitlines()[0]  # by symbol


def test_pnl_reads_in_token_units_and_exact_keeps_the_base_units(trading: EngineHandle) -> None:
    human = trading.cli("pnl")
    assert human.returncode == 0 and BASE_UNITS.search(human.stdout) is None, human.stdout
    assert re.search(r"\d\.\d{16,}", human.stdout) is None  # never 18 decimals for a person
    exact = trading.cli("pnl", "--exact")
    assert re.search(r"gas_cost_wei +\d{9,} \(0\.\d{18} WETH\)", exact.stdout), exact.stdout


def test_reconcile_and_providers_fit_80_columns(trading: EngineHandle) -> None:
    reconcile = trading.cli("reconcile")
    assert max(len(line) for line in _lines(reconcile.stdout)) <= 80, reconcile.stdout
    assert BASE_UNITS.search(reconcile.stdout) is None, reconcile.stdout
    providers = trading.cli("providers")
    lines = _lines(providers.stdout)
    assert max(len(line) for line in lines) <= 80, providers.stdout
    for provider in rpc(trading, "status")["providers"]:  # each row whole, its name uncut
        assert any(f" {provider['name']} " in line and "ms" in line for line in lines), lines


def test_events_without_json_print_every_topic_as_a_readable_line(trading: EngineHandle) -> None:
    result = trading.cli("events", "--limit", "400")
    assert result.returncode == 0, result.stderr
    lines = _lines(result.stdout)
    assert lines and not any('{"' in line or '":' in line for line in lines), result.stdout
    assert BASE_UNITS.search(result.stdout) is None, result.stdout


def test_the_trade_tail_shows_route_by_symbol_and_pool_kind_size_profit_status_and_reason(
    trading: EngineHandle,
) -> None:
    names = rpc(trading, "names")
    dexes = {pool["dex"] for pool in names["pools"].values()}
    lines = _lines(trading.cli("events", "--topic", "trade", "--limit", "200").stdout)
    assert lines and all(CLOCK.match(line) for line in lines)
    assert all("USDC" in line and "0x" not in line for line in lines), lines  # unit, symbols
    assert all(any(dex in line for dex in dexes) for line in lines), lines
    reverted = [line for line in lines if "reverted" in line]
    assert reverted and all(re.search(r"reverted: \w", line) for line in reverted), reverted
