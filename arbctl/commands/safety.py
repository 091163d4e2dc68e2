"""`guards`, `breaker`, `breaker reset`, `gas`: why the engine is (not) trading.

The runbook's "Circuit Breaker Triggered: review logs, assess, manual override if false
positive" becomes `arbctl breaker` (what tripped it, when, when it will probe) and
`arbctl breaker reset --reason ...` (the override, audited with your uid). `guards`
answers "RiskGuard triggered: review guard conditions", and `gas` replaces the checklist's
gas-oracle lookup. Like every plain command, this module imports only the client; rich
loads when a human reads.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from arbctl import options, output
from arbctl.helptext import reflow
from arbctl.output import Col, Styled
from arbctl.rpc import audited, call_or_exit
from engine import units

LimitOpt = Annotated[
    int, typer.Option("--limit", "-n", min=1, help="At most this many recent triggers.")
]


def guards(
    limit: LimitOpt = 10,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Show the risk guards: each rule's threshold, current value, triggers, and the most
    recent stored triggers.

    Opportunity rules block the opportunity they judge, except that one too big for a
    size limit (notional, price impact, what the lender can lend, the inventory) is first
    resized to fit it, if it still pays: a `resized` trigger with both sizes. Trade rules
    open the circuit breaker. Identical blocks (and resizes) within the repeat window are
    stored once and counted (docs/guards.md). With --json prints {rules, breaker, recent, ...}.

    Exit codes: 0 ok · 1 the engine refused · 3 engine unreachable.
    """
    data = call_or_exit(socket, "guards", {"limit": limit}, as_json=as_json)
    if as_json:
        output.emit_json(data)
        return
    _print_breaker_line(data.get("breaker") or {})
    rules = data.get("rules") or []
    for kind, title in (("opportunity", _BLOCKS), ("trade", _OPENS)):
        rows = [_rule_row(r) for r in rules if r.get("kind") == kind]
        output.print_fitted(_RULE_COLUMNS, rows, title=title)
    output.say(
        f"reviewed {data.get('reviewed', 0)} · approved {data.get('approved', 0)} · "
        f"blocked {data.get('blocked', 0)} · resized {data.get('resized', 0)}"
    )
    _print_triggers(data.get("recent") or [])


_BLOCKS = "Per opportunity: a breach blocks it"
# At 80 columns the rule, its limit and the value now stay whole; hits and time give way.
_RULE_COLUMNS = (
    Col("rule"),
    Col("limit"),
    Col("now"),
    Col(""),
    Col("hits", right=True, drop=2),
    Col("last", drop=1),
)
_TRIGGER_COLUMNS = (
    Col("time"),
    Col("guard"),
    Col("action"),
    Col("reason", shrink=20),
    Col("subject", shrink=12, middle=True, drop=1),
)
_OPENS = "Per booked trade: a breach opens the breaker"


def _rule_row(rule: dict[str, Any]) -> list[Any]:
    mark: Any
    if not rule.get("enabled", True):
        mark = Styled("off", "dim")
    elif rule.get("breached") is None:
        mark = "—"
    else:
        mark = Styled("✗", "red") if rule["breached"] else Styled("✓", "green")
    return [
        rule.get("name"),
        f"{rule.get('comparison')} {rule.get('threshold_text')}",
        rule.get("current_text"),
        mark,
        rule.get("triggers", 0),
        output.clock(rule.get("last_triggered_at")),
    ]


def _print_triggers(triggers: list[dict[str, Any]]) -> None:
    if not triggers:
        output.say("no guard triggers stored")
        return
    rows = [
        (
            output.clock(t.get("ts")),
            t.get("guard"),
            t.get("action"),
            t.get("reason"),
            t.get("opportunity_id") or t.get("trade_id") or "",
        )
        for t in triggers
    ]
    output.print_fitted(_TRIGGER_COLUMNS, rows)


