"""`arbctl reconcile` against a real engine that keeps trading while it runs."""

from __future__ import annotations

import sqlite3
from typing import Any

from engine import units
from tests.accounting.conftest import EngineMaker, cli_json, wait_for_trading
from tests.guards.conftest import rpc

UNITS = 12_345


def corrupt_one_trade(ledger: str) -> dict[str, Any]:
    """What a bad write or a hand edit would do: one successful trade's profit_token
    moved by UNITS, in the engine's own file, while it runs (WAL: a second writer)."""
    conn = sqlite3.connect(ledger, timeout=10.0)
    try:
        with conn:
            trade_id, token, profit = conn.execute(
                "SELECT id, token, profit_token FROM trades WHERE status = 'success' LIMIT 1"
            ).fetchone()
            conn.execute(
                "UPDATE trades SET profit_token = ? WHERE id = ?",
                (str(int(profit) + UNITS), trade_id),
            )
    finally:
        conn.close()
    return {"id": trade_id, "token": token}


def by_token(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {line["token"]: line for line in report["tokens"]}


def test_the_books_match_the_wallet_after_a_long_run_and_a_bad_row_shows_exactly(
    busy_engine: EngineMaker,
) -> None:
    engine = busy_engine()
    wait_for_trading(engine, trades=200, reverted=40, blocks=300)

    code, report = cli_json(engine, "reconcile")  # the engine keeps trading meanwhile

    assert code == 0, report
    assert report["reconciled"] is True and report["start_source"] == "ledger"
    assert all(line["difference"] == 0 for line in report["tokens"])
    assert all(line["status"] == "reconciled" for line in report["tokens"])
    assert report["trades"]["total"] >= 200 and report["trades"]["reverted"] >= 40
    gas = by_token(report)[report["gas_token"]]
    assert gas["gas_cost_wei"] > 0 and gas["actual_change"] != gas["profit_token"]

    bad = corrupt_one_trade(str(engine.state_dir / "ledger.sqlite3"))
    code, report = cli_json(engine, "reconcile")

    assert code == 1
    assert report["reconciled"] is False
    lines = by_token(report)
    assert lines[bad["token"]]["difference"] == -UNITS
    assert lines[bad["token"]]["status"] == "difference"
    assert all(line["difference"] == 0 for t, line in lines.items() if t != bad["token"])
    human = engine.cli("reconcile")  # in token units, the difference to its last digit
    assert human.returncode == 1 and "difference" in human.stdout.lower()
    assert f"-{units.to_text(UNITS, lines[bad['token']]['decimals'])}" in human.stdout
    assert str(-UNITS) in engine.cli("reconcile", "--exact").stdout
    assert rpc(engine, "status")["state"] == "running"  # reconciling never paused trading
