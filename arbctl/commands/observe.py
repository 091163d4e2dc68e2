"""`metrics`, `alerts`, `logs`: the runbooks' monitor tool (`monitor.py --metrics`,
`--tail`, `--errors`, `--search`) as three commands.

`metrics` and `alerts` ask the engine, which computes both from its own events. `logs`
reads the engine's JSON log files straight from the state directory, so it answers when
the engine is down — exactly when it is needed most — and reads rotated files
(`engine.log.N … engine.log.1, engine.log`) as one stream, oldest first. Like every plain
command this module imports only the client; rich loads when a human reads.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from arbctl import exitcodes, logfiles, options, output
from arbctl.client import Client, EngineUnreachable, RpcError
from arbctl.rpc import call_or_exit

if TYPE_CHECKING:
    from rich.console import RenderableType

_SEVERITY_STYLE = {"P0": "bold red", "P1": "red", "P2": "yellow", "P3": "cyan"}


# --- metrics ---------------------------------------------------------------------------------
def metrics(
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Refresh in place until Ctrl-C.")
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.2, help="Seconds between refreshes (--watch).")
    ] = 2.0,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            show_default=False,
            help="Also summarise a window: 24h, 7d, ISO, epoch (the daily report's metrics).",
        ),
    ] = None,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Show the engine's metrics, each checked against the runbook's normal range.

    The runbook dashboard (trades, errors and guard triggers per minute, ws and loop
    latency, P&L change over the last minute), plus success rate, gas price, RPC response
    time, failed trades per hour, the breaker, resources, the gas model's error (gas
    charged against gas used: mean and p90, in gas and %) and today's anomalies.

    --watch redraws every --interval seconds until Ctrl-C (with --json: one JSON object
    per line). Money is in the quote token's base units, with a *_text twin for people.
    With --json prints the engine's metrics object (docs/observability.md#metrics).

    --since 24h adds the window's summary (the runbook's `monitor.py --metrics --duration
    24h`): trades, success rate, trades per minute, failed trades per hour, net P&L, gas
    and its share of revenue (from the ledger), ERROR records (from the logs). --json
    adds it as `window`: {since, until, trades, successful, reverted, failed,
    success_rate, trades_per_minute, failed_trades_per_hour, net_profit_quote,
    gas_cost_quote, gas_pct_of_revenue, errors, units}.

    Exit codes: 0 ok (or Ctrl-C while watching) · 1 the engine refused · 3 engine
    unreachable at start.
    """
    start = None if since is None else options.since_or_exit(since, as_json)
    data = call_or_exit(socket, "metrics", as_json=as_json)
    if start is not None:
        data["window"] = _window(socket, start, as_json)
    if not watch:
        if as_json:
            output.emit_json(data)
        else:
            output.console().print(_metrics_view(data))
            if start is not None:
                _print_window(data["window"], since or "")
        return
    client = Client(options.socket_path(socket))
    try:
        if as_json:
            _watch_json(client, data, interval)
        else:
            _watch_live(client, data, interval)
    except KeyboardInterrupt:
        raise typer.Exit(exitcodes.OK) from None


def _window(socket: Any, start: float, as_json: bool) -> dict[str, Any]:
    """The window's totals from the ledger (`pnl` since `start`) and its ERROR records
    from the engine's logs."""
    from arbctl.commands.trading import gas_share
    from arbctl.runbook import logscan

    pnl = call_or_exit(socket, "pnl", {"since": start}, as_json=as_json)
    status = call_or_exit(socket, "status", as_json=as_json)
    until = float(pnl.get("until") or time.time())
    minutes = max((until - start) / 60.0, 1e-9)
    total = int(pnl.get("total_trades") or 0)
    failed = int(pnl.get("reverted_trades") or 0) + int(pnl.get("failed_trades") or 0)
    state_dir = options.state_dir(None) if not status.get("state_dir") else status["state_dir"]
    errors = logscan.error_summary(Path(state_dir), start, 5)
    return {
        "since": start,
        "until": until,
        "trades": total,
        "successful": pnl.get("successful_trades"),
        "reverted": pnl.get("reverted_trades"),
        "failed": pnl.get("failed_trades"),
        "success_rate": pnl.get("success_rate"),
        "trades_per_minute": round(total / minutes, 3),
        "failed_trades_per_hour": round(failed / minutes * 60.0, 2),
        "net_profit_quote": pnl.get("net_profit_quote"),
        "gas_cost_quote": pnl.get("gas_cost_quote"),
        "gas_pct_of_revenue": gas_share(pnl),
        "errors": errors["count"],
        "units": pnl.get("units"),
    }


