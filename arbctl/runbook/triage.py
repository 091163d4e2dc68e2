"""On-call triage: the runbooks' "gather context, assess severity" in one screen.

The runbooks' response checklist is: acknowledge, assess severity (P0–P3), gather
context (health check, recent errors, metrics), apply the standard fix from Common
Scenarios. Each finding here is one scenario that matches what the engine reports, with
the evidence a responder would have gathered by hand and the scenario's next step.
Severities follow the runbooks (docs/observability.md#severities): engine down or
halted P0; breaker open, degraded service (ledger, active provider, error rate,
latency, success rate) P1; a single component (a backup provider, Redis) or no trades
for 30 minutes P2; informational P3. Firing alerts not explained by a finding are
listed as findings of their own, so nothing the engine pages for is left out.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from arbctl import output
from arbctl.runbook import fmt, local, logscan, morning, steps
from arbctl.runbook.sources import Answer, EngineSource

SEVERITIES = ("P0", "P1", "P2", "P3")
HEAD_STALE_S = 30.0  # the engine's health and the max_head_age guard
NO_TRADES_S = 1800.0  # runbook 1: "no trades for 30 minutes → warning"
ERROR_WINDOW_S = 600.0  # runbook 1: `logs --since 10m | grep ERROR | sort | uniq -c`
RPC_SLOW_MS = 2000.0  # runbook 2: response time alert threshold
LENDER_FAILOVERS_OFTEN = 3  # lender failovers in an hour: "failover activating frequently"
LOG_LINES = 8
STDIO_LOG, STDIO_LINES = "engine.stdio.log", 20
_CONSOLE_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")  # engine/telemetry/logs.py
_HEALTH_COVERED = {"state", "loop", "ledger", "market_data", "redis"}
# firing alert rule → the finding that already explains it
_ALERT_FINDING = {
    "emergency_halt": ("halted",),
    "health_check_failing": ("halted", "ledger_down", "latency", "health"),
    "breaker_open": ("breaker_open",),
    "provider_down": ("provider_down",),
    "error_rate_high": ("error_rate",),
    "success_rate_low": ("success_rate",),
    "no_trades": ("no_trades",),
    "cpu_high": ("latency",),
    "memory_high": ("latency",),
}


@dataclass(slots=True)
class Finding:
    severity: str
    key: str
    title: str
    evidence: list[str]
    next_step: str
    scenario: str
    alerts: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Diagnosis = Callable[[EngineSource, Path], Finding | None]


def run(engine: EngineSource, state_dir: Path) -> dict[str, Any]:
    """All findings, most severe first, and the exit code they imply."""
    diagnoses = _ONLINE if engine.reachable else _OFFLINE
    found = [f for diagnose in diagnoses if (f := diagnose(engine, state_dir)) is not None]
    if engine.reachable:
        found = _merge_alerts(found, engine.ask("alerts", {"limit": 20}))
    found.sort(key=lambda f: SEVERITIES.index(f.severity))
    worst = found[0].severity if found else None
    return {
        "ts": time.time(),
        "engine": engine.describe(),
        "state_dir": str(state_dir),
        "worst": worst,
        "exit_code": exit_code(worst),
        "findings": [f.to_dict() for f in found],
        "gaps": engine.gaps(),
    }


def exit_code(worst: str | None) -> int:
    """0 nothing above P3 (no service impact) · 1 worst P2 · 2 a P0 or P1."""
    if worst in ("P0", "P1"):
        return 2
    return 1 if worst == "P2" else 0


# --- engine answering ----------------------------------------------------------------------
def halted(engine: EngineSource, state_dir: Path) -> Finding | None:
    status = engine.ask("status")
    marker = status.get("halt")
    if status.get("state") != "halted" and not marker:
        return None
    gate = status.get("gate") or {}
    evidence = [fmt.halt(marker or {}), f"send gate: {gate.get('refused', 0)} sends refused"]
    evidence += _audit_lines(engine, ("kill",), 3)
    title = "Emergency shutdown active: the engine is HALTED (kill switch)"
    return Finding("P0", "halted", title, evidence, steps.HALTED, "Emergency Shutdown")


def _audit_lines(engine: EngineSource, actions: tuple[str, ...], limit: int) -> list[str]:
    entries = engine.ask("audit", {"limit": 50}).get("entries") or []
    picked = [e for e in entries if e.get("action") in actions][:limit]
    return [f"audit {fmt.stamp(e.get('ts'))}: {fmt.audit(e)}" for e in picked]


def ledger_down(engine: EngineSource, state_dir: Path) -> Finding | None:
    info = engine.ask("status").get("ledger") or {}
    check = morning.health_check(engine, "ledger") or {}
    if info.get("ok", True) and check.get("status") != "CRITICAL":
        return None
    evidence = [
        f"{info.get('backend')} ledger: {info.get('error') or check.get('detail')}",
        f"{info.get('pending')} rows kept in memory, {info.get('written')} written so far",
        f"health: {check.get('status')}: {check.get('detail')}",
    ]
    evidence += _trigger_lines(engine, "ledger_unavailable", 2)
    evidence += _error_lines(state_dir, time.time() - 3600, 3)
    title = "Ledger database unreachable: trading waits behind the ledger_unavailable guard"
    return Finding("P1", "ledger_down", title, evidence, steps.LEDGER, "Database Connection Issues")


def _trigger_lines(engine: EngineSource, guard: str, limit: int) -> list[str]:
    recent = engine.ask("guards", {"limit": 50}).get("recent") or []
    return [
        f"guard {t.get('guard')} {t.get('action')} at {fmt.stamp(t.get('ts'))}: {t.get('reason')}"
        for t in recent
        if t.get("guard") == guard
    ][:limit]


def _error_lines(state_dir: Path, since: float, limit: int) -> list[str]:
    summary = logscan.error_summary(state_dir, since, limit)
    if not summary["count"]:
        return [f"no ERROR records in the logs since {fmt.stamp(since)}"]
    head = f"{summary['count']} ERROR records in the logs since {fmt.stamp(since)}; top:"
    return [head] + [f"  ×{g['count']} {g['logger']}: {g['pattern']}" for g in summary["top"]]


def breaker_open(engine: EngineSource, state_dir: Path) -> Finding | None:
    info = engine.ask("status").get("breaker") or {}
    if info.get("state") in (None, "closed"):
        return None
    detail = engine.ask("breaker")
    metrics = engine.ask("metrics")
    evidence = [
        f"{str(info.get('state')).upper()} since {fmt.stamp(info.get('since'))} by "
        f"{info.get('guard')}: {info.get('reason')}",
        f"next probe at {fmt.stamp(info.get('retry_at'))}; opened "
        f"{detail.get('times_opened', '?')} times this session",
        f"last hour: {metrics.get('failed_trades_per_hour')} failed trades, success "
        f"{fmt.pct(metrics.get('success_rate'))}, P&L {metrics.get('pnl_hourly_text')}",
    ]
    for step in (detail.get("history") or [])[:3]:
        evidence.append(f"transition {fmt.stamp(step.get('at'))}: {transition_text(step)}")
    title = "Circuit breaker OPEN: no opportunity is approved"
    if info.get("state") == "half_open":
        title = "Circuit breaker HALF-OPEN: probing with a few trades"
    return Finding(
        "P1", "breaker_open", title, evidence, steps.BREAKER, "Circuit Breaker Triggered"
    )


def transition_text(step: dict[str, Any]) -> str:
    """`closed → open (max_failed_trades_per_hour): 11 trades > 10 trades`."""
    return (
        f"{step.get('previous')} → {step.get('state')} ({step.get('guard')}): {step.get('reason')}"
    )


def provider_down(engine: EngineSource, state_dir: Path) -> Finding | None:
    status = engine.ask("status")
    listed = status.get("providers") or []
    down = [p for p in listed if p.get("status") == "down"]
    if not down:
        return None
    rpc = [p for p in listed if p.get("kind", "rpc") == "rpc"]
    active = next((p for p in rpc if p.get("active")), None)
    active_down = any(p.get("active") for p in down)  # the one serving its kind
    severity = "P1" if active_down or len(down) == len(listed) else "P2"
    evidence = [_provider_line(p) for p in listed]
    evidence.append(_failover_line(status, active))
    evidence += failover_lines(engine)
    if any(p.get("kind") == "liquidity" for p in down):
        evidence += failover_lines(engine, "liquidity")
    title = f"Provider failing: {', '.join(_named(p) for p in down)} down" + (
        " (the ACTIVE one)" if active_down else " (a backup)"
    )
    return Finding(severity, "provider_down", title, evidence, steps.PROVIDERS, "Provider Failure")


def _named(p: dict[str, Any]) -> str:
    """A provider's name, and for a flash-loan lender that it is one."""
    return f"lender {p.get('name')}" if p.get("kind") == "liquidity" else str(p.get("name"))


