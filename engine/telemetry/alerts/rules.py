"""Alert rules: the runbooks' conditions on the engine's metrics and health, with thresholds.

The invariant: a rule is a pure judgement of one view (a metrics snapshot plus the
engine's own health checks): no I/O, no clock, no state, so the same view always gives
the same `Check`, and rules are tested by handing them views. Timing (`for_s`, resends)
is the book's job, sending the sinks'. Each rule has a severity (P0–P3, as the runbooks
define them; the mapping is in docs/observability.md) and an optional `for_s`: like
Prometheus' `for`, the condition must hold that long before the alert fires ("CPU > 80 %
for 5 minutes"). `RULE_NAMES` is what `[alerts] disabled` may name: `engine.config`'s
`AlertRuleName`, which the validator checks against.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, get_args

from engine import protocol
from engine.config import AlertRuleName, AlertsSection

SEVERITIES = ("P0", "P1", "P2", "P3")
View = Mapping[str, Any]  # a metrics snapshot plus "health"


@dataclass(frozen=True, slots=True)
class Check:
    """What a rule saw: whether it breaches, the value, and one line for people."""

    breached: bool
    value: Any = None
    text: str = ""


@dataclass(frozen=True, slots=True)
class AlertRule:
    name: str
    severity: str
    condition: str  # the rule in words, with its threshold: for `alerts` and the docs
    action: str  # what the runbook says to do
    check: Callable[[View], Check]
    for_s: float = 0.0


# --- the default rules ----------------------------------------------------------------------
def default_rules(
    section: AlertsSection, max_hourly_loss: int, money: Callable[[int], str]
) -> list[AlertRule]:
    """The runbooks' alert rules with `[alerts]` thresholds; `disabled` ones left out."""
    rules = [
        _health_rule(section),
        _emergency_halt_rule(),
        _halt_not_persisted_rule(),
        _breaker_rule(),
        _memory_rule(section),
        _error_rate_rule(section),
        _success_rate_rule(section),
        _hourly_loss_rule(max_hourly_loss, money),
        _provider_rule(section),
        _slippage_rule(section),
        _cpu_rule(section),
        _no_trades_rule(section),
        _anomaly_rule(section),
        _quarantine_rule(),
        _chain_rule("trade_corrected", "correction", "P1", CHAIN_WINDOW_S),
        _chain_rule("tx_rebroadcast", "rebroadcast", "P2", CHAIN_WINDOW_S),
    ]
    return [rule for rule in rules if rule.name not in section.disabled]


RULE_NAMES: tuple[str, ...] = get_args(AlertRuleName)  # what `[alerts] disabled` may name
QUARANTINE_WINDOW_S = 3600.0  # a refused row keeps its alert firing this long
CHAIN_WINDOW_S = 3600.0  # a reorg correction or a re-broadcast keeps its alert this long


def _health_rule(section: AlertsSection) -> AlertRule:
    limit = section.health_failures

    def check(view: View) -> Check:
        health = view.get("health") or {}
        failures = int(health.get("consecutive_failures") or 0)
        text = f"{failures} health checks CRITICAL in a row: {health.get('detail', '')}"
        return Check(failures >= limit, failures, text)

    return AlertRule(
        "health_check_failing",
        "P0",
        f"the engine's health check is CRITICAL {limit} times in a row "
        f"(checked every {section.health_interval_s:g} s)",
        "page on-call; `arbctl health`, `arbctl logs --errors --since 15m`",
        check,
    )


def _emergency_halt_rule() -> AlertRule:
    def check(view: View) -> Check:
        halted = view.get("state") == protocol.HALTED
        return Check(halted, view.get("state"), "engine HALTED (kill switch)")

    return AlertRule(
        "emergency_halt",
        "P0",
        "the engine is halted (kill switch)",
        "call the emergency contact; `arbctl status`, `arbctl audit` say who and why",
        check,
    )


def _halt_not_persisted_rule() -> AlertRule:
    def check(view: View) -> Check:
        latch = view.get("latch") or {}
        breached = bool(latch.get("halted")) and latch.get("persisted") is False
        text = f"halt NOT persisted: {latch.get('error') or 'still writing'}; retrying"
        return Check(breached, latch.get("error"), text)

    return AlertRule(
        "halt_not_persisted",
        "P0",
        "the engine is halted but the kill switch cannot write the halt to disk",
        "free space or repair the state directory (`arbctl health`); the engine stays "
        "halted and retries the write; a restart before it succeeds comes up running",
        check,
    )


