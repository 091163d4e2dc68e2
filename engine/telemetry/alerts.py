"""Alerts: the runbooks' alert rules, judged by the engine itself, sent where people look.

Each rule is a condition on the metrics (and on the engine's own health checks) with a
severity (P0–P3, as the runbooks define them; the mapping is in docs/observability.md)
and an optional `for_s`: like Prometheus' `for`, the condition must hold that long before
the alert fires ("CPU > 80 % for 5 minutes"). An alert then fires once (de-duplicated
per rule while it stays active), is sent again every `resend_interval_s` while it stays
active, and sends a `resolved` notification when it clears.

Deciding (`AlertBook`, a pure state machine over an injectable clock) is kept apart from
sending (`Sink`s), so rules are unit-tested by stepping time and sinks are tested against
a real HTTP server. Sending never touches the event loop: each sink is a daemon thread
with a bounded queue and its own timeout, so a webhook that hangs or a hook that crashes
is logged and costs the engine nothing. Every notification also goes to the log and onto
the bus as an `alert` event (consoles, `arbctl events --topic alert`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine import protocol
from engine.bus import EventBus
from engine.config import AlertsSection, Config, ConfigError, redact_webhook
from engine.guards.thresholds import Thresholds
from engine.telemetry.metrics import URGENT_TOPICS, Metrics
from engine.units import to_base_units, to_text

log = logging.getLogger("arbctl.alerts")

SEVERITIES = ("P0", "P1", "P2", "P3")
FIRING, RESOLVED = "firing", "resolved"
HISTORY = 200
FLUSH_ON_CLOSE_S = 1.5  # of the 10 s a graceful stop may take
SINK_QUEUE = 100
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
    ]
    return [rule for rule in rules if rule.name not in section.disabled]


RULE_NAMES = (
    "health_check_failing",
    "emergency_halt",
    "halt_not_persisted",
    "breaker_open",
    "memory_high",
    "error_rate_high",
    "success_rate_low",
    "hourly_loss",
    "provider_down",
    "unusual_slippage",
    "cpu_high",
    "no_trades",
    "anomaly_detected",
    "ledger_rows_quarantined",
)
QUARANTINE_WINDOW_S = 3600.0  # a refused row keeps its alert firing this long


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
        f"an RPC provider is down for {_minutes(section.provider_down_for_s)}",
        "verify failover works; check the provider's status",
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


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


# --- deciding -------------------------------------------------------------------------------
@dataclass(slots=True)
class _Active:
    """One rule whose condition holds: pending until `for_s`, then firing."""

    since: float
    id: str
    check: Check
    fired_at: float | None = None
    last_sent: float = 0.0
    sent: int = 0


class AlertBook:
    """Which alerts fire, repeat and resolve: a state machine with no I/O."""

    def __init__(
        self, rules: list[AlertRule], resend_interval_s: float, clock: Callable[[], float]
    ) -> None:
        self.rules = rules
        self.resend_interval_s = resend_interval_s
        self._clock = clock
        self._active: dict[str, _Active] = {}

    def evaluate(self, view: View) -> list[dict[str, Any]]:
        """Judge every rule against `view`; the notifications to send now."""
        now = self._clock()
        notes = []
        for rule in self.rules:
            try:
                check = rule.check(view)
            except Exception:
                log.warning("alert rule %s could not be evaluated", rule.name, exc_info=True)
                continue
            note = self._step(rule, check, now)
            if note is not None:
                notes.append(note)
        return notes

    def _step(self, rule: AlertRule, check: Check, now: float) -> dict[str, Any] | None:
        active = self._active.get(rule.name)
        if not check.breached:
            if active is None:
                return None
            del self._active[rule.name]
            return self._note(rule, active, RESOLVED, now) if active.fired_at else None
        if active is None:
            active = _Active(since=now, id=f"{rule.name}-{int(now * 1000):x}", check=check)
            self._active[rule.name] = active
        active.check = check
        if active.fired_at is None:
            if now - active.since < rule.for_s:
                return None
            active.fired_at = now
        elif now - active.last_sent < self.resend_interval_s:
            return None
        active.last_sent, active.sent = now, active.sent + 1
        return self._note(rule, active, FIRING, now)

    def _note(self, rule: AlertRule, active: _Active, status: str, now: float) -> dict[str, Any]:
        return {
            "id": active.id,
            "rule": rule.name,
            "severity": rule.severity,
            "status": status,
            "summary": active.check.text,
            "value": active.check.value,
            "condition": rule.condition,
            "action": rule.action,
            "since": active.since,
            "fired_at": active.fired_at,
            "resolved_at": now if status == RESOLVED else None,
            "repeat": max(0, active.sent - 1) if status == FIRING else 0,
            "ts": now,
        }

    def active(self) -> list[dict[str, Any]]:
        """Firing alerts (pending ones are not alerts yet), most severe first."""
        by_name = {rule.name: rule for rule in self.rules}
        found = [
            {**self._note(by_name[name], a, FIRING, a.last_sent), "notifications": a.sent}
            for name, a in self._active.items()
            if a.fired_at is not None
        ]
        return sorted(found, key=lambda n: (n["severity"], n["fired_at"]))

    def pending(self) -> dict[str, float]:
        """Rules whose condition holds but whose `for_s` has not passed: since when."""
        return {name: a.since for name, a in self._active.items() if a.fired_at is None}


# --- sending --------------------------------------------------------------------------------
def slack_text(note: Mapping[str, Any], host: str) -> str:
    """One line a human reads in Slack, a pager or a mail subject."""
    status = "RESOLVED" if note["status"] == RESOLVED else "FIRING"
    repeat = f" (repeat {note['repeat']})" if note.get("repeat") else ""
    head = f"[{note['severity']}] {status}{repeat} {note['rule']}"
    return f"{head}: {note['summary']} — arbctl on {host}"


def _wanted(note: Mapping[str, Any], min_severity: str) -> bool:
    return SEVERITIES.index(str(note["severity"])) <= SEVERITIES.index(min_severity)


class Sink:
    """One destination: a daemon thread draining a bounded queue, so a slow or dead
    destination delays nothing else and never holds up the engine or its exit."""

    def __init__(
        self, name: str, send: Callable[[dict[str, Any]], None], min_severity: str
    ) -> None:
        self.name = name
        self.min_severity = min_severity
        self.sent = self.failed = self.dropped = 0
        self._send = send
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(SINK_QUEUE)
        self._thread = threading.Thread(target=self._work, name=f"alert-{name}", daemon=True)
        self._thread.start()

    def offer(self, note: dict[str, Any]) -> None:
        if not _wanted(note, self.min_severity):
            return
        try:
            self._queue.put_nowait(note)
        except queue.Full:
            self.dropped += 1
            log.warning("alert sink %s is %d behind; dropped %s", self.name, SINK_QUEUE, note["id"])

    def _work(self) -> None:
        while (note := self._queue.get()) is not None:
            try:
                self._send(note)
                self.sent += 1
            except Exception as exc:
                self.failed += 1
                log.warning(
                    "alert %s %s not delivered by %s: %s",
                    note["rule"],
                    note["status"],
                    self.name,
                    exc,
                )

    def close(self) -> None:
        with contextlib.suppress(queue.Full):  # a daemon thread: it dies with the process
            self._queue.put_nowait(None)

    def join(self, timeout: float) -> bool:
        """Wait for what is queued to go out; False if the destination was still busy."""
        self._thread.join(max(0.0, timeout))
        return not self._thread.is_alive()

    def to_dict(self) -> dict[str, Any]:
        return {
            "min_severity": self.min_severity,
            "sent": self.sent,
            "failed": self.failed,
            "dropped": self.dropped,
        }


class WebhookSender:
    """POST the notification as JSON with a Slack-compatible `text` field."""

    def __init__(self, url: str, timeout_s: float, host: str) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._host = host

    def __call__(self, note: dict[str, Any]) -> None:
        body = json.dumps({"text": slack_text(note, self._host), **note}, default=str).encode()
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "arbctl-alerts"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                response.read(65536)
        except urllib.error.HTTPError as exc:
            raise RuntimeError(
                f"webhook {redact_webhook(self.url)} answered HTTP {exc.code}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RuntimeError(f"webhook {redact_webhook(self.url)} failed: {reason}") from None


class CommandSender:
    """Run the configured command with the notification as JSON on stdin and as
    ARBCTL_ALERT_* environment variables (for hooks written in shell). The engine's
    environment is passed on except `withheld` names: the signing key may live in one,
    and a paging script has no business seeing it."""

    def __init__(
        self, argv: list[str], timeout_s: float, withheld: frozenset[str] = frozenset()
    ) -> None:
        self.argv = list(argv)
        self.timeout_s = timeout_s
        self._withheld = withheld

    def __call__(self, note: dict[str, Any]) -> None:
        env = {k: v for k, v in os.environ.items() if k not in self._withheld}
        env.update({f"ARBCTL_ALERT_{k.upper()}": str(note[k]) for k in _ENV_FIELDS})
        try:
            done = subprocess.run(
                self.argv,
                input=json.dumps(note, default=str).encode(),
                env=env,
                capture_output=True,
                timeout=self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise RuntimeError(
                f"command {self.argv[0]} killed after {self.timeout_s:g} s"
            ) from None
        except OSError as exc:
            raise RuntimeError(f"command {self.argv[0]} could not run: {exc}") from None
        if done.returncode != 0:
            tail = done.stderr.decode(errors="replace").strip()[-300:]
            raise RuntimeError(f"command {self.argv[0]} exited {done.returncode}: {tail}")


_ENV_FIELDS = ("id", "rule", "severity", "status", "summary")


def build_sinks(
    section: AlertsSection, host: str, withheld: frozenset[str] = frozenset()
) -> list[Sink]:
    """The configured destinations; `withheld`: env var names the command must not get."""
    sinks = []
    if section.webhook_url:
        sender = WebhookSender(section.webhook_url, section.webhook_timeout_s, host)
        sinks.append(Sink("webhook", sender, section.webhook_min_severity))
    if section.command:
        runner = CommandSender(section.command, section.command_timeout_s, withheld)
        sinks.append(Sink("command", runner, section.command_min_severity))
    return sinks


# --- the service ----------------------------------------------------------------------------
HealthProbe = Callable[[], Awaitable[Mapping[str, Any]]]


class Alerting:
    """Evaluates the rules on a timer (and at once after state and guard events), runs
    the engine's health checks, and sends each notification to the log, the bus and
    the sinks."""

    def __init__(
        self,
        section: AlertsSection,
        rules: list[AlertRule],
        bus: EventBus,
        metrics: Metrics,
        health_probe: HealthProbe,
        sinks: list[Sink],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.section = section
        self.book = AlertBook(rules, section.resend_interval_s, clock)
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self.sinks = sinks
        self._bus = bus
        self._metrics = metrics
        self._probe = health_probe
        self._clock = clock
        self._wake = asyncio.Event()
        self.health: dict[str, Any] = {"consecutive_failures": 0, "status": None, "detail": ""}
        self.host = socket.gethostname()
        metrics.on_observed(self.poke)

    @classmethod
    def from_config(
        cls,
        config: Config,
        bus: EventBus,
        metrics: Metrics,
        thresholds: Thresholds,
        health_probe: HealthProbe,
    ) -> Alerting:
        """Rules from `[alerts]`, money in the guards' quote token; unknown names refused."""
        section = config.alerts
        unknown = sorted(set(section.disabled) - set(RULE_NAMES))
        if unknown:
            problem = f"unknown rules {unknown}; known: {', '.join(RULE_NAMES)}"
            raise ConfigError(config.source, "alerts.disabled", problem)
        try:
            max_loss = to_base_units(section.max_hourly_loss_quote, thresholds.quote_decimals)
        except ValueError as exc:
            raise ConfigError(config.source, "alerts.max_hourly_loss_quote", str(exc)) from None

        def money(amount: int) -> str:
            return f"{to_text(amount, thresholds.quote_decimals)} {thresholds.quote_symbol}"

        rules = default_rules(section, max_loss, money)
        withheld = frozenset({config.evm.key_env, "ARBCTL_PRIVATE_KEY"})
        sinks = build_sinks(section, socket.gethostname(), withheld)
        return cls(section, rules, bus, metrics, health_probe, sinks)

    def poke(self, topic: str) -> None:
        """Metrics folded in an event; a state change or guard trigger is judged at once."""
        if topic in URGENT_TOPICS:
            self._wake.set()

    # --- running ---------------------------------------------------------------------------
    async def run(self) -> None:
        """Forever: health checks on their interval, rules on theirs (or when poked)."""
        health = asyncio.create_task(self._health_loop(), name="alert-health")
        try:
            while True:
                with contextlib.suppress(TimeoutError):  # the timer: evaluate anyway
                    await asyncio.wait_for(self._wake.wait(), self.section.evaluate_interval_s)
                self._wake.clear()
                try:
                    self.evaluate()
                except Exception:  # a bug here must never take the engine down with it
                    log.warning("alert evaluation failed", exc_info=True)
        finally:
            health.cancel()

    def evaluate(self) -> list[dict[str, Any]]:
        view = {**self._metrics.snapshot(), "health": dict(self.health)}
        notes = self.book.evaluate(view)
        for note in notes:
            self._emit(note)
        return notes

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.section.health_interval_s)
            await self.check_health()

    async def check_health(self) -> None:
        """Run the engine's health checks once; CRITICAL (or no answer) is a failure."""
        try:
            result = await self._probe()
            status = str(result.get("status"))
            failing = [c for c in result.get("checks") or [] if c.get("status") == status]
            detail = "; ".join(f"{c.get('name')}: {c.get('detail')}" for c in failing)
        except Exception as exc:
            status, detail = "CRITICAL", f"health check could not run: {exc}"
        failed = status == "CRITICAL"
        count = self.health["consecutive_failures"] + 1 if failed else 0
        self.health = {"consecutive_failures": count, "status": status, "detail": detail,
                       "checked_at": self._clock()}  # fmt: skip

    def _emit(self, note: dict[str, Any]) -> None:
        note = {**note, "engine": {"host": self.host, "pid": os.getpid()}}
        self.history.appendleft(note)
        self._bus.publish(protocol.TOPIC_ALERT, note)
        level = logging.WARNING if note["status"] == FIRING else logging.INFO
        log.log(level, "ALERT %s", slack_text(note, self.host), extra={"fields": {"alert": note}})
        for sink in self.sinks:
            sink.offer(note)

    def close(self, flush_s: float = FLUSH_ON_CLOSE_S) -> None:
        """Stop the sinks, giving queued notifications a bounded moment to go out: the
        emergency-halt alert of `kill --shutdown` is raised just before the process ends."""
        for sink in self.sinks:
            sink.close()
        deadline = time.monotonic() + flush_s
        for sink in self.sinks:
            if not sink.join(deadline - time.monotonic()):
                log.warning("alert sink %s still sending at exit; giving up on it", sink.name)

    # --- reads -----------------------------------------------------------------------------
    def status(self, limit: int = 50) -> dict[str, Any]:
        """What `alerts` serves: firing now, pending, recent notifications, the rules."""
        return {
            "active": self.book.active(),
            "pending": self.book.pending(),
            "recent": list(self.history)[:limit],
            "rules": [self._rule(rule) for rule in self.book.rules],
            "disabled": list(self.section.disabled),
            "resend_interval_s": self.section.resend_interval_s,
            "evaluate_interval_s": self.section.evaluate_interval_s,
            "health": dict(self.health),
            "sinks": self._sinks(),
        }

    def _rule(self, rule: AlertRule) -> dict[str, Any]:
        return {
            "name": rule.name,
            "severity": rule.severity,
            "condition": rule.condition,
            "for_s": rule.for_s,
            "action": rule.action,
        }

    def _sinks(self) -> dict[str, Any]:
        sinks: dict[str, Any] = {"log": {"min_severity": "P3"}}
        for sink in self.sinks:
            sinks[sink.name] = sink.to_dict()
        if "webhook" in sinks:
            sinks["webhook"]["url"] = redact_webhook(self.section.webhook_url)
        if "command" in sinks:
            sinks["command"]["argv0"] = self.section.command[0]
        return sinks

    def compact(self) -> dict[str, Any]:
        """The heartbeat's share: how many alerts fire and the worst severity."""
        active = self.book.active()
        return {"active": len(active), "worst": active[0]["severity"] if active else None}
