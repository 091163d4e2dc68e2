"""`opportunities`, `trades`, `trade ID`, `pnl`: what the engine found, did, and earned.

Amounts are integers in base units, exactly as the ledger stores them (wei for gas, the
token's smallest unit otherwise); --json keeps them as JSON integers so nothing is
rounded on the way to a reconciliation script.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from arbctl import options, output
from arbctl.rpc import call_or_exit

LimitOpt = Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many.")]


def opportunities(
    limit: LimitOpt = 20,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Show the most recent arbitrage opportunities the search found (best first).

    Needs a running engine. Profits are net of gas and flash fees, in the cycle token's
    base units (net_profit) and the quote token's (net_profit_quote). With --json prints
    {opportunities: [...]} (fields: docs/cli.md#opportunities).

    Exit codes: 0 ok · 1 the engine refused · 3 engine unreachable.
    """
    data = call_or_exit(socket, "opportunities", {"limit": limit}, as_json=as_json)
    if as_json:
        output.emit_json(data)
        return
    rows = [
        (
            o.get("id"),
            f"{len(o.get('route') or [])} hops",
            o.get("amount_in"),
            o.get("net_profit"),
            o.get("net_profit_quote"),
            output.clock(o.get("detected_at")),
        )
        for o in data.get("opportunities") or []
    ]
    columns = ["id", "route", "amount in", "net profit", "net (quote)", "detected"]
    output.print_table(columns, rows, markup=False)


def trades(
    failed: Annotated[
        bool, typer.Option("--failed", help="Only reverted or failed trades.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option("--since", show_default=False, help="Only newer: 1h, 24h, 7d, ISO, epoch."),
    ] = None,
    limit: LimitOpt = 50,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """List executed trades, newest first, from the ledger.

    Needs a running engine (it owns the ledger connection). --failed shows reverted and
    failed trades with their revert reason. With --json prints {trades: [...]}.

    Exit codes: 0 ok · 1 the engine refused (e.g. ledger unavailable) · 2 bad --since
    · 3 engine unreachable.
    """
    params: dict[str, Any] = {"limit": limit}
    if failed:
        params["failed"] = True
    if since:
        params["since"] = options.since_or_exit(since, as_json)
    data = call_or_exit(socket, "trades", params, as_json=as_json)
    if as_json:
        output.emit_json(data)
        return
    rows = [_trade_row(t, failed) for t in data.get("trades") or []]
    columns = ["id", "status", "token", "profit", "profit (quote)", "gas (wei)", "time"]
    output.print_table([*columns, "revert"] if failed else columns, rows, markup=False)


def _trade_row(t: dict[str, Any], with_revert: bool) -> list[Any]:
    status = t.get("status")
    row = [
        t.get("id"),
        f"{status} (recovered)" if t.get("recovered") else status,
        t.get("token_symbol"),
        t.get("profit_token"),
        t.get("profit_quote"),
        t.get("gas_cost_wei"),
        output.clock(t.get("mined_at") or t.get("submitted_at")),
    ]
    return [*row, t.get("revert_reason") or ""] if with_revert else row


def trade(
    trade_id: Annotated[str, typer.Argument(metavar="ID", help="Trade id (see `trades`).")],
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Show one trade in full: route, amounts, gas, fees, profit, tx hash, timings.

    Needs a running engine. With --json prints the trade object (fields: docs/cli.md#trade).

    Exit codes: 0 ok · 1 no such trade (not_found) or the engine refused · 3 engine
    unreachable.
    """
    data = call_or_exit(socket, "trade", {"id": trade_id}, as_json=as_json)
    if as_json:
        output.emit_json(data)
        return
    fields = [_trade_field(k, v) for k, v in data.items()]
    output.print_fields(fields, title=f"trade {trade_id}", markup=False)


def _trade_field(key: str, value: Any) -> tuple[str, Any]:
    if key == "route":
        return key, _route(value)
    if key.endswith("_at") and isinstance(value, int | float):
        return key, f"{output.clock(value)} ({value})"
    return key, value


class Period(StrEnum):
    today = "today"
    h1 = "1h"
    h24 = "24h"
    d7 = "7d"
    d30 = "30d"
    all = "all"


def pnl(
    period: Annotated[
        Period, typer.Option("--period", "-p", help="Time window of the summary.")
    ] = Period.today,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Profit and loss over a period: trade counts, success rate, gas, fees, net profit.

    Needs a running engine. Net figures are after gas and flash fees, in native (wei)
    and quote base units. With --json prints the PnlSummary object (docs/cli.md#pnl).

    Exit codes: 0 ok · 1 the engine refused (e.g. ledger unavailable) · 3 engine
    unreachable.
    """
    data = call_or_exit(socket, "pnl", {"period": period.value}, as_json=as_json)
    if as_json:
        output.emit_json(data)
        return
    rate = data.get("success_rate")
    rows: list[tuple[str, Any]] = [
        ("window", f"{output.clock(data.get('since'))} → {output.clock(data.get('until'))}"),
        ("trades", _counts(data)),
        ("success rate", "—" if rate is None else f"{float(rate) * 100:.1f}%"),
    ]
    units = data.get("units") or {}
    rows += [(key, output.amount(data.get(key), units.get(unit))) for key, unit in _MONEY_FIELDS]
    output.print_fields(rows, title=f"P&L ({period.value})", markup=False)


# field → the unit its base-unit integer is in (the engine names them in `units`)
_MONEY_FIELDS = (
    ("gross_profit_quote", "quote"),
    ("gas_cost_wei", "native"),
    ("gas_cost_quote", "quote"),
    ("flash_fee_quote", "quote"),
    ("net_profit_native", "native"),
    ("net_profit_quote", "quote"),
)


def _counts(data: dict[str, Any]) -> str:
    return (
        f"{data.get('total_trades', 0)} total · {data.get('successful_trades', 0)} ok · "
        f"{data.get('reverted_trades', 0)} reverted · {data.get('failed_trades', 0)} failed"
    )


def _route(route: Any) -> str:
    """`A→B→A` from a hop list; long hex addresses are shortened for the table."""
    if not isinstance(route, list) or not route:
        return str(route or "")
    tokens = [hop.get("token_in", "?") for hop in route] + [route[-1].get("token_out", "?")]
    return "→".join(_short(str(t)) for t in tokens)


def _short(token: str) -> str:
    return f"{token[:6]}…{token[-4:]}" if token.startswith("0x") and len(token) > 12 else token
