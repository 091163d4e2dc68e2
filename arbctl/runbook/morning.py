"""The morning checklist: both runbooks' start-of-day steps in one run.

Runbook 1 (09:00): service, health check (Redis, PostgreSQL, logs, latency), errors in
the last hour, trading activity, database, disk, resources. Runbook 2 (start of trading
day): system status, circuit breaker and emergency shutdown, wallet balances, recent
trades and success rate, liquidity providers, gas, errors in the logs. Every item is a
`RunbookCheck` with the runbook's threshold; when the engine is down the engine's items FAIL
saying so and the items answerable from the state directory (halt marker, logs, disk)
are still checked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from arbctl import output
from arbctl.runbook import fmt, local, logscan, steps
from arbctl.runbook.checks import (
    FAIL,
    PASS,
    WARN,
    RunbookCheck,
    by_threshold,
    failed,
    graded,
    passed,
    warned,
)
from arbctl.runbook.sources import RECONCILE_TIMEOUT_S, Answer, EngineSource

# The runbooks' numbers (runbook 1: "avg_loop_latency_ms < 50", "errors < 5 monitor,
# 5-20 investigate, > 20 high error rate", "disk < 80 %", "CPU < 70 %, memory < 1.5 of
# 2 GB"; runbook 2: success rate normal > 80 %, alert < 70 %, gas normal < 100 gwei).
LOOP_WARN_MS, LOOP_FAIL_MS = 50.0, 250.0  # 250: the engine's own health CRITICAL
ERRORS_WARN, ERRORS_FAIL = 5, 21
ERRORS_PER_MIN_WARN, ERRORS_PER_MIN_FAIL = 10.0, 50.0
GUARD_TRIGGERS_PER_MIN_WARN = 5.0
SUCCESS_WARN, SUCCESS_FAIL = 0.80, 0.70
SUCCESS_MIN_TRADES = 10  # as the success_rate_low alert and the min_success_rate guard
GAS_WARN_GWEI = 100.0
DISK_WARN, DISK_FAIL = 80.0, 90.0
CPU_WARN, MEMORY_WARN, MEMORY_FAIL = 70.0, 75.0, 90.0
LOG_STALE_S = 900.0  # ours: a running engine logs every trade and guard block
HOUR_S = 3600.0


def run(engine: EngineSource, state_dir: Path) -> list[RunbookCheck]:
    """Every morning item, in the runbooks' order."""
    items: list[Callable[[EngineSource, Path], RunbookCheck]] = [
        engine_state,
        health,
        ledger,
        redis,
        logs,
        loop_latency,
        breaker,
        halt,
        balances,
        trades,
        activity,
        providers,
        gas,
        errors,
        disk,
        resources,
    ]
    return [item(engine, state_dir) for item in items]


def unanswered(name: str, answer: Answer, next_step: str = steps.ENGINE_DOWN) -> RunbookCheck:
    """An engine item without an answer: a FAIL that says why (down, or which refusal)."""
    step = steps.ENGINE_DOWN if answer.kind == "unreachable" else next_step
    return failed(name, f"no answer from the engine: {answer.error}", step)


# --- the engine ----------------------------------------------------------------------------
def engine_state(engine: EngineSource, state_dir: Path) -> RunbookCheck:
    status = engine.ask("status")
    if not status.ok:
        return unanswered("engine", status)
    state = str(status.get("state"))
    evidence = (
        f"{state} since {fmt.stamp(status.get('since'))} ({status.get('reason')}); "
        f"pid {status.get('pid')}, up {output.duration(status.get('uptime_s'))}, "
        f"block {status.get('block')}"
    )
    data = {"state": state, "pid": status.get("pid"), "uptime_s": status.get("uptime_s")}
    if state == "running":
        return passed("engine", evidence, **data)
    if state == "halted":
        return failed("engine", evidence, steps.HALTED, **data)
    return warned("engine", evidence, steps.PAUSED if state == "paused" else steps.HEALTH, **data)


def health(engine: EngineSource, state_dir: Path) -> RunbookCheck:
    answer = engine.ask("health")
    if not answer.ok:
        return unanswered("health", answer, steps.HEALTH)
    verdict = str(answer.get("status"))
    checks = answer.get("checks") or []
    bad = [f"{c['name']} {c['status']}: {c['detail']}" for c in checks if c["status"] != "OK"]
    evidence = "; ".join(bad) if bad else f"all {len(checks)} checks OK"
    status = {"OK": PASS, "WARNING": WARN}.get(verdict, FAIL)
    return graded("health", status, f"{verdict}: {evidence}", steps.HEALTH, verdict=verdict)


