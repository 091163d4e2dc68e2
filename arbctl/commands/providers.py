"""`providers`, `providers mark-online|mark-offline`, `failover`, `rpc-check`.

The runbooks' provider procedures as commands: "check provider status" is `arbctl
providers` (health, which one is active and why); "switch to alternative provider" is
`arbctl failover NAME` (a pin, until `arbctl failover --auto`); "manually mark provider
online if false positive" is `arbctl providers mark-online NAME`. Those three talk to
the engine and are audited with your uid.

`rpc-check` is the "RPC Endpoint Issues" diagnosis script: it asks every configured
endpoint for its chain id and block directly, with plain JSON-RPC over urllib, so it
works while the engine is down and never loads web3. (urllib and http.client load only
inside it: together they cost `arbctl status` ~60 ms of imports.)
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from arbctl import exitcodes, options, output
from arbctl.helptext import reflow
from arbctl.output import Col, Styled
from arbctl.rpc import audited, call_or_exit

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="Provider name, as in the config.")]

app = typer.Typer(
    name="providers",
    help=reflow(
        """Show RPC endpoints and liquidity sources: health, which is active and why.

        `arbctl providers [--json]` lists them (▶ active, ⚑ pinned by an operator).
        `arbctl providers mark-offline NAME --reason TEXT` keeps the engine off one;
        `arbctl providers mark-online NAME --reason TEXT` takes it back and forgives its
        failures (a false positive). Both are audited with your uid.

        Exit codes: 0 ok · 1 the engine refused (unknown name, the last endpoint, a pinned
        one) · 2 usage error (no --reason) · 3 engine unreachable.
        """
    ),
    invoke_without_command=True,
    no_args_is_help=False,
)


@app.callback()
def providers(
    ctx: typer.Context,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    # With no subcommand, `providers` is a read (help text above).
    if ctx.invoked_subcommand is None:
        _show(socket, as_json)


def _show(socket: Path | None, as_json: bool) -> None:
    data = call_or_exit(socket, "providers", as_json=as_json)
    if as_json:
        output.emit_json(data)
        return
    for kind in ("rpc", "liquidity", "route"):
        if data.get(kind):
            _print_set(kind, data[kind])


@app.command("mark-online")
def mark_online(
    name: NameArg,
    reason: options.ReasonOpt = None,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Use a provider again and forgive its failures and open breaker (the runbook's
    "manually mark provider online if false positive").

    Needs --reason (audited with your uid). With --json prints its provider set.

    Exit codes: 0 marked · 1 the engine refused (unknown name) · 2 missing --reason ·
    3 engine unreachable.
    """
    _mark(name, True, reason, socket, as_json)


