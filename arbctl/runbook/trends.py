"""The performance review's trends: volume, error rate, latency, profit and resources
per time bucket, from the ledger's trades, the logs and the engine's recent heartbeats.

Runbook 1's monthly review asks for the average latency, error rate, trading volume and
resource usage trends. The sources reach back different distances, and each chart says
how far: the ledger holds every trade (`pnl` totals are exact for the period; `trades`
is read up to --max-trades, newest first), rotated logs reach back `log_max_bytes ×
log_backups`, and resources live only in the heartbeats still in the event ring. A
bucket outside a source's reach is drawn as "no data", never as zero.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from arbctl.runbook import charts, fmt, logscan
from arbctl.runbook import markdown as md
from arbctl.runbook.sources import EngineSource

Label = Callable[[float], str]  # a bucket's start → its label on a chart

BUCKETS = 30
SLACK_S = 0.5  # measured spans run a hair over nominal ones (3600.00003 s for 1 h)
HEARTBEATS = 600  # recent heartbeats read from the event ring (~10 min at 1 s)
_NICE_S = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)
_SPANS = {"1h": 3600.0, "24h": 86400.0, "7d": 7 * 86400.0, "30d": 30 * 86400.0}


def performance_data(
    engine: EngineSource, state_dir: Path, period: str, max_trades: int
) -> dict[str, Any]:
    pnl = engine.ask("pnl", {"period": period})
    now = float(pnl.get("until") or time.time())  # the buckets end where the totals end
    since = float(pnl.get("since") if pnl.ok else _fallback_start(period, now))
    answer = engine.ask("trades", {"since": since, "limit": max_trades})
    listed = answer.get("trades") or []
    trades = [t for t in listed if float(t["detected_at"]) <= now]
    if period == "all" and trades:
        since = min(float(t["detected_at"]) for t in trades)
    bucket_s = nice_bucket((now - since) / BUCKETS)
    errors = logscan.records_since(state_dir, since, logscan.is_error)
    coverage = _coverage(listed, max_trades, state_dir, answer.ok)
    doc: dict[str, Any] = {
        "report": "performance",
        "ts": now,
        "engine": engine.describe(),
        "state_dir": str(state_dir),
        "period": period,
        "since": since,
        "until": now,
        "bucket_s": bucket_s,
        "totals": pnl.value if pnl.ok else None,
        "coverage": coverage,
        "buckets": buckets(trades, errors, since, now, bucket_s, coverage),
        "recent": recent_resources(engine),
    }
    doc["limits"] = _limits(doc)
    doc["gaps"] = engine.gaps()
    return doc


def _fallback_start(period: str, now: float) -> float:
    if period == "today":
        return now - now % 86400
    return now - _SPANS.get(period, 30 * 86400.0) if period != "all" else 0.0


def nice_bucket(seconds: float) -> int:
    """The smallest round duration (1 min … 1 week) at least `seconds` long, give or take
    the few microseconds a period's measured span exceeds its nominal length."""
    return next((n for n in _NICE_S if n >= seconds - SLACK_S), _NICE_S[-1])


def _coverage(
    trades: list[dict[str, Any]], max_trades: int, state_dir: Path, answered: bool
) -> dict[str, Any]:
    """How far back each source reaches; a bucket beyond that is "no data", not zero."""
    truncated = len(trades) >= max_trades
    oldest = min((float(t["detected_at"]) for t in trades), default=None)
    return {
        "trades_available": answered,
        "trades_read": len(trades),
        "trades_truncated": truncated,
        "trades_from": oldest if truncated else None,  # None: the whole window
        "logs_from": logscan.oldest_ts(state_dir),
    }


def buckets(
    trades: list[dict[str, Any]],
    errors: list[dict[str, Any]],
    since: float,
    until: float,
    bucket_s: int,
    coverage: dict[str, Any],
) -> list[dict[str, Any]]:
    count = max(1, math.ceil((until - since - SLACK_S) / bucket_s))
    grouped: list[list[dict[str, Any]]] = [[] for _ in range(count)]
    for trade in trades:
        grouped[_index(float(trade["detected_at"]), since, bucket_s, count)].append(trade)
    log_counts = [0] * count
    for record in errors:
        log_counts[_index(float(record.get("ts") or since), since, bucket_s, count)] += 1
    return [
        _bucket(since + i * bucket_s, bucket_s, grouped[i], log_counts[i], coverage)
        for i in range(count)
    ]


