"""`opportunities`, `trades`, `trade ID`, `pnl`: what the engine found, did, and earned.

Amounts are integers in base units, exactly as the ledger stores them (wei for gas, the
token's smallest unit otherwise); --json keeps them as JSON integers so nothing is
rounded on the way to a reconciliation script. People read them in token units through
the one presentation rule (`engine.units.money`, units in the column headers), tables
that fit 80 columns (`output.print_fitted`), and the exact base units behind --exact.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from arbctl import names as naming
from arbctl import options, output
from arbctl.output import Col
from arbctl.rpc import call_or_exit
from engine import units

LimitOpt = Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many.")]


def opportunities(
    limit: LimitOpt = 20,
    exact: options.ExactOpt = False,
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
    names = naming.fetch(options.socket_path(socket))
    rows = [_opportunity_row(o, names, exact) for o in data.get("opportunities") or []]
    columns = [
        Col("detected"),
        Col("id", shrink=9, middle=True, drop=2),
        Col("route", shrink=14),
        Col("size", right=True, drop=3),
        Col("net profit", right=True, drop=1),
        Col(units.header("net", names.quote), right=True),
    ]
    output.print_fitted(columns, rows)


def _opportunity_row(o: dict[str, Any], names: naming.Names, exact: bool) -> list[Any]:
    token = o.get("token")
    return [
        output.clock(o.get("detected_at")),
        o.get("id"),
        names.route(o.get("route")),
        _token_amount(o.get("amount_in"), token, names, exact),
        _token_amount(o.get("net_profit"), token, names, exact),
        _bare(o.get("net_profit_quote"), names.quote, exact, plus=True),
    ]


def _token_amount(amount: Any, token: Any, names: naming.Names, exact: bool) -> str:
    return output.amount(amount, names.unit(token), exact)


def _bare(amount: Any, unit: Any, exact: bool, plus: bool = False) -> str:
    """A number for a column whose header carries the unit."""
    if exact or not isinstance(amount, int) or not unit:
        return "" if amount is None else str(amount)
    return units.human(amount, int(unit["decimals"]), plus=plus)


def trades(
    failed: Annotated[
        bool, typer.Option("--failed", help="Only reverted or failed trades.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option("--since", show_default=False, help="Only newer: 1h, 24h, 7d, ISO, epoch."),
    ] = None,
    limit: LimitOpt = 50,
    corrections: Annotated[
        bool,
        typer.Option(
            "--corrections", help="List the reorg corrections (ledger rows) instead of trades."
        ),
    ] = False,
    exact: options.ExactOpt = False,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """List executed trades, newest first, from the ledger.

    A trade whose block was reorged away shows its correction in the status column
    ("success → reversed"); the trade row itself is never edited. --corrections lists the
    correction rows (trade, kind, old and new block, the deltas).

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
    if corrections:
        params["corrections"] = True
    data = call_or_exit(socket, "trades", params, as_json=as_json)
    if as_json:
        output.emit_json(data)
        return
    names = naming.fetch(options.socket_path(socket))
    if corrections:
        _print_corrections(data.get("corrections") or [], names, exact)
        return
    rows = [_trade_row(t, names, exact, failed) for t in data.get("trades") or []]
    columns = [
        Col("time"),
        Col("id", shrink=9, middle=True, drop=4),
        Col("route", shrink=12, drop=3 if failed else 5),
        Col("status"),
        Col("size", right=True, drop=1),
        Col(units.header("profit", names.quote), right=True),
        Col(units.header("gas", names.quote), right=True, drop=2),
    ]
    if failed:
        columns.append(Col("revert reason", shrink=16))
    output.print_fitted(columns, rows)


def _print_corrections(rows: list[dict[str, Any]], names: naming.Names, exact: bool) -> None:
    columns = [
        Col("time"),
        Col("trade", shrink=9, middle=True),
        Col("kind"),
        Col("block", right=True),
        Col("status"),
        Col(units.header("profit Δ", names.quote), right=True),
        Col("reason", shrink=16, drop=2),
    ]
    table = [
        [
            output.clock(c.get("corrected_at")),
            c.get("trade_id"),
            c.get("kind"),
            f"{c.get('old_block')} → {c.get('new_block') or '-'}",
            c.get("new_status"),
            _bare(c.get("profit_quote"), names.quote, exact, plus=True),
            c.get("reason"),
        ]
        for c in rows
    ]
    output.print_fitted(columns, table)