@app.command("mark-offline")
def mark_offline(
    name: NameArg,
    reason: options.ReasonOpt = None,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Never use a provider until it is marked online; automatic failover moves off it
    at once if it is active.

    Needs --reason (audited with your uid). Refused for the pinned provider and for the
    last RPC endpoint not marked offline. With --json prints its provider set.

    Exit codes: 0 marked · 1 the engine refused · 2 missing --reason · 3 engine unreachable.
    """
    _mark(name, False, reason, socket, as_json)


def _mark(name: str, online: bool, reason: str | None, socket: Path | None, as_json: bool) -> None:
    command = "providers mark-online" if online else "providers mark-offline"
    why = options.require_reason(reason, command, as_json)
    params = audited(why, name=name, online=online)
    data = call_or_exit(socket, "providers.mark", params, as_json=as_json)
    if as_json:
        output.emit_json(data)
        return
    word = "[green]ONLINE[/]" if online else "[yellow]OFFLINE[/]"
    output.say(f"{output.esc(name)} marked {word} — {output.esc(why)}")
    output.say(f"active: {output.esc(data.get('active'))} ({output.esc(data.get('reason'))})")


def failover(
    name: Annotated[
        str | None, typer.Argument(metavar="[NAME]", show_default=False, help="Provider to pin.")
    ] = None,
    auto: Annotated[
        bool, typer.Option("--auto", help="Clear the pin: the engine chooses by health.")
    ] = False,
    liquidity: Annotated[
        bool, typer.Option("--liquidity", help="With --auto: the liquidity sources' choice.")
    ] = False,
    route: Annotated[
        str | None,
        typer.Option(
            "--route", metavar="NAME", help="Pin this submission route.", show_default=False
        ),
    ] = None,
    routes: Annotated[
        bool, typer.Option("--routes", help="With --auto: the submission routes' choice.")
    ] = False,
    reason: options.ReasonOpt = None,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Pin a provider (RPC endpoint, liquidity source or, with --route, submission route),
    or go back to automatic choice.

    `arbctl failover NAME --reason TEXT` makes the engine use NAME and nothing else until
    `arbctl failover --auto --reason TEXT`. While the pinned provider cannot serve,
    trading waits (guard `pinned_provider`); the engine never switches away from a pin.
    Audited with your uid. With --json prints the provider set, with `previous`.

    Exit codes: 0 done · 1 the engine refused (unknown name, marked offline) · 2 usage
    error (NAME and --auto, neither, or no --reason) · 3 engine unreachable.
    """
    if name is not None and route is not None:
        output.fail("give NAME or --route NAME, not both", exitcodes.USAGE, as_json)
    name = name if route is None else route
    if (name is None) == (not auto):
        output.fail("give a provider NAME to pin, or --auto (not both)", exitcodes.USAGE, as_json)
    why = options.require_reason(reason, "failover", as_json)
    kind = "route" if routes or route else "liquidity" if liquidity else "rpc"
    data = call_or_exit(socket, "failover", audited(why, name=name, kind=kind), as_json=as_json)
    if as_json:
        output.emit_json(data)
        return
    mode = f"pinned to {name}" if name else "automatic"
    output.say(
        f"[bold]{mode}[/] — active {output.esc(data.get('active'))} (was {data.get('previous')})"
    )


# --- rendering --------------------------------------------------------------------------
_STATUS_COLOUR = {"healthy": "green", "degraded": "yellow", "down": "red", "offline": "magenta"}


def _print_set(kind: str, data: dict[str, Any]) -> None:
    titles = {"rpc": "RPC endpoints", "route": "Submission routes"}
    title = titles.get(kind, "Flash-liquidity sources")
    pinned = f" · pinned to {data['pinned']}" if data.get("pinned") else " · automatic"
    output.say(
        f"[bold]{title}[/]{pinned} — active [bold]{output.esc(data.get('active'))}[/] since "
        f"{output.clock(data.get('since'))}: {output.esc(data.get('reason'))}"
    )
    rows = [_row(p) for p in data.get("providers") or []]
    columns = [
        Col(""),
        Col("provider"),
        Col("status"),
        Col("latency", right=True, drop=3),
        Col("ok", right=True, drop=4),
        Col("cf", right=True, drop=2),
        Col("lag", right=True, drop=1),
        Col("breaker", drop=5),
        Col("why / last error", shrink=16),
    ]
    output.print_fitted(columns, rows)


def _row(p: dict[str, Any]) -> list[Any]:
    mark = ("▶" if p.get("active") else " ") + ("⚑" if p.get("pinned") else " ")
    status = str(p.get("status", "?"))
    colour = _STATUS_COLOUR.get(status, "cyan")
    breaker = (p.get("breaker") or {}).get("state", "—")
    note = p.get("unusable_reason") or p.get("last_error") or ""
    latency = p.get("latency_ms_ewma")
    return [
        mark,
        f"{p.get('name')} ({p['route_kind']})" if p.get("route_kind") else p.get("name"),
        Styled(status, colour),
        f"{latency:.0f} ms" if latency else "—",
        f"{float(p.get('success_rate', 0)) * 100:.0f}%",
        p.get("consecutive_failures", 0),
        p.get("head_lag", 0) if p.get("kind", "rpc") == "rpc" else "—",
        breaker,
        note,
    ]


# --- rpc-check ----------------------------------------------------------------------------
TimeoutOpt = Annotated[
    float, typer.Option("--timeout", min=0.1, help="Seconds to wait for each endpoint.")
]
UrlOpt = Annotated[
    list[str] | None,
    typer.Option("--url", show_default=False, help="Check this URL too (repeatable)."),
]
PROBE = [
    {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
    {"jsonrpc": "2.0", "id": 2, "method": "eth_blockNumber", "params": []},
]


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    url: str
    priority: int


def rpc_check(
    config: options.ConfigOpt = None,
    url: UrlOpt = None,
    timeout: TimeoutOpt = 5.0,
    as_json: options.JsonOpt = False,
) -> None:
    """Measure every configured RPC endpoint directly: latency, block number, chain id.

    The runbook's "RPC Endpoint Issues" check, without the engine (it works when the
    engine is down) and without web3: one JSON-RPC batch (eth_chainId, eth_blockNumber)
    per endpoint over HTTP, all endpoints at once. Endpoints come from the config's
    `[[providers]]` with kind = "rpc" (ws:// URLs are asked over http://) and from --url.
    An endpoint is usable when it answers, serves `evm.chain_id` (evm venue), and is
    less than 2 blocks behind the best one. With --json prints {endpoints: [{name, url,
    ok, latency_ms, block, chain_id, chain_ok, head_lag, usable, error}], usable,
    best_block, expected_chain_id}.

    Exit codes: 0 at least one endpoint usable · 1 none usable (or none configured) ·
    2 the config cannot be read.
    """
    from concurrent.futures import ThreadPoolExecutor

    targets, expected = _targets(config, url or [], as_json)
    with ThreadPoolExecutor(max_workers=max(1, len(targets))) as pool:
        results = list(pool.map(lambda t: _probe(t, timeout), targets))
    report = _judge(results, expected)
    if as_json:
        output.emit_json(report)
    else:
        _print_check(report)
    if not report["usable"]:
        raise typer.Exit(exitcodes.FAILED)


def _targets(
    config: Path | None, urls: list[str], as_json: bool
) -> tuple[list[Target], int | None]:
    from engine.config import ConfigError, load

    if config is None and not urls:
        output.fail(
            "no endpoints: pass --config FILE (or set ARBCTL_CONFIG) or --url",
            exitcodes.USAGE,
            as_json,
        )
    try:
        loaded = load(config)
    except ConfigError as exc:
        output.fail(f"config error: {exc}", exitcodes.USAGE, as_json)
    targets = [Target(p.name, p.url, p.priority) for p in loaded.providers if p.kind == "rpc"]
    targets += [Target(u, u, len(targets) + i) for i, u in enumerate(urls)]
    expected = loaded.evm.chain_id if loaded.market.venue == "evm" else None
    return sorted(targets, key=lambda t: t.priority), expected


def _probe(target: Target, timeout: float) -> dict[str, Any]:
    import http.client

    from engine.config import redact_text

    result: dict[str, Any] = {
        "name": target.name,
        "url": redact_text(target.url),
        "priority": target.priority,
        "ok": False,
        "latency_ms": None,
        "block": None,
        "chain_id": None,
        "error": "",
    }
    started = time.perf_counter()
    try:
        replies = _post(_http_url(target.url), timeout)
        result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
        result["chain_id"], result["block"] = _answers(replies)
        result["ok"] = True
    except (OSError, ValueError, KeyError, TypeError, http.client.HTTPException) as exc:
        result["error"] = redact_text(_describe(exc))
    return result


def _http_url(url: str) -> str:
    for ws, plain in (("wss://", "https://"), ("ws://", "http://")):
        if url.startswith(ws):
            return plain + url.removeprefix(ws)
    return url


def _post(url: str, timeout: float) -> Any:
    import urllib.request

    request = urllib.request.Request(
        url, data=json.dumps(PROBE).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def _answers(replies: Any) -> tuple[int, int]:
    if not isinstance(replies, list):
        raise ValueError(f"not a batch answer: {str(replies)[:80]}")
    by_id = {r.get("id"): r for r in replies if isinstance(r, dict)}
    values = []
    for request in PROBE:
        reply = by_id.get(request["id"]) or {}
        if "result" not in reply:
            error = (reply.get("error") or {}).get("message", "no answer")
            raise ValueError(f"{request['method']}: {error}")
        values.append(int(reply["result"], 16))
    return values[0], values[1]


def _describe(exc: BaseException) -> str:
    import urllib.error

    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__


def _judge(results: list[dict[str, Any]], expected: int | None) -> dict[str, Any]:
    """Add chain_ok / head_lag / usable to each result: lag is against the best block
    any endpoint serving the right chain answered with."""
    from engine.providers.selector import FAILOVER_LAG

    for r in results:
        r["chain_ok"] = r["ok"] and (expected is None or r["chain_id"] == expected)
    blocks = [r["block"] for r in results if r["chain_ok"]]
    best = max(blocks, default=None)
    for r in results:
        r["head_lag"] = best - r["block"] if r["chain_ok"] and best is not None else None
        r["usable"] = (
            bool(r["chain_ok"]) and r["head_lag"] is not None and r["head_lag"] < FAILOVER_LAG
        )
        if r["ok"] and not r["chain_ok"]:
            r["error"] = f"serves chain id {r['chain_id']}, expected {expected}"
        elif r["ok"] and not r["usable"]:
            r["error"] = f"{r['head_lag']} blocks behind the best endpoint"
    usable = sum(1 for r in results if r["usable"])
    return {
        "endpoints": results,
        "usable": usable,
        "best_block": best,
        "expected_chain_id": expected,
    }


def _print_check(report: dict[str, Any]) -> None:
    if not report["endpoints"]:
        output.say('[red]no RPC endpoints configured[/] (\\[\\[providers]] with kind = "rpc")')
        return
    for r in report["endpoints"]:
        name = output.esc(r["name"])
        if r["usable"]:
            output.say(f"[green]✓[/] {name}: {r['latency_ms']:.0f}ms (block: {r['block']})")
        else:
            output.say(f"[red]✗[/] {name}: {output.esc(r['error'])}")
    output.say(f"{report['usable']} of {len(report['endpoints'])} endpoints usable")