def _provider_line(p: dict[str, Any]) -> str:
    role = "active" if p.get("active") else f"backup (priority {p.get('priority')})"
    return (
        f"{_named(p)} [{role}] {p.get('status')}: {p.get('consecutive_failures')} "
        f"failures in a row, success {fmt.pct(p.get('success_rate'))}, "
        f"{float(p.get('latency_ms_ewma') or 0):.0f} ms, head lag {p.get('head_lag')}"
        f"{', stalled' if p.get('stalled') else ''}; last error: {p.get('last_error') or '—'}"
    )


def _failover_line(status: Answer, active: dict[str, Any] | None) -> str:
    age = status.get("head_age_s")
    name = active.get("name") if active else "none"
    if age is not None and age <= HEAD_STALE_S:
        return f"failover: active provider {name}; blocks still arrive (head {age:.1f} s old)"
    return f"failover: active provider {name}; NO fresh blocks (head age {age} s)"


def failover_lines(engine: EngineSource, kind: str = "rpc") -> list[str]:
    """The selector's view (`providers` method) of `kind`: mode, active provider and why,
    recent switches (for lenders, how many in the last hour: the runbook's "failover
    activating frequently"). Engines without the method are described by `status` alone."""
    view = engine.ask("providers").get(kind)
    if not isinstance(view, dict):
        return []
    history = view.get("history") or []
    lines = [] if kind == "rpc" else [_lender_failovers(history)]
    lines += [
        f"{'lender ' if kind != 'rpc' else ''}failover mode {view.get('mode')}"
        + (f" (pinned to {view.get('pinned')})" if view.get("pinned") else "")
        + f": {view.get('active')} active since block {view.get('since')}: {view.get('reason')}"
    ]
    for switch in history[-3:]:
        lines.append(
            f"switch at block {switch.get('at')}: {switch.get('previous')} → "
            f"{switch.get('active')} ({switch.get('event')}): {switch.get('reason')}"
        )
    return lines