# --- breaker ------------------------------------------------------------------------------
app = typer.Typer(
    name="breaker",
    help=reflow(
        """Show the trading circuit breaker (closed / open / half_open), or reset it.

        `arbctl breaker [--json]` shows its state, what opened it and when it will probe.
        `arbctl breaker reset --reason TEXT` closes it (audited with your uid).

        Exit codes: 0 ok · 1 the engine refused (reset: the breaker is closed) · 2 usage
        error (reset without --reason) · 3 engine unreachable.
        """
    ),
    invoke_without_command=True,
    no_args_is_help=False,
)


@app.callback()
def breaker(
    ctx: typer.Context,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    # The group's own action: with no subcommand, `breaker` is a read. (Help text above.)
    if ctx.invoked_subcommand is not None:
        return
    data = call_or_exit(socket, "breaker", as_json=as_json)
    if as_json:
        output.emit_json(data)
        return
    _print_breaker(data)


@app.command()
def reset(
    reason: options.ReasonOpt = None,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Close an open or half-open breaker now: the operator's override of a false
    positive. It restarts the guards' trade windows (today's P&L included).

    Needs --reason (audited with your uid). Does not touch the kill switch: a halted
    engine stays halted (`arbctl resume` clears that). With --json prints the breaker.

    Exit codes: 0 closed · 1 the engine refused (the breaker is already closed) · 2 missing
    --reason · 3 engine unreachable.
    """
    why = options.require_reason(reason, "breaker reset", as_json)
    data = call_or_exit(socket, "breaker.reset", audited(why), as_json=as_json)
    if as_json:
        output.emit_json(data)
        return
    output.say(f"[bold green]CLOSED[/] — {why}")


def _print_breaker_line(b: dict[str, Any]) -> None:
    state = str(b.get("state", "?"))
    colour = {"closed": "green", "open": "red", "half_open": "yellow"}.get(state, "cyan")
    cause = f"{b.get('guard')}: {b.get('reason')}" if b.get("guard") else b.get("reason", "")
    output.say(f"breaker [bold {colour}]{state.upper()}[/] since {output.clock(b.get('since'))}")
    if state != "closed":
        output.say(f"  {cause}")
    if carried := b.get("carried_over"):
        output.say(
            f"  counts {carried['trades']} trades ({carried['failed']} failed) booked before "
            f"this engine started, until {output.clock(carried['until'])}"
        )


def _print_breaker(b: dict[str, Any]) -> None:
    _print_breaker_line(b)
    probes = b.get("probes") or {}
    retry = b.get("retry_at")
    output.print_fields(
        [
            ("probing at", f"{output.clock(retry)} (in {_until(retry)})" if retry else None),
            ("wait", output.duration(b.get("wait_s"))),
            (
                "probes",
                f"{probes.get('succeeded', 0)}/{probes.get('limit', 0)} succeeded · "
                f"{probes.get('granted', 0)} granted",
            ),
            ("times opened", b.get("times_opened")),
        ]
    )
    rows = [
        (output.clock(t.get("at")), f"{t.get('previous')} → {t.get('state')}", t.get("guard"),
         t.get("reason"))
        for t in b.get("history") or []
    ]  # fmt: skip
    if rows:
        output.print_table(["time", "transition", "by", "reason"], rows, title="history")


def _until(ts: float) -> str:
    return output.duration(max(0.0, ts - time.time()))


# --- gas ------------------------------------------------------------------------------------
def _gas_today(socket: Any) -> dict[str, Any] | None:
    """Today's gas against today's revenue (`pnl today`), or None if the ledger cannot
    say: the runbook's High Gas Costs diagnosis, next to the price that causes it."""
    from arbctl.client import Client, EngineUnreachable, RpcError
    from arbctl.commands.trading import gas_share

    try:
        pnl = Client(options.socket_path(socket)).call("pnl", {"period": "today"})
    except (EngineUnreachable, RpcError):
        return None
    keys = ("gas_cost_quote", "net_profit_quote", "gross_profit_quote", "total_trades")
    return {
        **{k: pnl.get(k) for k in keys},
        "quote": (pnl.get("units") or {}).get("quote"),
        "gas_pct_of_revenue": gas_share(pnl),
    }


def _of_cap(data: dict[str, Any], guard: dict[str, Any]) -> str:
    price, cap = data.get("gas_price"), guard.get("threshold")
    if not isinstance(price, int) or not isinstance(cap, int) or cap <= 0:
        return "no cap"
    return f"gas now {round(price * 100 / cap)} % of the cap"


def _share_text(today: dict[str, Any] | None) -> str:
    if today is None:
        return "— (the ledger did not answer)"
    share, quote = today["gas_pct_of_revenue"], today["quote"]
    gas = units.money(today["gas_cost_quote"], quote)
    if share is None:
        return f"— (no revenue today; gas {gas})"
    revenue = units.money(today["net_profit_quote"] + today["gas_cost_quote"], quote)
    return f"{share:.1f} % ({gas} of {revenue}: gas / (net profit + gas))"


def gas(
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Current base fee and priority fee (from the venue), the gas model's estimate per
    route shape (learnt from receipts; the configured numbers are the prior), what a
    trade's gas costs in quote, and what the max-gas guard would do at this moment.

    Also today's gas as a share of revenue: gas / (net profit + gas), the runbook's "High
    Gas Costs" diagnosis. The headroom is a setting (guards.gas_headroom_pct: over the
    cap a trade must still profit with gas that much dearer), not a measurement.

    Needs a running engine. With --json prints {base_fee, priority_fee, gas_price (wei),
    guard: {verdict, ...}, routes: [{shape, hops, gas_units, prior, source, observations,
    ...}], today: {gas_cost_quote, net_profit_quote, gross_profit_quote, total_trades,
    quote, gas_pct_of_revenue}} (docs/guards.md; `today` is null when the ledger does not
    answer).

    Exit codes: 0 ok · 1 the engine refused · 3 engine unreachable.
    """
    data = call_or_exit(socket, "gas", as_json=as_json)
    data["today"] = _gas_today(socket)
    if as_json:
        output.emit_json(data)
        return
    fees, guard = data.get("gwei") or {}, data.get("guard") or {}
    output.print_fields(
        [
            ("block", data.get("block")),
            ("base fee", fees.get("base_fee")),
            ("priority fee", fees.get("priority_fee")),
            ("gas price", fees.get("gas_price")),
            ("max gas price", f"{guard.get('threshold_text')} · {_of_cap(data, guard)}"),
            (
                "over the cap",
                f"a trade must still profit with gas {guard.get('headroom_pct')} % dearer "
                "(setting guards.gas_headroom_pct)",
            ),
            ("guard", f"[bold]{guard.get('verdict')}[/] — {guard.get('explain')}"),
            ("gas share of revenue (today)", _share_text(data["today"])),
        ],
        title="gas",
    )
    quote = (data["today"] or {}).get("quote")
    rows = [
        (
            str(r.get("shape")),
            f"{r.get('gas_units'):,}" if isinstance(r.get("gas_units"), int) else "?",
            f"{r.get('prior'):,}" if isinstance(r.get("prior"), int) else "?",
            f"{r.get('observations')} ({r.get('source')})",
            _money(r.get("cost_quote"), quote, r.get("cost_text")),
            _money(r.get("extra_margin_quote"), quote, r.get("extra_margin_text")),
        )
        for r in data.get("routes") or []
    ]
    columns = [
        Col("route shape"),  # whole: dexes and kinds are what tell two shapes apart
        Col("gas units", right=True),
        Col("prior", right=True, drop=4),
        Col("observations", drop=3),
        Col(units.header("gas cost now", quote), right=True, drop=2),
        Col(units.header("extra over cap", quote), right=True, drop=1),
    ]
    output.print_fitted(columns, rows)


def _money(amount: Any, quote: Any, fallback: Any) -> str:
    if quote and isinstance(amount, int):
        return units.human(amount, int(quote["decimals"]))
    return str(fallback)