def _breaker_rule() -> AlertRule:
    def check(view: View) -> Check:
        breaker = view.get("breaker") or {}
        state = str(breaker.get("state", "closed"))
        cause = f"{breaker.get('guard') or '?'}: {breaker.get('reason') or ''}"
        return Check(state != "closed", state, f"circuit breaker {state.upper()} ({cause})")

    return AlertRule(
        "breaker_open",
        "P1",
        "the trading circuit breaker is open or half-open",
        "`arbctl breaker`; review logs; `arbctl breaker reset` if a false positive",
        check,
    )


def _memory_rule(section: AlertsSection) -> AlertRule:
    limit = section.memory_percent

    def check(view: View) -> Check:
        resources = view.get("resources") or {}
        used = resources.get("memory_percent")
        text = f"memory {used} % of the {resources.get('memory_of', '?')} > {limit:g} %"
        return Check(used is not None and used > limit, used, text)

    return AlertRule(
        "memory_high",
        "P1",
        f"memory > {limit:g} % for {_minutes(section.memory_for_s)}",
        "`arbctl status` (rss); restart the engine if it keeps growing",
        check,
        section.memory_for_s,
    )


def _cpu_rule(section: AlertsSection) -> AlertRule:
    limit = section.cpu_percent

    def check(view: View) -> Check:
        cpu = (view.get("resources") or {}).get("cpu_percent")
        text = f"engine CPU {cpu} % > {limit:g} %"
        return Check(cpu is not None and cpu > limit, cpu, text)

    return AlertRule(
        "cpu_high",
        "P2",
        f"engine CPU > {limit:g} % for {_minutes(section.cpu_for_s)}",
        "check for CPU-heavy processes; consider scaling",
        check,
        section.cpu_for_s,
    )


def _error_rate_rule(section: AlertsSection) -> AlertRule:
    limit = section.errors_per_minute

    def check(view: View) -> Check:
        rate = float(view.get("errors_per_minute") or 0.0)
        return Check(rate > limit, rate, f"errors {rate:g}/min > {limit:g}/min")

    return AlertRule(
        "error_rate_high",
        "P1",
        f"errors (failed trades + ERROR logs) > {limit:g}/min for {_minutes(section.errors_for_s)}",
        "`arbctl logs --errors --since 10m`; escalate if not resolved in 30 min",
        check,
        section.errors_for_s,
    )


def _success_rate_rule(section: AlertsSection) -> AlertRule:
    limit, least = section.min_success_rate_pct, section.success_rate_min_trades

    def check(view: View) -> Check:
        rate, trades = view.get("success_rate"), int(view.get("trades_last_hour") or 0)
        if rate is None or trades < least:
            return Check(False, rate, f"{trades} trades: too few to judge")
        text = f"success rate {rate * 100:.1f} % of {trades} trades < {limit:g} %"
        return Check(rate * 100 < limit, rate, text)

    return AlertRule(
        "success_rate_low",
        "P1",
        f"success rate over the hour window < {limit:g} % (once {least} trades are in)",
        "review market conditions and gas prices; `arbctl trades --failed`",
        check,
    )


def _hourly_loss_rule(max_loss: int, money: Callable[[int], str]) -> AlertRule:
    def check(view: View) -> Check:
        pnl = int(view.get("pnl_hourly") or 0)
        return Check(pnl < -max_loss, pnl, f"P&L over the hour {money(pnl)} < {money(-max_loss)}")

    return AlertRule(
        "hourly_loss",
        "P1",
        f"P&L over the hour window < {money(-max_loss)}",
        "activate the circuit breaker (the max_hourly_loss guard does); `arbctl pnl --period 1h`",
        check,
    )


def _provider_rule(section: AlertsSection) -> AlertRule:
    def check(view: View) -> Check:
        down = list(view.get("providers_down") or [])
        return Check(bool(down), down, f"provider down: {', '.join(map(str, down))}")

    return AlertRule(
        "provider_down",
        "P1",
        f"a provider (RPC endpoint or flash-loan lender) is down for "
        f"{_minutes(section.provider_down_for_s)}",
        "verify failover works; check the provider's status (`arbctl providers`: a lender's "
        "last error says drained, paused or refused; `providers mark-online` if a false positive)",
        check,
        section.provider_down_for_s,
    )