def _lender_failovers(history: list[dict[str, Any]]) -> str:
    hour = time.time() - 3600
    recent = [s for s in history if s.get("event") == "failover" and float(s.get("at") or 0) > hour]
    often = " (failover activating frequently)" if len(recent) >= LENDER_FAILOVERS_OFTEN else ""
    return f"{len(recent)} lender failovers in the last hour{often}"


def error_rate(engine: EngineSource, state_dir: Path) -> Finding | None:
    metrics = engine.ask("metrics")
    per_minute = float(metrics.get("errors_per_minute") or 0.0)
    hour = logscan.error_summary(state_dir, time.time() - 3600, 0)["count"]
    if per_minute > morning.ERRORS_PER_MIN_FAIL:
        severity = "P1"
    elif per_minute >= morning.ERRORS_PER_MIN_WARN or hour >= morning.ERRORS_FAIL:
        severity = "P2"
    else:
        return None
    evidence = [
        f"errors {per_minute:g}/min (failed trades + ERROR logs; normal < "
        f"{morning.ERRORS_PER_MIN_WARN:g}, P1 above {morning.ERRORS_PER_MIN_FAIL:g})",
        f"{hour} ERROR records in the logs in the last hour",
    ]
    evidence += _error_lines(state_dir, time.time() - ERROR_WINDOW_S, 5)
    evidence += _revert_lines(engine)
    return Finding(
        severity, "error_rate", "High error rate", evidence, steps.ERROR_RATE, "High Error Rate"
    )


def _revert_lines(engine: EngineSource) -> list[str]:
    since = time.time() - ERROR_WINDOW_S
    failed = engine.ask("trades", {"failed": True, "since": since, "limit": 500})
    reasons = Counter(str(t.get("revert_reason") or "?") for t in failed.get("trades") or [])
    if not reasons:
        return ["no failed or reverted trades in the last 10 min"]
    top = "; ".join(f"{reason} ×{n}" for reason, n in reasons.most_common(3))
    return [f"{sum(reasons.values())} failed/reverted trades in the last 10 min: {top}"]