def health_check(engine: EngineSource, name: str) -> dict[str, Any] | None:
    """One of the engine's own health checks by name (None: the engine has no such check,
    e.g. `redis` without [redis]): its thresholds are the engine's, not restated here."""
    for check in engine.ask("health").get("checks") or []:
        if check.get("name") == name:
            return check
    return None


def ledger(engine: EngineSource, state_dir: Path) -> RunbookCheck:
    status = engine.ask("status")
    if not status.ok:
        return unanswered("ledger", status, steps.LEDGER)
    info = status.get("ledger") or {}
    check = health_check(engine, "ledger") or {}
    data = {k: info.get(k) for k in ("backend", "ok", "pending", "written", "error")}
    if not info.get("ok") or check.get("status") == "CRITICAL":
        why = info.get("error") or check.get("detail") or "unhealthy"
        evidence = f"{info.get('backend')} DOWN: {why}; {info.get('pending')} rows kept"
        return failed("ledger", evidence, steps.LEDGER, **data)
    evidence = (
        f"{check.get('detail') or info.get('backend')}; {info.get('written')} rows written, "
        f"{info.get('pending')} pending"
    )
    status_ = WARN if check.get("status") == "WARNING" else PASS
    return graded("ledger", status_, evidence, steps.LEDGER, **data)


def redis(engine: EngineSource, state_dir: Path) -> RunbookCheck:
    answer = engine.ask("health")
    if not answer.ok:
        return unanswered("redis", answer, steps.REDIS)
    check = health_check(engine, "redis")
    if check is None:
        return passed("redis", "not configured ([redis] url empty): nothing to check")
    status = PASS if check.get("status") == "OK" else WARN
    return graded("redis", status, str(check.get("detail")), steps.REDIS)


def logs(engine: EngineSource, state_dir: Path) -> RunbookCheck:
    fresh = logscan.freshness(state_dir)
    if not fresh["exists"]:
        return failed("logs", f"no engine log at {fresh['path']}", steps.LOGS, **fresh)
    evidence = f"{fresh['path']} written {output.duration(fresh['age_s'])} ago"
    if not engine.reachable:
        return failed("logs", f"{evidence}; the engine does not answer", steps.ENGINE_DOWN, **fresh)
    status = WARN if fresh["age_s"] > LOG_STALE_S else PASS
    return graded("logs", status, evidence, steps.LOGS, **fresh)


def loop_latency(engine: EngineSource, state_dir: Path) -> RunbookCheck:
    status = engine.ask("status")
    if not status.ok:
        return unanswered("loop_latency", status, steps.LATENCY)
    avg = float(status.get("avg_loop_latency_ms") or 0.0)
    evidence = (
        f"avg {avg:.1f} ms (runbook: < {LOOP_WARN_MS:g} ms), "
        f"last {float(status.get('loop_latency_ms') or 0.0):.1f} ms"
    )
    verdict = by_threshold(avg, LOOP_WARN_MS, LOOP_FAIL_MS)
    return graded("loop_latency", verdict, evidence, steps.LATENCY, avg_loop_latency_ms=avg)


# --- safety --------------------------------------------------------------------------------
def breaker(engine: EngineSource, state_dir: Path) -> RunbookCheck:
    status = engine.ask("status")
    if not status.ok:
        return unanswered("breaker", status, steps.BREAKER)
    info = status.get("breaker") or {}
    state = str(info.get("state"))
    if state == "closed":
        return passed("breaker", f"closed since {fmt.stamp(info.get('since'))}", **info)
    evidence = (
        f"{state.upper()} since {fmt.stamp(info.get('since'))} by {info.get('guard')}: "
        f"{info.get('reason')}; retry at {fmt.stamp(info.get('retry_at'))}"
    )
    verdict = FAIL if state == "open" else WARN
    return graded("breaker", verdict, evidence, steps.BREAKER, **info)


def halt(engine: EngineSource, state_dir: Path) -> RunbookCheck:
    """From the engine when it answers, else from the marker an engine would start with."""
    status = engine.ask("status")
    marker = status.get("halt") if status.ok else local.halt_marker(state_dir)
    where = "engine" if status.ok else f"marker in {state_dir}"
    if not marker:
        return passed("halt", f"no halt persisted ({where})", halt=None)
    evidence = f"HALTED ({where}): {fmt.halt(marker)}"
    return failed("halt", evidence, steps.HALTED, halt=marker)


