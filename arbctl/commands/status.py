"""`status` and `health`: the two questions asked most often, answered fastest.

Both are on the hot path of monitoring agents, so this module imports nothing beyond
the client; rich is loaded only when a human is reading.
"""

from __future__ import annotations

from typing import Any

import typer

from arbctl import exitcodes, options, output
from arbctl.client import Client, EngineUnreachable, RpcError


def status(
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Show the engine's state, chain head, loop latency, send gate and ledger.

    Needs a running engine on the socket. With --json prints the engine's status
    object unchanged (fields: docs/cli.md#status).

    Exit codes: 0 the engine answered (whatever its state) · 3 no engine answered on the
    socket (the message names the socket and why).
    """
    from arbctl.rpc import call_or_exit

    data = call_or_exit(socket, "status", as_json=as_json)
    if as_json:
        output.emit_json(data)
    else:
        _render_status(data)


def _render_status(s: dict[str, Any]) -> None:
    state = str(s.get("state", "?"))
    colour = {"running": "green", "paused": "yellow", "halted": "red"}.get(state, "cyan")
    output.say(
        f"[bold {colour}]{state.upper()}[/] since {output.clock(s.get('since'))} "
        f"({output.ago(s.get('since'))}) — {output.esc(s.get('reason', ''))}"
    )
    esc = output.esc
    output.print_fields(
        [
            ("engine", f"pid {s.get('pid')} · up {output.duration(s.get('uptime_s'))}"),
            ("venue", f"{esc(s.get('venue'))} · chain {esc(s.get('chain'))}"),
            ("block", f"{s.get('block')} · head age {output.duration(s.get('head_age_s'))}"),
            ("loop latency", _latency(s)),
            ("gate", _gate(s.get("gate") or {})),
            ("ledger", _ledger(s.get("ledger") or {})),
            ("providers", _providers(s.get("providers") or [])),
            ("breaker", _breaker(s.get("breaker") or {})),
            ("halt", _halt(s.get("halt"))),
            *_submission(s.get("submission")),
            ("resources", _resources(s.get("resources") or {})),
            ("events", f"last seq {s.get('last_seq')} · {s.get('subscribers')} subscribers"),
            ("socket", esc(s.get("socket"))),
            ("state dir", esc(s.get("state_dir"))),
            ("config", esc(s.get("config_source"))),
            ("version", esc(s.get("version"))),
        ]
    )


def _submission(sub: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The submission route, pending bundles (uuid, target block) and private txs."""
    if not sub:
        return []
    bundles = sub.get("pending_bundles") or []
    private = sub.get("pending_private") or []
    rows = [
        (
            "route",
            f"{output.esc(sub.get('route'))} ({sub.get('route_kind')}) · "
            f"{len(bundles)} pending bundles · {len(private)} pending private txs",
        )
    ]
    for b in bundles:
        state = "cancelled" if b.get("cancelled") else f"target {b.get('target')}"
        rows.append(
            (
                "  bundle",
                f"{b.get('uuid')} {state} (blocks {b.get('first_block')}..{b.get('last_block')}) "
                f"tx {b.get('hash')}",
            )
        )
    rows += [("  private", f"{p.get('hash')} via {output.esc(p.get('route'))}") for p in private]
    return rows


def _latency(s: dict[str, Any]) -> str:
    return f"{_ms(s.get('loop_latency_ms'))} (avg {_ms(s.get('avg_loop_latency_ms'))})"


def _ms(value: Any) -> str:
    return "—" if value is None else f"{float(value):.1f} ms"


def _gate(gate: dict[str, Any]) -> str:
    return (
        f"sent {gate.get('sent', 0)} · refused {gate.get('refused', 0)} "
        f"· in flight {gate.get('in_flight', 0)}"
    )


def _ledger(ledger: dict[str, Any]) -> str:
    if not ledger:
        return "—"
    error = output.esc(ledger.get("error") or "")
    ok = "[green]ok[/]" if ledger.get("ok") else f"[red]DOWN[/] {error}"
    latency = ledger.get("latency_ms")
    extra = f" ({float(latency):.1f} ms)" if latency is not None else ""
    if quarantined := ledger.get("quarantined"):
        where = output.esc(ledger.get("deadletter") or "the engine log")
        extra += f" · [yellow]{quarantined} rows refused, set aside in {where}[/]"
    return f"{output.esc(ledger.get('backend'))} {ok}{extra}"


def _providers(providers: list[dict[str, Any]]) -> str:
    """One line: `name* status 47 ms` per provider; * marks the one in use."""
    colours = {"healthy": "green", "degraded": "yellow"}
    parts = [
        f"{output.esc(p.get('name'))}{'*' if p.get('active') else ''} "
        f"[{colours.get(str(p.get('status')), 'red')}]{output.esc(p.get('status'))}[/] "
        f"{_ms(p.get('latency_ms_ewma'))}"
        for p in providers
    ]
    return " · ".join(parts) if parts else "—"


def _breaker(breaker: dict[str, Any]) -> str:
    if not breaker:
        return "—"
    state = str(breaker.get("state", "?"))
    colour = "green" if state == "closed" else "red"
    return (
        f"[{colour}]{output.esc(state)}[/] since {output.clock(breaker.get('since'))}"
        f" — {output.esc(breaker.get('reason') or '')}"
    )


def _resources(res: dict[str, Any]) -> str:
    if not res:
        return "—"
    rss = res.get("rss_bytes")
    rss_text = "—" if rss is None else f"{int(rss) / 2**20:.0f} MiB"
    return (
        f"cpu {res.get('cpu_percent')}% · rss {rss_text} · {res.get('threads')} threads · "
        f"{res.get('open_files')} files · disk {res.get('disk_used_percent')}%"
    )


def _halt(halt: dict[str, Any] | None) -> str:
    if not halt:
        return "—"
    return (
        f"[red]HALTED[/] by uid {halt.get('uid')} ({output.esc(halt.get('source'))}) at "
        f"{output.clock(halt.get('ts'))}: {output.esc(halt.get('reason'))}"
    )


def health(
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Run the engine's health checks; exit code follows the monitoring convention.

    Suitable for Nagios/Icinga/cron: the exit code alone is the verdict. Needs a running
    engine; if none answers, the verdict is UNKNOWN. With --json prints
    {status, checks: [{name, status, detail}]}.

    Exit codes: 0 OK · 1 WARNING · 2 CRITICAL · 3 UNKNOWN (engine unreachable).
    """
    data = _health_or_unknown(options.socket_path(socket))
    if as_json:
        output.emit_json(data)
    else:
        _render_health(data)
    raise typer.Exit(exitcodes.HEALTH_CODES.get(str(data.get("status")), exitcodes.UNREACHABLE))


def _health_or_unknown(sock: Any) -> dict[str, Any]:
    """An unreachable engine is not an error here: it is the UNKNOWN verdict."""
    try:
        return Client(sock).call("health")
    except (EngineUnreachable, RpcError) as exc:
        return {
            "status": "UNKNOWN",
            "checks": [{"name": "engine", "status": "UNKNOWN", "detail": str(exc)}],
        }


def _render_health(data: dict[str, Any]) -> None:
    colours = {"OK": "green", "WARNING": "yellow", "CRITICAL": "red", "UNKNOWN": "magenta"}
    verdict = str(data.get("status"))
    output.say(f"[bold {colours.get(verdict, 'white')}]{verdict}[/]")
    rows = [
        (
            f"[{colours.get(str(c.get('status')), 'white')}]{c.get('status')}[/]",
            output.esc(c.get("name")),
            output.esc(c.get("detail")),
        )
        for c in data.get("checks") or []
    ]
    output.print_table(["status", "check", "detail"], rows)