def latency(engine: EngineSource, state_dir: Path) -> Finding | None:
    status = engine.ask("status")
    metrics = engine.ask("metrics")
    loop = morning.health_check(engine, "loop") or {}
    avg = float(status.get("avg_loop_latency_ms") or 0.0)
    rpc = float(metrics.get("rpc_response_ms") or 0.0)
    if avg > morning.LOOP_WARN_MS or loop.get("status") == "CRITICAL":
        severity = "P1"
    elif rpc > RPC_SLOW_MS:
        severity = "P2"
    else:
        return None
    res = metrics.get("resources") or status.get("resources") or {}
    ledger_check = morning.health_check(engine, "ledger") or {}
    evidence = [
        f"loop: avg {avg:.1f} ms (runbook < {morning.LOOP_WARN_MS:g}), {loop.get('detail')}",
        f"resources: cpu {res.get('cpu_percent')} %, memory {res.get('memory_percent')} %, "
        f"rss {fmt.size(res.get('rss_bytes'))}, {res.get('threads')} threads, "
        f"{res.get('open_files')} open files",
        f"database: {ledger_check.get('detail')}",
        f"RPC: {rpc:.0f} ms active provider (runbook < 500, alert > {RPC_SLOW_MS:g}); "
        f"ws latency {metrics.get('avg_ws_latency_ms')} ms",
        f"search: {status.get('decision_ms')} ms per block decision",
    ]
    return Finding(severity, "latency", "High latency", evidence, steps.LATENCY, "High Latency")


def success_rate(engine: EngineSource, state_dir: Path) -> Finding | None:
    metrics = engine.ask("metrics")
    rate, count = metrics.get("success_rate"), int(metrics.get("trades_last_hour") or 0)
    if rate is None or count < 10 or rate >= morning.SUCCESS_FAIL:
        return None
    evidence = [f"success {fmt.pct(rate)} over {count} trades in the last hour (alert < 70 %)"]
    evidence += _revert_lines(engine)
    title = "Low success rate"
    return Finding("P1", "success_rate", title, evidence, steps.SUCCESS_RATE, "Low Success Rate")


def no_trades(engine: EngineSource, state_dir: Path) -> Finding | None:
    """Scenario 3: trades_per_minute = 0 while running. Why: breaker, guards, stale head,
    or simply no opportunities (a normal market condition)."""
    status, metrics = engine.ask("status"), engine.ask("metrics")
    if status.get("state") != "running" or metrics.get("trades_per_minute") not in (0, 0.0):
        return None
    age = status.get("head_age_s")
    stale = age is None or age > HEAD_STALE_S
    quiet = float(metrics.get("seconds_since_trade") or 0.0)
    severity = "P1" if stale else "P2" if quiet >= NO_TRADES_S else "P3"
    breaker = status.get("breaker") or {}
    evidence = [
        f"last trade {output.duration(quiet)} ago (runbook: warn after 30 min)",
        f"breaker {breaker.get('state')}"
        + (f" by {breaker.get('guard')}: {breaker.get('reason')}" if breaker.get("guard") else ""),
        f"market data: block {status.get('block')}, head {age} s old"
        + (" — STALE" if stale else ""),
        *_guard_lines(engine),
        _opportunity_line(engine, status),
    ]
    title = "No trading activity" + (": no fresh market data" if stale else "")
    return Finding(severity, "no_trades", title, evidence, steps.NO_TRADES, "No Trading Activity")


def _guard_lines(engine: EngineSource) -> list[str]:
    guards = engine.ask("guards", {"limit": 3})
    rules = [r for r in guards.get("rules") or [] if r.get("triggers")]
    rules.sort(key=lambda r: -int(r.get("triggers") or 0))
    counts = ", ".join(f"{r['name']} ×{r['triggers']}" for r in rules[:4]) or "none"
    lines = [
        f"guards: {guards.get('approved')} approved, {guards.get('blocked')} blocked of "
        f"{guards.get('reviewed')} reviewed; triggers by rule: {counts}"
    ]
    for t in (guards.get("recent") or [])[:2]:
        lines.append(f"guard {t.get('guard')} at {fmt.stamp(t.get('ts'))}: {t.get('reason')}")
    return lines