def _status(t: dict[str, Any]) -> Any:
    """The booked status, with the latest reorg correction's outcome when there is one."""
    status = t.get("status")
    if t.get("recovered"):
        status = f"{status} (recovered)"
    latest = (t.get("corrections") or [None])[0]
    if latest:
        status = f"{status} → {latest.get('kind')} {latest.get('new_status')}"
    return status


def _trade_row(t: dict[str, Any], names: naming.Names, exact: bool, with_revert: bool) -> list[Any]:
    row = [
        output.clock(t.get("mined_at") or t.get("submitted_at")),
        t.get("id"),
        names.route(t.get("route")),
        _status(t),
        _token_amount(t.get("amount_in"), t.get("token"), names, exact),
        _bare(t.get("profit_quote"), names.quote, exact, plus=True),
        _bare(t.get("gas_cost_quote"), names.quote, exact),
    ]
    return [*row, t.get("revert_reason") or ""] if with_revert else row


def trade(
    trade_id: Annotated[str, typer.Argument(metavar="ID", help="Trade id (see `trades`).")],
    exact: options.ExactOpt = False,
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
    names = naming.fetch(options.socket_path(socket))
    fields = [_trade_field(k, v, data, names, exact) for k, v in data.items()]
    output.print_fields(fields, title=f"trade {trade_id}", markup=False)


# a trade's money fields → whose unit: the trade's token, the native (gas) or quote token
_TOKEN_FIELDS = {"amount_in", "amount_out", "flash_fee", "profit_token", "expected_profit"}
_NATIVE_FIELDS = {"gas_cost_wei", "profit_native"}
_QUOTE_FIELDS = {"profit_quote", "gas_cost_quote", "flash_fee_quote"}


def _trade_field(
    key: str, value: Any, trade: dict[str, Any], names: naming.Names, exact: bool
) -> tuple[str, Any]:
    if key == "route":
        route = f"{names.route(value)} ({names.kinds(value)})"
        return key, f"{route}  {_route(value)}" if exact else route
    if key.endswith("_at") and isinstance(value, int | float):
        return key, f"{output.clock(value)} ({value})"
    if key == "gas_price" and isinstance(value, int) and not exact:
        return key, f"{units.to_text(value, 9, 2, separators=True)} gwei"
    unit = _field_unit(key, trade, names)
    return (key, output.amount(value, unit, exact)) if unit else (key, value)


def _field_unit(key: str, trade: dict[str, Any], names: naming.Names) -> Any:
    if key in _TOKEN_FIELDS:
        return names.unit(trade.get("token"))
    if key in _NATIVE_FIELDS:
        return names.native
    return names.quote if key in _QUOTE_FIELDS else None


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
    exact: options.ExactOpt = False,
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
    share = gas_share(data)
    rows.append(("gas share of revenue", "—" if share is None else f"{share:.1f} % {GAS_SHARE}"))
    found = data.get("units") or {}
    rows += [
        (key, output.amount(data.get(key), found.get(unit), exact)) for key, unit in _MONEY_FIELDS
    ]
    output.print_fields(rows, title=f"P&L ({period.value})", markup=False)


GAS_SHARE = "(gas / (net profit + gas), the runbook's High Gas Costs diagnosis)"


def gas_share(pnl: dict[str, Any]) -> float | None:
    """Gas as % of revenue, as the runbook computes it: gas / (net profit + gas), both in
    the quote token; None when there is no revenue to share (no trades, or a net loss
    bigger than the gas)."""
    gas, net = pnl.get("gas_cost_quote"), pnl.get("net_profit_quote")
    if not isinstance(gas, int) or not isinstance(net, int) or net + gas <= 0:
        return None
    return round(gas * 100 / (net + gas), 1)


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


_short = naming.short
