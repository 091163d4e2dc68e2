"""One readable line per engine event: what `arbctl events` prints without --json.

`HH:MM:SS  topic  what happened`, in words and token units: a trade reads as its route
by symbol and pool kind, its size, its profit with the unit, its status and revert
reason. The exact event (seq, base units, addresses) is what --json prints; these lines
are for the person watching the tail, not for parsing. Each topic has a short function;
an unknown topic still reads as `key=value` pairs, never as raw JSON.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from arbctl.names import Names
from engine import units

Data = Mapping[str, Any]

LABELS = {
    "heartbeat": "beat",
    "opportunity": "opp",
    "guard_trigger": "guard",
    "resources": "host",
}
LABEL_WIDTH = 8


def line(event: Mapping[str, Any], names: Names) -> str:
    """The event as one line: time, topic, and the topic's own words."""
    stamp = time.strftime("%H:%M:%S", time.localtime(float(event.get("ts") or 0)))
    topic = str(event.get("topic") or "?")
    data = event.get("data")
    describe = _DESCRIBERS.get(topic)
    if isinstance(data, Mapping):
        text = describe(data, names) if describe else _pairs(data)
    else:
        text = "" if data is None else str(data)
    return f"{stamp} {LABELS.get(topic, topic):<{LABEL_WIDTH}} {text}".rstrip()


def _trade(d: Data, n: Names) -> str:
    status = str(d.get("status") or "?")
    mark = "✓" if status == "success" else "✗"
    route = d.get("route")
    size = n.money(d.get("amount_in"), d.get("token"))
    profit = units.money(d.get("profit_quote"), n.quote, plus=True)
    reason = f": {d['revert_reason']}" if d.get("revert_reason") else ""
    recovered = " (recovered)" if d.get("recovered") else ""
    return (
        f"{mark} {n.route(route)} {n.kinds(route)}  {size}  {profit}  {status}{recovered}{reason}"
    )


def _opportunity(d: Data, n: Names) -> str:
    route = d.get("route")
    size = n.money(d.get("amount_in"), d.get("token"))
    net = units.money(d.get("net_profit_quote"), n.quote, plus=True)
    return f"{n.route(route)} {n.kinds(route)}  {size}  net {net}  block {d.get('block_number')}"


def _block(d: Data, n: Names) -> str:
    fee = _gwei(d.get("base_fee"))
    return (
        f"#{d.get('number')}  base fee {fee}  {d.get('changed_pools', 0)} pools changed  "
        f"{d.get('opportunities', 0)} opp  {d.get('decision_ms', '?')} ms  via {d.get('provider')}"
    )


def _heartbeat(d: Data, n: Names) -> str:
    res = d.get("resources") or {}
    age = units.duration(d.get("head_age_s"), tenths=True)
    return (
        f"{d.get('state')}  block {d.get('block')} ({age} old)  loop {d.get('loop_latency_ms')} ms"
        f"  cpu {res.get('cpu_percent', '?')}%  {d.get('trades_booked', 0)} trades"
    )


def _state(d: Data, n: Names) -> str:
    actor = d.get("actor") or {}
    return f"{d.get('previous')} → {str(d.get('state')).upper()}: {d.get('reason')} {_who(actor)}"


def _audit(d: Data, n: Names) -> str:
    return f"{d.get('action')} {d.get('outcome')} {_who(d)}: {d.get('reason')}"


def _guard(d: Data, n: Names) -> str:
    return f"{d.get('guard')} {d.get('action')}: {d.get('reason')}"


def _provider(d: Data, n: Names) -> str:
    if d.get("event") == "status":
        change = f"{d.get('previous')} → {d.get('status')}"
        return f"{d.get('name')} {change}: {d.get('reason')}"
    if d.get("active"):  # failover, recovered, pinned: the active provider changed
        change = f"{d.get('previous')} → {d.get('active')}"
        return f"{d.get('kind', 'rpc')} {d.get('event')}: {change}: {d.get('reason')}"
    return f"{d.get('name', '')} {_pairs({k: v for k, v in d.items() if k != 'name'})}".strip()


def _resources(d: Data, n: Names) -> str:
    rss = d.get("rss_bytes")
    memory = f"{rss / 2**20:,.0f} MiB" if isinstance(rss, int | float) else "?"
    return (
        f"cpu {d.get('cpu_percent', '?')}%  rss {memory}  threads {d.get('threads', '?')}"
        f"  disk {d.get('disk_used_percent', '?')}%"
    )


def _log(d: Data, n: Names) -> str:
    return f"{d.get('level')} {d.get('logger')}: {d.get('msg')}"


def _alert(d: Data, n: Names) -> str:
    return (
        f"[{d.get('severity')}] {str(d.get('status')).upper()} {d.get('rule')}: {d.get('summary')}"
    )


def _latch(d: Data, n: Names) -> str:
    if not d.get("halted"):
        return "halt cleared"
    persisted = "persisted" if d.get("persisted") else "NOT persisted yet"
    return f"HALTED ({persisted}): {d.get('reason')}"


def _who(actor: Data) -> str:
    uid, client = actor.get("uid"), actor.get("client")
    return f"(uid {uid}, {client})" if client else ""


def _gwei(wei: Any) -> str:
    return f"{units.to_text(wei, 9, 2, separators=True)} gwei" if isinstance(wei, int) else "?"


def _pairs(d: Data) -> str:
    """Scalars as `key=value`; nested values, empty ones and timestamps are left to --json."""
    return "  ".join(
        f"{k}={v}"
        for k, v in d.items()
        if isinstance(v, str | int | float | bool) and v != "" and k not in ("at", "ts")
    )


_DESCRIBERS: dict[str, Callable[[Data, Names], str]] = {
    "trade": _trade,
    "opportunity": _opportunity,
    "block": _block,
    "heartbeat": _heartbeat,
    "state": _state,
    "audit": _audit,
    "guard_trigger": _guard,
    "provider": _provider,
    "resources": _resources,
    "log": _log,
    "alert": _alert,
    "latch": _latch,
}