def _opportunity_line(engine: EngineSource, status: Answer) -> str:
    newest = engine.ask("opportunities", {"limit": 1}).get("opportunities") or []
    when = output.ago(newest[0].get("detected_at")) if newest else "none kept"
    return f"opportunities seen: {status.get('opportunities_seen')} in total; newest {when}"


def paused(engine: EngineSource, state_dir: Path) -> Finding | None:
    status = engine.ask("status")
    if status.get("state") != "paused":
        return None
    evidence = [f"paused since {fmt.stamp(status.get('since'))}: {status.get('reason')}"]
    evidence += _audit_lines(engine, ("pause",), 1)
    title = "Engine paused: no new trades until resumed"
    return Finding("P3", "paused", title, evidence, steps.PAUSED, "operator pause")


def redis_down(engine: EngineSource, state_dir: Path) -> Finding | None:
    check = morning.health_check(engine, "redis")
    if check is None or check.get("status") == "OK":
        return None
    evidence = [str(check.get("detail")), "trading continues without Redis (docs/redis.md)"]
    title = "Redis unreachable: hot state and the shared halt flag are not mirrored"
    return Finding("P2", "redis_down", title, evidence, steps.REDIS, "Database Connection Issues")


def health_other(engine: EngineSource, state_dir: Path) -> Finding | None:
    """A health check this module does not know yet: reported rather than dropped."""
    checks = engine.ask("health").get("checks") or []
    odd = [c for c in checks if c["name"] not in _HEALTH_COVERED and c["status"] != "OK"]
    if not odd:
        return None
    severity = "P1" if any(c["status"] == "CRITICAL" for c in odd) else "P2"
    evidence = [f"{c['name']} {c['status']}: {c['detail']}" for c in odd]
    return Finding(severity, "health", "Health check failing", evidence, steps.HEALTH, "Health")


def disk(engine: EngineSource, state_dir: Path) -> Finding | None:
    check = morning.disk(engine, state_dir)
    if check.status == "PASS":
        return None
    severity = "P1" if check.status == "FAIL" else "P2"
    return Finding(severity, "disk", "Disk filling up", [check.evidence], steps.DISK, "Disk Space")


# --- engine not answering ------------------------------------------------------------------
def engine_down(engine: EngineSource, state_dir: Path) -> Finding:
    pid = local.pid_info(state_dir, engine.socket)
    snap = local.last_snapshot(state_dir)
    last = logscan.last_records(state_dir, LOG_LINES)
    title, step = _down_verdict(engine, pid, snap, last)
    evidence = [
        f"socket {engine.socket}: {engine.unreachable}",
        _pid_line(pid, state_dir),
        _snapshot_line(snap),
        "last log lines:" if last else f"no log records in {logscan.log_dir(state_dir)}",
        *(f"  {logscan.render(r)}" for r in last),
    ]
    evidence += _stdio_lines(state_dir)
    return Finding("P0", "engine_down", title, evidence, step, "Service Crashed")


def _down_verdict(
    engine: EngineSource, pid: dict[str, Any], snap: dict[str, Any], last: list[dict[str, Any]]
) -> tuple[str, str]:
    if pid["stopped"]:
        return "Engine not answering: its process is SIGSTOPped", steps.ENGINE_FROZEN
    reason = engine.unreachable.kind if engine.unreachable else ""
    if pid["engine"] or reason == "timeout":
        return (
            "Engine not answering: its process is alive (frozen or overloaded)",
            steps.ENGINE_FROZEN,
        )
    if pid["pid"] is None and not last and not snap.get("found"):
        title = "Engine not running, and no trace of it in this state dir (wrong --state-dir?)"
        return title, steps.ENGINE_DOWN
    stopped_log = bool(last) and str(last[-1].get("msg", "")).startswith("engine stopped")
    stopped_snap = snap.get("found") and snap["snapshot"]["status"] == "stopped"
    if stopped_log or stopped_snap:
        return "Engine down: stopped cleanly", steps.ENGINE_STOPPED
    return "Engine down: crashed or killed (no clean stop recorded)", steps.ENGINE_CRASHED