def _print_window(window: dict[str, Any], since: str) -> None:
    from engine import units

    quote = (window.get("units") or {}).get("quote")
    rate = window.get("success_rate")
    share = window.get("gas_pct_of_revenue")
    label = f"last {since}" if since[:1].isdigit() and since[-1:].isalpha() else f"since {since}"
    rows = [
        ("window", f"{output.clock(window['since'])} → {output.clock(window['until'])}"),
        ("trades", f"{window['trades']:,} ({window['successful']} ok · {window['reverted']} "
                   f"reverted · {window['failed']} failed)"),
        ("success rate", "—" if rate is None else f"{float(rate) * 100:.1f} %"),
        ("trades per minute", window["trades_per_minute"]),
        ("failed trades per hour", window["failed_trades_per_hour"]),
        ("net profit", units.money(window["net_profit_quote"], quote, plus=True)),
        ("gas", units.money(window["gas_cost_quote"], quote)),
        ("gas share of revenue", "—" if share is None else f"{share:.1f} %"),
        ("ERROR records (logs)", window["errors"]),
    ]  # fmt: skip
    output.print_fields(rows, title=label, markup=False)


def _poll(client: Client) -> dict[str, Any] | str:
    """The next metrics, or why there are none (the engine restarting is not fatal)."""
    try:
        return client.call("metrics")
    except (EngineUnreachable, RpcError) as exc:
        return str(exc)


def _watch_json(client: Client, data: dict[str, Any], interval: float) -> None:
    output.emit_json_line(data)
    while True:
        time.sleep(interval)
        answer = _poll(client)
        if isinstance(answer, str):
            output.note(f"arbctl: {answer}; retrying")
        else:
            output.emit_json_line(answer)


def _watch_live(client: Client, data: dict[str, Any], interval: float) -> None:
    from rich.live import Live

    with Live(_metrics_view(data), console=output.console(), auto_refresh=False) as live:
        while True:
            time.sleep(interval)
            answer = _poll(client)
            view = _unreachable_view(answer) if isinstance(answer, str) else _metrics_view(answer)
            live.update(view, refresh=True)


def _unreachable_view(message: str) -> RenderableType:
    from rich.text import Text

    return Text(f"{time.strftime('%H:%M:%S')} {message}; retrying (Ctrl-C to stop)", "red")


# (key, label, unit, normal: (op, bound) from the runbooks, or None)
_DASHBOARD: tuple[tuple[str, str, str, tuple[str, float] | None], ...] = (
    ("trades_per_minute", "trades_per_minute", "", (">", 0)),
    ("errors_per_minute", "errors_per_minute", "", ("<", 10)),
    ("avg_ws_latency_ms", "avg_ws_latency_ms", "ms", ("<", 500)),
    ("avg_loop_latency_ms", "avg_loop_latency_ms", "ms", ("<", 50)),
    ("guard_triggers_per_minute", "guard_triggers_per_minute", "", ("<", 5)),
    ("pnl_change_1min", "pnl_change_1min", "", None),
    ("success_rate", "success rate (hour)", "%", (">", 80)),
    ("failed_trades_per_hour", "failed trades (hour)", "", ("<", 5)),
    ("gas_price_gwei", "gas price", "gwei", ("<", 100)),
    ("rpc_response_ms", "RPC response time", "ms", ("<", 500)),
)


def _metrics_view(data: dict[str, Any]) -> RenderableType:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(title="metrics", title_justify="left", header_style="bold")
    for column in ("metric", "now", "normal", ""):
        table.add_column(column)
    for key, label, unit, normal in _DASHBOARD:
        value = data.get(key)
        shown = _pct(value) if key == "success_rate" else value
        table.add_row(
            label,
            _value_text(data, key, value, unit),
            _normal_text(normal, unit),
            _mark(shown, normal),
        )
    stamp = time.strftime("%H:%M:%S", time.localtime(float(data.get("ts") or time.time())))
    head = Text.from_markup(f"[bold]{stamp}[/]  {_state_line(data)}")
    return Group(head, table, _status_grid(data), _anomaly_view(data.get("anomalies") or {}))


def _pct(value: Any) -> float | None:
    return None if value is None else float(value) * 100


def _value_text(data: dict[str, Any], key: str, value: Any, unit: str) -> str:
    if value is None:
        return "—"
    if key == "pnl_change_1min":
        return str(data.get("pnl_change_1min_text", value))
    if key == "success_rate":
        return f"{float(value) * 100:.1f} % of {data.get('trades_last_hour', 0)}"
    return f"{value:g} {unit}".strip() if isinstance(value, int | float) else str(value)