def _recent_anomalies(view: View, window_s: float, kinds: set[str] | None) -> list[dict]:
    now = float(view.get("ts") or 0.0)
    recent = (view.get("anomalies") or {}).get("recent") or []
    wanted = [a for a in recent if kinds is None or a.get("kind") in kinds]
    return [a for a in wanted if float(a.get("ts") or 0.0) > now - window_s]


def _slippage_rule(section: AlertsSection) -> AlertRule:
    window = section.anomaly_window_s

    def check(view: View) -> Check:
        found = _recent_anomalies(view, window, {"slippage"})
        text = f"{len(found)} trades with unusual slippage in the last {_minutes(window)}"
        return Check(bool(found), len(found), text)

    return AlertRule(
        "unusual_slippage",
        "P1",
        f"a trade's slippage vs its quote was an anomaly in the last {_minutes(window)}",
        "review pool liquidity; adjust trade sizes; `arbctl metrics`",
        check,
    )


def _anomaly_rule(section: AlertsSection) -> AlertRule:
    window = section.anomaly_window_s

    def check(view: View) -> Check:
        found = _recent_anomalies(view, window, {"profit_per_trade", "loop_latency"})
        kinds = sorted({str(a.get("kind")) for a in found})
        text = f"{len(found)} anomalies ({', '.join(kinds)}) in the last {_minutes(window)}"
        return Check(bool(found), len(found), text)

    return AlertRule(
        "anomaly_detected",
        "P2",
        f"profit per trade or loop latency was an anomaly in the last {_minutes(window)}",
        "review the anomaly's details (`arbctl metrics`); decide whether to act",
        check,
    )


def _no_trades_rule(section: AlertsSection) -> AlertRule:
    limit = section.no_trades_s

    def check(view: View) -> Check:
        quiet = float(view.get("seconds_since_trade") or 0.0)
        running = view.get("state") == protocol.RUNNING
        text = f"no trades for {_minutes(quiet)} while running"
        return Check(running and quiet >= limit, round(quiet, 1), text)

    return AlertRule(
        "no_trades",
        "P2",
        f"no trade booked for {_minutes(limit)} while running",
        "check guards (`arbctl guards`), opportunities and providers",
        check,
    )


def _quarantine_rule() -> AlertRule:
    def check(view: View) -> Check:
        ledger = view.get("ledger") or {}
        count, last = int(ledger.get("quarantined") or 0), ledger.get("last_quarantined_at")
        recent = count > 0 and last is not None and float(view.get("ts") or 0) - last < window
        where = ledger.get("deadletter") or "the engine log"
        text = f"{count} ledger rows refused and set aside in {where}: {ledger.get('last_refusal')}"
        return Check(recent, count, text)

    window = QUARANTINE_WINDOW_S
    return AlertRule(
        "ledger_rows_quarantined",
        "P1",
        f"the ledger refused a row in the last {_minutes(window)} (set aside, not booked)",
        "read the dead-letter file (`arbctl status --json | jq .ledger`); book the rows by hand",
        check,
    )


_CHAIN_RULES = {
    "correction": (
        "a booked trade's block was reorged away and the trade corrected",
        "`arbctl trades --corrections`; `arbctl reconcile`; check the provider's chain",
    ),
    "rebroadcast": (
        "a transaction of ours was dropped by the node and re-broadcast (or refused: halted)",
        "`arbctl status` (pending); check the provider's mempool and the fee caps",
    ),
}


def _chain_rule(name: str, what: str, severity: str, window: float) -> AlertRule:
    """Fires for `window` after the last reorg correction / re-broadcast event."""
    counter, last_at, last = f"{what}s", f"last_{what}_at", f"last_{what}"

    def check(view: View) -> Check:
        chain = view.get("chain") or {}
        count, at = int(chain.get(counter) or 0), chain.get(last_at)
        recent = count > 0 and at is not None and float(view.get("ts") or 0) - at < window
        return Check(recent, count, f"{count} {what}(s); last: {chain.get(last)}")

    condition, action = _CHAIN_RULES[what]
    return AlertRule(name, severity, f"{condition} in the last {_minutes(window)}", action, check)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