def balances(engine: EngineSource, state_dir: Path) -> RunbookCheck:
    """Wallet balances as the engine serves them: `reconcile`'s current balance per token."""
    status = engine.ask("status")
    if not status.ok:
        return unanswered("balances", status, steps.RECONCILE)
    if not (status.get("ledger") or {}).get("ok"):
        return failed("balances", "not reconciled: the ledger is down", steps.LEDGER)
    answer = engine.ask("reconcile", {}, timeout=RECONCILE_TIMEOUT_S)
    if not answer.ok:
        return unanswered("balances", answer, steps.RECONCILE)
    lines = answer.get("tokens") or []
    held = ", ".join(f"{fmt.tokens(t['current'], t).lstrip('+')}" for t in lines)
    data = {
        "reconciled": answer.get("reconciled"),
        "balances": {t["symbol"]: t["current"] for t in lines},
        "executor": "not served by this engine (wallet balances only)",
    }
    if answer.get("reconciled"):
        return passed("balances", f"wallet {held}; ledger reconciled", **data)
    off = [f"{t['symbol']} {fmt.tokens(t['difference'], t)}" for t in lines if t["difference"]]
    evidence = f"wallet {held}; DIFFERENCE {', '.join(off)}"
    return failed("balances", evidence, steps.RECONCILE, **data)


# --- trading -------------------------------------------------------------------------------
def trades(engine: EngineSource, state_dir: Path) -> RunbookCheck:
    pnl = engine.ask("pnl", {"period": "today"})
    metrics = engine.ask("metrics")
    if not pnl.ok:
        return unanswered("trades", pnl, steps.LEDGER)
    rate = pnl.get("success_rate")
    quote = (pnl.get("units") or {}).get("quote")
    evidence = (
        f"today {pnl.get('total_trades')} trades ({pnl.get('successful_trades')} ok · "
        f"{pnl.get('reverted_trades')} reverted · {pnl.get('failed_trades')} failed), "
        f"success {fmt.pct(rate)}, net {fmt.tokens(pnl.get('net_profit_quote'), quote)}"
    )
    data = {"total_trades": pnl.get("total_trades"), "success_rate": rate}
    per_minute = metrics.get("trades_per_minute")
    if per_minute is not None:
        evidence += f"; {per_minute:g} trades/min"
    if metrics.get("state") == "running" and per_minute == 0:
        evidence += ": no trades in the last minute"
        return warned("trades", evidence, steps.NO_TRADES, **data)
    if rate is None or int(pnl.get("total_trades") or 0) < SUCCESS_MIN_TRADES:
        return passed("trades", evidence, **data)  # too few trades to judge a rate
    verdict = FAIL if rate < SUCCESS_FAIL else WARN if rate < SUCCESS_WARN else PASS
    return graded("trades", verdict, evidence, steps.SUCCESS_RATE, **data)


def activity(engine: EngineSource, state_dir: Path) -> RunbookCheck:
    """Runbook 1's dashboard: errors_per_minute < 10, guard_triggers_per_minute < 5."""
    metrics = engine.ask("metrics")
    if not metrics.ok:
        return unanswered("activity", metrics, steps.ERROR_RATE)
    errors_ = float(metrics.get("errors_per_minute") or 0.0)
    guards = float(metrics.get("guard_triggers_per_minute") or 0.0)
    evidence = (
        f"errors {errors_:g}/min (< {ERRORS_PER_MIN_WARN:g}), guard triggers "
        f"{guards:g}/min (< {GUARD_TRIGGERS_PER_MIN_WARN:g})"
    )
    data = {"errors_per_minute": errors_, "guard_triggers_per_minute": guards}
    verdict = by_threshold(errors_, ERRORS_PER_MIN_WARN)
    if errors_ > ERRORS_PER_MIN_FAIL:  # strict, as runbook 1 and the alert write it
        verdict = FAIL
    if verdict != PASS:
        return graded("activity", verdict, evidence, steps.ERROR_RATE, **data)
    if guards >= GUARD_TRIGGERS_PER_MIN_WARN:
        return warned("activity", evidence, steps.GUARDS, **data)
    return passed("activity", evidence, **data)