def _normal_text(normal: tuple[str, float] | None, unit: str) -> str:
    return "" if normal is None else f"{normal[0]} {normal[1]:g} {unit}".strip()


def _mark(value: Any, normal: tuple[str, float] | None) -> str:
    if normal is None or value is None:
        return ""
    op, bound = normal
    ok = value > bound if op == ">" else value < bound
    return "[green]✓[/]" if ok else "[red]✗[/]"


def _state_line(data: dict[str, Any]) -> str:
    alerts = data.get("alerts") or {}
    firing = int(alerts.get("active") or 0)
    worst = f" (worst {alerts.get('worst')})" if firing else ""
    colour = "red" if firing else "green"
    return f"engine {output.esc(data.get('state'))} · [{colour}]{firing} alerts firing{worst}[/]"


def _status_grid(data: dict[str, Any]) -> RenderableType:
    from rich.table import Table

    breaker = data.get("breaker") or {}
    res = data.get("resources") or {}
    providers = " · ".join(
        f"{output.esc(p.get('name'))}{'*' if p.get('active') else ''} {output.esc(p.get('status'))}"
        for p in data.get("providers") or []
    )
    rows = [
        ("breaker", output.esc(f"{breaker.get('state', '?')} {breaker.get('reason') or ''}")),
        ("providers", providers or "—"),
        ("P&L (hour)", output.esc(data.get("pnl_hourly_text", "—"))),
        ("gas model", _gas_model_text(data.get("gas_model") or {})),
        (
            "resources",
            f"cpu {res.get('cpu_percent', '—')} % · memory {res.get('memory_percent', '—')} % "
            f"of {output.esc(res.get('memory_of', '?'))}",
        ),
    ]
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for row in rows:
        grid.add_row(*row)
    return grid


def _gas_model_text(gas: dict[str, Any]) -> str:
    """The gas model's error: estimate charged against gas used, over recent trades."""
    samples = gas.get("samples") or 0
    if not samples:
        return "no trade measured yet"
    bias = int(gas.get("bias") or 0)
    return (
        f"error mean {gas.get('mean_abs'):,} gas ({gas.get('mean_abs_pct')} %) · "
        f"p90 {gas.get('p90_abs'):,} gas ({gas.get('p90_abs_pct')} %) · "
        f"bias {bias:+,} · {samples} trades"
    )


def _anomaly_view(anomalies: dict[str, Any]) -> RenderableType:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    today = int(anomalies.get("today") or 0)
    if not today:
        return Text("✓ no anomalies detected today", "green")
    table = Table(header_style="bold")
    for column in ("time", "type", "value", "median", "z", "subject"):
        table.add_column(column, overflow="fold")
    for a in (anomalies.get("recent") or [])[:5]:
        table.add_row(
            output.clock(a.get("ts")),
            str(a.get("kind")),
            f"{a.get('value'):.6g} {a.get('unit')}",
            f"{a.get('median'):.6g}",
            str(a.get("score")),
            str(a.get("subject") or ""),
        )
    return Group(Text(f"⚠ {today} anomalies detected today", "yellow"), table)