def _index(ts: float, since: float, bucket_s: int, count: int) -> int:
    return min(count - 1, max(0, int((ts - since) // bucket_s)))


def _bucket(
    start: float, size: int, trades: list[dict[str, Any]], log_errors: int, cov: dict[str, Any]
) -> dict[str, Any]:
    end = start + size
    reach = cov["trades_from"]
    trades_known = cov["trades_available"] and (reach is None or start >= reach)
    logs_known = cov["logs_from"] is not None and end > cov["logs_from"]
    statuses = [t["status"] for t in trades]
    failed = sum(s != "success" for s in statuses)
    inclusion = [_ms(t["mined_at"] - t["detected_at"]) for t in trades if t.get("mined_at")]
    sending = [_ms(t["submitted_at"] - t["detected_at"]) for t in trades if t.get("submitted_at")]
    return {
        "start": start,
        "trades": len(trades) if trades_known else None,
        "successful": statuses.count("success") if trades_known else None,
        "failed": failed if trades_known else None,
        "error_rate": (failed / len(trades)) if trades and trades_known else None,
        "net_profit_quote": sum(int(t["profit_quote"]) for t in trades) if trades_known else None,
        "inclusion_ms_p50": _quantile(inclusion, 0.5),
        "inclusion_ms_p95": _quantile(inclusion, 0.95),
        "send_ms_p50": _quantile(sending, 0.5),
        "log_errors": log_errors if logs_known else None,
    }


def _ms(seconds: float) -> float:
    return round(max(0.0, seconds) * 1000, 3)


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    if q == 0.5:
        return statistics.median(ordered)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def recent_resources(engine: EngineSource) -> dict[str, Any]:
    """Loop latency, CPU and memory from the heartbeats the event ring still holds."""
    params = {"topics": ["heartbeat"], "limit": HEARTBEATS}
    beats = engine.ask("events.recent", params).get("events") or []
    series = [(e["ts"], e.get("data") or {}) for e in beats]
    return {
        "samples": len(series),
        "from": series[0][0] if series else None,
        "to": series[-1][0] if series else None,
        "loop_ms": [d.get("avg_loop_latency_ms") for _, d in series],
        "cpu_percent": [(d.get("resources") or {}).get("cpu_percent") for _, d in series],
        "rss_bytes": [(d.get("resources") or {}).get("rss_bytes") for _, d in series],
        "events_per_s": [d.get("events_per_s") for _, d in series],
    }


def _limits(doc: dict[str, Any]) -> list[str]:
    """What the sources cannot show, stated plainly (not gaps: nothing failed)."""
    cov, recent = doc["coverage"], doc["recent"]
    limits = [
        "resource usage before "
        + (fmt.stamp(recent["from"]) if recent["from"] else "now")
        + ": the engine keeps no resource history beyond its event ring "
        "(scrape [metrics] prometheus_port for long-term series)",
    ]
    if cov["trades_truncated"]:
        limits.append(
            f"per-bucket trade figures before {fmt.stamp(cov['trades_from'])}: only the newest "
            f"{cov['trades_read']} trades were read (--max-trades); the totals are complete"
        )
    if cov["logs_from"] is None or cov["logs_from"] > doc["since"]:
        reach = fmt.stamp(cov["logs_from"]) if cov["logs_from"] else "(no logs)"
        limits.append(
            f"ERROR counts before {reach}: the rotated logs reach back only that far "
            "(log_max_bytes × log_backups; archives in logs/archive are not read)"
        )
    return limits


# --- markdown ------------------------------------------------------------------------------
def performance_markdown(doc: dict[str, Any]) -> str:
    window = f"{fmt.stamp(doc['since'])} → {fmt.stamp(doc['until'])}"
    lines = [
        f"# Performance review — {doc['period']}",
        "",
        f"{window} · buckets of {_span_text(doc['bucket_s'])} · generated {fmt.stamp(doc['ts'])}",
        "",
    ]
    lines += md.section("Totals (ledger, exact)", _totals_lines(doc["totals"]))
    rows = doc["buckets"]
    label = _labeller(doc["bucket_s"])
    lines += md.section("Trading volume trend", md.code(_chart(rows, "trades", label, "trades")))
    lines += md.section("Error rate trend", _error_lines(rows, label))
    lines += md.section("Latency trend", _latency_lines(rows, label))
    lines += md.section("Profit trend", _profit_lines(doc, label))
    lines += md.section("Resource usage trend", _resource_lines(doc["recent"]))
    lines += md.section("Not available", [f"- {limit}" for limit in doc["limits"]])
    return "\n".join(lines)


def _span_text(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def _labeller(bucket_s: int) -> Label:
    pattern = "%m-%d" if bucket_s >= 86400 else "%m-%d %H:%M"
    return lambda ts: time.strftime(pattern, time.localtime(ts))


def _chart(
    rows: list[dict[str, Any]], key: str, label: Label, unit: str, scale: float = 1
) -> list[str]:
    points = [(label(r["start"]), None if r[key] is None else r[key] * scale) for r in rows]
    return charts.bars(points, unit, digits=0 if scale == 1 else 1)


def _totals_lines(totals: dict[str, Any] | None) -> list[str]:
    if totals is None:
        return ["Not available: the ledger did not answer."]
    quote = (totals.get("units") or {}).get("quote")
    return md.fields(
        [
            ("trades", f"{totals['total_trades']} ({totals['successful_trades']} ok · "
             f"{totals['reverted_trades']} reverted · {totals['failed_trades']} failed)"),
            ("success rate", fmt.pct(totals.get("success_rate"))),
            ("net profit", fmt.tokens(totals.get("net_profit_quote"), quote)),
            ("gas (quote)", fmt.tokens(totals.get("gas_cost_quote"), quote).lstrip("+")),
        ]
    )  # fmt: skip


def _error_lines(rows: list[dict[str, Any]], label: Label) -> list[str]:
    rate = _chart(rows, "error_rate", label, "% failed or reverted", scale=100)
    logs = _chart(rows, "log_errors", label, "ERROR log records")
    return [
        "Share of trades that failed or reverted:",
        "",
        *md.code(rate),
        "",
        "ERROR records in the logs:",
        "",
        *md.code(logs),
    ]


def _latency_lines(rows: list[dict[str, Any]], label: Label) -> list[str]:
    p50 = _chart(rows, "inclusion_ms_p50", label, "ms")
    p95 = [r["inclusion_ms_p95"] for r in rows]
    send = [r["send_ms_p50"] for r in rows]
    return [
        "Detection to inclusion in a block, median per bucket:",
        "",
        *md.code(p50),
        "",
        *md.code(
            [
                f"p95 inclusion  {charts.sparkline(p95)}  {_range(p95, 'ms')}",
                f"p50 send       {charts.sparkline(send)}  {_range(send, 'ms')}",
            ]
        ),
    ]


def _profit_lines(doc: dict[str, Any], label: Label) -> list[str]:
    quote = ((doc["totals"] or {}).get("units") or {}).get("quote") or {}
    scale = 10.0 ** -int(quote.get("decimals", 0))
    symbol = quote.get("symbol", "quote units")
    chart = _chart(doc["buckets"], "net_profit_quote", label, symbol, scale=scale)
    return ["Net profit per bucket (░ a loss):", "", *md.code(chart)]


def _resource_lines(recent: dict[str, Any]) -> list[str]:
    if not recent["samples"]:
        return ["No heartbeats available (engine not answering)."]
    rss = [None if v is None else v / 2**20 for v in recent["rss_bytes"]]
    return [
        f"The engine's last {recent['samples']} heartbeats, {fmt.stamp(recent['from'])} → "
        f"{fmt.stamp(recent['to'])}:",
        "",
        *md.code(
            [
                f"loop latency  {_spark(recent['loop_ms'])}  {_range(recent['loop_ms'], 'ms')}",
                f"cpu           {_spark(recent['cpu_percent'])}  "
                f"{_range(recent['cpu_percent'], '%')}",
                f"rss           {_spark(rss)}  {_range(rss, 'MiB')}",
                f"events/s      {_spark(recent['events_per_s'])}  "
                f"{_range(recent['events_per_s'], '')}",
            ]
        ),
    ]


def _spark(values: list[float | None], width: int = 60) -> str:
    """A sparkline of at most `width` points: longer series are averaged down."""
    if len(values) <= width:
        return charts.sparkline(values)
    step = len(values) / width
    out: list[float | None] = []
    for i in range(width):
        chunk = [v for v in values[int(i * step) : int((i + 1) * step)] if v is not None]
        out.append(sum(chunk) / len(chunk) if chunk else None)
    return charts.sparkline(out)


def _range(values: list[float | None], unit: str) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "no data"
    return f"min {min(known):.1f} · max {max(known):.1f} · last {known[-1]:.1f} {unit}".rstrip()
