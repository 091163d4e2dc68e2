"""The daily report (runbook 1, 18:00) and the performance review (monthly maintenance).

Both are assembled from what the engine serves and what the state directory holds, as
data first (the --json document) and markdown second (stdout and --out). A source that
cannot answer leaves its section saying so and its name in `gaps`: a report that quietly
shows zeros for a ledger that was down would be worse than no report.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from arbctl import output
from arbctl.runbook import charts, fmt, local, logscan, triage
from arbctl.runbook import markdown as md
from arbctl.runbook.sources import Answer, EngineSource
from arbctl.runbook.trends import performance_data, performance_markdown

DAY_S = 86400.0
TOP_ERRORS = 10
CHART_BUCKETS = 56  # columns of the "today" charts: with labels up to 22 wide they fit 80
TODAY_TRADES = 20_000  # trades read for today's P&L curve (more: the curve says truncated)
HEARTBEATS = 1_000  # recent heartbeats for the latency charts (~17 min at 1 s)
_PNL_MONEY = (
    ("gross profit", "gross_profit_quote", "quote"),
    ("gas", "gas_cost_wei", "native"),
    ("gas (quote)", "gas_cost_quote", "quote"),
    ("flash fees", "flash_fee_quote", "quote"),
    ("net profit", "net_profit_quote", "quote"),
    ("net profit (native)", "net_profit_native", "native"),
)
_METRICS_NOW = (
    "trades_per_minute",
    "errors_per_minute",
    "avg_ws_latency_ms",
    "avg_loop_latency_ms",
    "guard_triggers_per_minute",
    "success_rate",
    "failed_trades_per_hour",
    "gas_price_gwei",
    "rpc_response_ms",
    "breaker",
    "providers",
)


# --- daily ---------------------------------------------------------------------------------
def daily(engine: EngineSource, state_dir: Path) -> tuple[dict[str, Any], str]:
    now = time.time()
    status, metrics = engine.ask("status"), engine.ask("metrics")
    pnl = engine.ask("pnl", {"period": "24h"})
    host = local.host()
    doc: dict[str, Any] = {
        "report": "daily",
        "ts": now,
        "engine": engine.describe(),
        "state_dir": str(state_dir),
        "service": _service(engine, state_dir, status),
        "uptime": {
            "engine_s": status.get("uptime_s"),
            "started_at": status.get("started_at"),
            "host_s": host["uptime_s"],
            "load": host["load"],
        },
        "trading": {
            "period": "24h",
            "pnl": pnl.value if pnl.ok else None,
            "now": {k: metrics.get(k) for k in _METRICS_NOW} if metrics.ok else None,
        },
        "today": today_series(engine, now),
        "errors": logscan.error_summary(state_dir, now - DAY_S, TOP_ERRORS),
        "disk": {**local.disk_usage(state_dir), "state_dir_bytes": local.dir_sizes(state_dir)},
        "resources": {"engine": _engine_resources(status, metrics), "host": host},
    }
    doc["gaps"] = engine.gaps()
    return doc, daily_markdown(doc)


def today_series(engine: EngineSource, now: float) -> dict[str, Any]:
    """Today's cumulative P&L (quote base units, per bucket since 00:00 UTC, the ledger's
    day) and the loop and RPC latency over the heartbeats the engine still holds."""
    start = now - now % DAY_S
    count = CHART_BUCKETS
    step = max(1.0, (now - start) / count)
    answer = engine.ask("trades", {"since": start, "limit": TODAY_TRADES})
    trades = answer.get("trades") or []
    per_bucket = [0] * count
    for trade in trades:
        at = float(trade.get("mined_at") or trade.get("detected_at") or start)
        per_bucket[min(count - 1, max(0, int((at - start) / step)))] += int(trade["profit_quote"])
    running, cumulative = 0, []
    for amount in per_bucket:
        running += amount
        cumulative.append(running)
    return {
        "since": start,
        "until": now,
        "buckets": count,
        "bucket_s": round(step, 1),
        "pnl_cumulative_quote": cumulative if answer.ok else None,
        "trades": len(trades),
        "truncated": len(trades) >= TODAY_TRADES,
        **_latency_series(engine, count),
    }


def _latency_series(engine: EngineSource, count: int) -> dict[str, Any]:
    """Per bucket, the worst loop latency and the active RPC provider's latency (its
    moving average) the heartbeats reported; None where no heartbeat fell."""
    params = {"topics": ["heartbeat"], "limit": HEARTBEATS}
    beats = engine.ask("events.recent", params).get("events") or []
    if not beats:
        return {"latency_from": None, "latency_to": None, "loop_ms": [], "rpc_ms": []}
    first, last = float(beats[0]["ts"]), float(beats[-1]["ts"])
    step = max((last - first) / count, 1e-9)
    loop: list[float | None] = [None] * count
    rpc: list[float | None] = [None] * count
    for beat in beats:
        data = beat.get("data") or {}
        i = min(count - 1, int((float(beat["ts"]) - first) / step))
        loop[i] = _worst(loop[i], data.get("loop_latency_ms"))
        rpc[i] = _worst(rpc[i], _active_rpc_ms(data.get("providers") or []))
    return {"latency_from": first, "latency_to": last, "loop_ms": loop, "rpc_ms": rpc}


def _worst(current: float | None, value: Any) -> float | None:
    if not isinstance(value, int | float):
        return current
    return float(value) if current is None else max(current, float(value))


def _active_rpc_ms(providers: list[dict[str, Any]]) -> float | None:
    rpc = [p for p in providers if p.get("kind", "rpc") == "rpc"]
    active = next((p for p in rpc if p.get("active")), rpc[0] if rpc else None)
    value = (active or {}).get("latency_ms_ewma")
    return float(value) if isinstance(value, int | float) else None


def today_chart_lines(today: dict[str, Any], trading: dict[str, Any]) -> list[str]:
    """The three charts as a fenced block: markdown keeps them aligned."""
    quote = ((trading.get("pnl") or {}).get("units") or {}).get("quote") or {}
    lines = [f"Cumulative P&L today ({today['trades']} trades"]
    lines[0] += ", truncated)" if today["truncated"] else ")"
    cumulative = today["pnl_cumulative_quote"]
    if cumulative is None:
        lines.append("no data: the ledger did not answer")
    else:
        scale = 10 ** int(quote.get("decimals", 0))
        values = [v / scale for v in cumulative]  # floats for drawing only
        start, end = fmt.clock_hm(today["since"]), f"{fmt.clock_hm(today['until'])} UTC"
        lines += charts.axis_chart(values, quote.get("symbol", ""), start=start, end=end)
    for title, key in (("Loop latency", "loop_ms"), ("RPC latency (active provider)", "rpc_ms")):
        lines += ["", f"{title}, worst per column"]
        first, last = today["latency_from"], today["latency_to"]
        if first is None:
            lines.append("no data: no heartbeats (engine not answering)")
            continue
        start, end = fmt.clock_hm(first), f"{fmt.clock_hm(last)} UTC"
        lines += charts.axis_chart(today[key], "ms", start=start, end=end, digits=1)
    return ["```", *lines, "```"]


def _service(engine: EngineSource, state_dir: Path, status: Answer) -> dict[str, Any]:
    if not status.ok:
        down = triage.engine_down(engine, state_dir)
        return {"reachable": False, "verdict": down.title, "evidence": down.evidence}
    health = engine.ask("health")
    keys = ("state", "reason", "since", "pid", "version", "config_source", "halt", "ledger")
    return {
        "reachable": True,
        **{k: status.get(k) for k in keys},
        "health": health.get("status"),
        "health_checks": health.get("checks"),
    }


def _engine_resources(status: Answer, metrics: Answer) -> dict[str, Any] | None:
    res = metrics.get("resources") or status.get("resources")
    return dict(res) if res else None


def daily_markdown(doc: dict[str, Any]) -> str:
    day = time.strftime("%Y-%m-%d", time.localtime(doc["ts"]))
    host = doc["resources"]["host"]
    lines = [
        f"# Daily report — {day}",
        "",
        f"arbctl on {host['hostname']} · generated {fmt.stamp(doc['ts'])} · state dir "
        f"{doc['state_dir']}",
        "",
    ]
    lines += md.section("Service status", _service_lines(doc["service"]))
    lines += md.section("Uptime", _uptime_lines(doc))
    lines += md.section("Trading metrics (last 24 h)", _trading_lines(doc["trading"]))
    lines += md.section("Today at a glance", today_chart_lines(doc["today"], doc["trading"]))
    lines += md.section("Error summary", _error_summary_lines(doc["errors"], "24 h"))
    lines += md.section("Top errors", _top_error_lines(doc["errors"]))
    lines += md.section("Disk usage", _disk_lines(doc["disk"]))
    lines += md.section("Resource usage", _resource_lines(doc["resources"]))
    lines += gaps_section(doc["gaps"])
    return "\n".join(lines)


def _service_lines(service: dict[str, Any]) -> list[str]:
    if not service["reachable"]:
        items = [
            f"  - {e.strip()}" if e.startswith("  ") else f"- {e}" for e in service["evidence"]
        ]
        return [f"**{service['verdict']}**", "", *items]
    checks = service.get("health_checks") or []
    bad = [f"{c['name']} {c['status']}: {c['detail']}" for c in checks if c["status"] != "OK"]
    ledger = service.get("ledger") or {}
    return md.fields(
        [
            ("state", f"**{service['state']}** since {fmt.stamp(service['since'])}"),
            ("reason", service["reason"]),
            ("health", f"{service['health']}" + (f": {'; '.join(bad)}" if bad else "")),
            ("halt", fmt.halt(service["halt"]) if service["halt"] else "none"),
            ("ledger", f"{ledger.get('backend')} {'ok' if ledger.get('ok') else 'DOWN'}"),
            ("pid · version", f"{service['pid']} · {service['version']}"),
            ("config", service["config_source"]),
        ]
    )


def _uptime_lines(doc: dict[str, Any]) -> list[str]:
    up = doc["uptime"]
    load = " ".join(str(x) for x in up["load"] or []) or "—"
    engine = "not answering"
    if up["engine_s"] is not None:
        engine = f"up {output.duration(up['engine_s'])} (started {fmt.stamp(up['started_at'])})"
    host = doc["resources"]["host"]
    return md.fields(
        [
            ("engine", engine),
            ("host", f"up {output.duration(up['host_s'])} · load {load} · {host['cpus']} CPUs"),
        ]
    )


def _trading_lines(trading: dict[str, Any]) -> list[str]:
    pnl = trading["pnl"]
    if pnl is None:
        return ["Not available: the ledger did not answer (see below)."]
    units = pnl.get("units") or {}
    rows: list[tuple[str, Any]] = [
        ("window", f"{fmt.stamp(pnl['since'])} → {fmt.stamp(pnl['until'])}"),
        (
            "trades",
            f"{pnl['total_trades']} ({pnl['successful_trades']} ok · "
            f"{pnl['reverted_trades']} reverted · {pnl['failed_trades']} failed)",
        ),
        ("success rate", fmt.pct(pnl.get("success_rate"))),
    ]
    rows += [
        (label, output.amount(pnl.get(key), units.get(unit))) for label, key, unit in _PNL_MONEY
    ]
    now = trading["now"]
    if now:
        rows.append(("now", _now_text(now)))
    return md.fields(rows)


def _now_text(now: dict[str, Any]) -> str:
    breaker = (now.get("breaker") or {}).get("state")
    return (
        f"{now.get('trades_per_minute')} trades/min · {now.get('errors_per_minute')} errors/min"
        f" · loop {now.get('avg_loop_latency_ms')} ms · ws {now.get('avg_ws_latency_ms')} ms · "
        f"{now.get('guard_triggers_per_minute')} guard triggers/min · breaker {breaker}"
    )


def _error_summary_lines(errors: dict[str, Any], window: str) -> list[str]:
    files = ", ".join(errors["files"]) or "no log files"
    return [
        f"**{errors['count']}** ERROR/CRITICAL records in the last {window} "
        f"({errors['critical']} CRITICAL; read from {files})."
    ]


def _top_error_lines(errors: dict[str, Any]) -> list[str]:
    if not errors["top"]:
        return ["None."]
    rows = [
        (g["count"], g.get("level"), g["logger"], g["pattern"], fmt.stamp(g.get("last_ts")))
        for g in errors["top"]
    ]
    return md.table(["count", "level", "logger", "pattern", "last"], rows)


def _disk_lines(disk: dict[str, Any]) -> list[str]:
    sizes = disk["state_dir_bytes"]
    parts = ", ".join(f"{k} {fmt.size(v)}" for k, v in sizes.items() if k != "total")
    return md.fields(
        [
            (
                "filesystem",
                f"{disk['used_percent']} % used of {fmt.size(disk['total_bytes'])} at "
                f"{disk['path']} (free {fmt.size(disk['free_bytes'])}; runbook: < 80 %)",
            ),
            ("state dir", f"{fmt.size(sizes['total'])}: {parts}"),
        ]
    )


def _resource_lines(resources: dict[str, Any]) -> list[str]:
    engine = resources["engine"]
    host = resources["host"]
    engine_text = "not answering"
    if engine:
        engine_text = (
            f"cpu {engine.get('cpu_percent')} % · memory {engine.get('memory_percent', '—')} % "
            f"of {engine.get('memory_of', 'machine')} · rss {fmt.size(engine.get('rss_bytes'))}"
            f" · {engine.get('threads')} threads · {engine.get('open_files')} open files"
        )
    memory = (
        f"{fmt.size(host['memory_available_bytes'])} available of "
        f"{fmt.size(host['memory_total_bytes'])}"
    )
    return md.fields([("engine", engine_text), ("host memory", memory)])


def gaps_section(gaps: list[str]) -> list[str]:
    """Sources that did not answer this time (the exit code says so too)."""
    if not gaps:
        return []
    return md.section("Sources that did not answer", [f"- {gap}" for gap in gaps])


# --- performance ---------------------------------------------------------------------------
def performance(
    engine: EngineSource, state_dir: Path, period: str, max_trades: int
) -> tuple[dict[str, Any], str]:
    doc = performance_data(engine, state_dir, period, max_trades)
    return doc, performance_markdown(doc) + "\n".join(gaps_section(doc["gaps"]))