def providers(engine: EngineSource, state_dir: Path) -> RunbookCheck:
    status = engine.ask("status")
    if not status.ok:
        return unanswered("providers", status, steps.PROVIDERS)
    listed = status.get("providers") or []
    if not listed:
        return warned("providers", "the engine reports no providers", steps.PROVIDERS)
    evidence = "; ".join(_provider_text(p) for p in listed)
    down = [p for p in listed if p.get("status") == "down"]
    data = {"down": [p["name"] for p in down], "active": _active(listed)}
    if not down:
        return passed("providers", evidence, **data)
    verdict = FAIL if any(p.get("active") for p in down) or len(down) == len(listed) else WARN
    return graded("providers", verdict, evidence, steps.PROVIDERS, **data)


def _provider_text(p: dict[str, Any]) -> str:
    mark = "*" if p.get("active") else ""
    text = (
        f"{p.get('name')}{mark} {p.get('status')} {float(p.get('latency_ms_ewma') or 0):.0f} ms "
        f"{fmt.pct(p.get('success_rate'))}"
    )
    if p.get("status") != "healthy" and p.get("last_error"):
        text += f" ({p.get('last_error')})"
    return text


def _active(listed: list[dict[str, Any]]) -> str | None:
    return next((str(p.get("name")) for p in listed if p.get("active")), None)


def gas(engine: EngineSource, state_dir: Path) -> RunbookCheck:
    answer = engine.ask("gas")
    if not answer.ok:
        return unanswered("gas", answer, steps.GAS)
    price = answer.get("gas_price")
    guard = answer.get("guard") or {}
    evidence = f"{fmt.gwei(price)} (normal < {GAS_WARN_GWEI:g} gwei); guard: {guard.get('verdict')}"
    value = (price or 0) / 1e9
    verdict = WARN if value > GAS_WARN_GWEI else PASS
    data = {"gas_price": price, "guard_verdict": guard.get("verdict")}
    return graded("gas", verdict, evidence, steps.GAS, **data)


# --- this machine --------------------------------------------------------------------------
def errors(engine: EngineSource, state_dir: Path) -> RunbookCheck:
    """`logs --since 1h | grep -i error`: the count and what the errors are."""
    summary = logscan.error_summary(state_dir, time.time() - HOUR_S, limit=3)
    count = summary["count"]
    top = "; ".join(f"{g['pattern']} ×{g['count']}" for g in summary["top"])
    evidence = f"{count} ERROR records in the last hour" + (f": {top}" if top else "")
    verdict = by_threshold(count, ERRORS_WARN, ERRORS_FAIL)
    step = steps.ERROR_RATE if verdict == FAIL else steps.ERRORS_SOME
    return graded("errors", verdict, evidence, step, count=count, top=summary["top"])


def disk(engine: EngineSource, state_dir: Path) -> RunbookCheck:
    usage = local.disk_usage(state_dir)
    sizes = local.dir_sizes(state_dir)
    used = float(usage["used_percent"] or 0.0)
    evidence = (
        f"{used:.1f} % used of {fmt.size(usage['total_bytes'])} at {usage['path']} "
        f"(runbook: < {DISK_WARN:g} %); state dir {fmt.size(sizes['total'])} "
        f"(logs {fmt.size(sizes['logs'])}, ledger {fmt.size(sizes['ledger'])})"
    )
    verdict = by_threshold(used, DISK_WARN, DISK_FAIL)
    return graded("disk", verdict, evidence, steps.DISK, **usage, state_dir_bytes=sizes)


def resources(engine: EngineSource, state_dir: Path) -> RunbookCheck:
    metrics = engine.ask("metrics")
    if not metrics.ok:
        return unanswered("resources", metrics, steps.RESOURCES)
    res = metrics.get("resources") or {}
    cpu = float(res.get("cpu_percent") or 0.0)
    memory = float(res.get("memory_percent") or 0.0)
    evidence = (
        f"cpu {cpu:g} % (< {CPU_WARN:g}), memory {memory:g} % of {res.get('memory_of')} "
        f"(< {MEMORY_WARN:g}), rss {fmt.size(res.get('rss_bytes'))}"
    )
    verdict = FAIL if memory > MEMORY_FAIL else PASS
    if verdict == PASS and (cpu >= CPU_WARN or memory >= MEMORY_WARN):
        verdict = WARN
    return graded("resources", verdict, evidence, steps.RESOURCES, **res)