# --- alerts ----------------------------------------------------------------------------------
def alerts(
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="At most this many recent notifications.")
    ] = 20,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Show firing alerts (most severe first) and recent notifications.

    Alerts are the runbooks' rules evaluated by the engine (health check failing, CPU,
    memory, no trades, error rate, success rate, hourly P&L, breaker open, emergency
    halt, provider down, anomalies), with severities P0–P3. Each fires once, is re-sent
    while active and sends `resolved` when it clears (docs/observability.md). With
    --json prints {active, pending, recent, rules, sinks, health, ...} (rules included).

    Exit codes: 0 ok · 1 the engine refused · 3 engine unreachable.
    """
    data = call_or_exit(socket, "alerts", {"limit": limit}, as_json=as_json)
    if as_json:
        output.emit_json(data)
        return
    active = data.get("active") or []
    if not active:
        output.say("[green]no alerts firing[/]")
    rows = [
        (
            _severity(a),
            output.esc(a.get("rule")),
            output.clock(a.get("fired_at")),
            a.get("notifications"),
            output.esc(a.get("summary")),
        )
        for a in active
    ]
    if rows:
        output.print_table(["sev", "rule", "firing since", "sent", "summary"], rows, "firing")
    for rule, since in (data.get("pending") or {}).items():
        output.say(f"pending: {output.esc(rule)} since {output.clock(since)}")
    recent = [
        (
            output.clock(n.get("ts")),
            _severity(n),
            output.esc(n.get("status")),
            output.esc(n.get("rule")),
            output.esc(n.get("summary")),
        )
        for n in data.get("recent") or []
    ]
    if recent:
        output.print_table(["time", "sev", "status", "rule", "summary"], recent, "notifications")


def _severity(note: dict[str, Any]) -> str:
    severity = str(note.get("severity"))
    return f"[{_SEVERITY_STYLE.get(severity, 'white')}]{severity}[/]"


# --- logs ------------------------------------------------------------------------------------
def logs(
    tail: Annotated[
        int,
        typer.Option("--tail", "-n", min=0, help="Show the last N matching lines (0: all)."),
    ] = 100,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Then keep printing new lines until Ctrl-C.")
    ] = False,
    errors: Annotated[
        bool, typer.Option("--errors", help="Only ERROR and CRITICAL records.")
    ] = False,
    search: Annotated[
        str | None,
        typer.Option(
            "--search", "-s", show_default=False, help="Only lines matching this regex (any case)."
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", show_default=False, help="Only newer: 15m, 1h, ISO, epoch."),
    ] = None,
    state_dir: options.StateDirOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Print the engine's log, filtered; reads the files, so works with the engine down.

    Reads <state dir>/logs/engine.log and its rotated predecessors (engine.log.N …
    engine.log.1) as one stream, oldest first. --errors, --search and --since combine;
    --tail keeps the last N matches. --follow keeps printing new lines and survives
    rotation. With --json prints each record as the JSON line the engine wrote (ts,
    time, level, logger, msg, plus any fields); a line that is not JSON comes as {raw}.

    When nothing matches it says so on stderr (stdout stays empty), and exits 0.

    Exit codes: 0 ok (or Ctrl-C while following) · 1 no log file in the state dir · 2 bad
    --since or --search.
    """
    after = None if since is None else options.since_or_exit(since, as_json)
    match = _matcher(errors, search, after, as_json)
    directory = options.state_dir(state_dir) / logfiles.LOG_DIR
    current = directory / logfiles.LOG_FILE
    if not follow and not logfiles.log_files(directory):
        output.fail(f"no engine log in {directory}", exitcodes.FAILED, as_json)
    try:
        handle = logfiles.open_for_follow(current) if follow else None
        end = handle.tell() if handle else None
        shown = 0
        for record in logfiles.last_matching(directory, match, tail, end, after):
            _print_record(record, as_json)
            shown += 1
        if not shown:
            _say_nothing_matched(directory, errors, search, since, follow)
        if follow:
            for record in logfiles.follow(current, handle):
                if match(record):
                    _print_record(record, as_json)
    except KeyboardInterrupt:
        raise typer.Exit(exitcodes.OK) from None


def _say_nothing_matched(
    directory: Any, errors: bool, search: str | None, since: str | None, follow: bool
) -> None:
    """An empty answer must not look like a broken command (on stderr: stdout stays the
    records, for pipes and --json)."""
    filters = [
        f for f in ("--errors" if errors else "", f"--search {search!r}" if search else "",
                    f"--since {since}" if since else "") if f
    ]  # fmt: skip
    files = ", ".join(p.name for p in logfiles.log_files(directory)) or "no log file yet"
    what = f" ({' '.join(filters)})" if filters else ""
    then = "; following for new ones" if follow else ""
    output.note(f"arbctl: no log record matches{what} in {directory} ({files}){then}")


def _matcher(
    errors: bool, search: str | None, after: float | None, as_json: bool
) -> Callable[[logfiles.Record], bool]:
    """One predicate for all the filters; a bad regex is a usage error (exit 2)."""
    try:
        pattern = re.compile(search, re.IGNORECASE) if search else None
    except re.error as exc:
        output.fail(f"bad --search pattern {search!r}: {exc}", exitcodes.USAGE, as_json)

    def match(record: logfiles.Record) -> bool:
        if errors and record.get("level") not in logfiles.ERROR_LEVELS:
            return False
        if after is not None and float(record.get("ts") or 0.0) < after:
            return False
        return pattern is None or bool(pattern.search(logfiles.render(record)))

    return match


def _print_record(record: logfiles.Record, as_json: bool) -> None:
    if as_json:
        output.emit_json_line(record)
    else:
        print(logfiles.render(record), flush=True)