def _pid_line(pid: dict[str, Any], state_dir: Path) -> str:
    if pid["pid"] is None:
        return f"no pid file in {state_dir}"
    if not pid["alive"]:
        return f"pid file: {pid['pid']}, not running"
    kind = "the engine" if pid["engine"] else f"NOT proven to be the engine: {pid['proof']}"
    return f"pid file: {pid['pid']}, alive, {kind}" + (", SIGSTOPped" if pid["stopped"] else "")


def _snapshot_line(snap: dict[str, Any]) -> str:
    if not snap.get("found"):
        return f"last snapshot: none ({snap.get('error')}: {snap.get('path')})"
    s = snap["snapshot"]
    state = s["state"]
    counters = state.get("counters") or {}
    breaker = (state.get("breaker") or {}).get("state")
    return (
        f"last snapshot: {fmt.stamp(s['ts'])} ({s['kind']}, session {s['session_id']} "
        f"{s['status']}): engine {state.get('engine_state')}, block {state.get('block')}, "
        f"{counters.get('trades_booked')} trades booked, breaker {breaker}"
    )


def _stdio_lines(state_dir: Path) -> list[str]:
    """The end of engine.stdio.log, only when it holds what the JSON log cannot: a
    traceback or an interpreter error printed before logging was set up."""
    from arbctl import process

    tail = process.tail(logscan.log_dir(state_dir) / STDIO_LOG, STDIO_LINES).splitlines()
    if all(_CONSOLE_LINE.match(line) for line in tail):
        return []
    return [f"engine.stdio.log: {line}" for line in tail[-5:]]


def halt_marker(engine: EngineSource, state_dir: Path) -> Finding | None:
    marker = local.halt_marker(state_dir)
    if not marker:
        return None
    evidence = [fmt.halt(marker), f"an engine started now comes up halted ({state_dir})"]
    title = "Halt persisted: the engine will start HALTED"
    return Finding("P0", "halted", title, evidence, steps.HALTED, "Emergency Shutdown")


def logged_errors(engine: EngineSource, state_dir: Path) -> Finding | None:
    since = time.time() - 3600
    count = logscan.error_summary(state_dir, since, 0)["count"]
    if count < morning.ERRORS_WARN:
        return None
    severity = "P1" if count >= morning.ERRORS_FAIL else "P2"
    evidence = _error_lines(state_dir, since, 5)
    return Finding(
        severity, "error_rate", "Errors in the logs", evidence, steps.ERROR_RATE, "High Error Rate"
    )


_ONLINE: tuple[Diagnosis, ...] = (
    halted,
    ledger_down,
    breaker_open,
    provider_down,
    error_rate,
    latency,
    success_rate,
    no_trades,
    redis_down,
    health_other,
    paused,
    disk,
)
_OFFLINE: tuple[Diagnosis, ...] = (engine_down, halt_marker, logged_errors, disk)


# --- alerts --------------------------------------------------------------------------------
def _merge_alerts(found: list[Finding], alerts: Answer) -> list[Finding]:
    """Attach each firing alert to the finding that explains it (raising its severity to
    the alert's if higher); an alert nothing explains becomes a finding of its own."""
    by_key = {f.key: f for f in found}
    for alert in alerts.get("active") or []:
        rule, severity = str(alert.get("rule")), str(alert.get("severity"))
        owner = next((by_key[k] for k in _ALERT_FINDING.get(rule, ()) if k in by_key), None)
        if owner is None:
            found.append(_alert_finding(alert))
            continue
        owner.alerts.append(rule)
        if SEVERITIES.index(severity) < SEVERITIES.index(owner.severity):
            owner.severity = severity
    return found


def _alert_finding(alert: dict[str, Any]) -> Finding:
    evidence = [
        f"alert {alert.get('rule')} firing since {fmt.stamp(alert.get('fired_at'))}",
        f"condition: {alert.get('condition')}; value: {alert.get('value')}",
    ]
    return Finding(
        str(alert.get("severity")),
        f"alert:{alert.get('rule')}",
        str(alert.get("summary")),
        evidence,
        str(alert.get("action")),
        "alert rule",
        [str(alert.get("rule"))],
    )
