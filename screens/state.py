"""The console's model of the engine: what the panels show, fed by events and snapshots.

Events only mutate this model, which is cheap; widgets read it at a bounded render rate.
That split is what keeps a flood of events from freezing the keys or eating the CPU on a
slow SSH link: a thousand trades in a second cost a thousand dict updates and at most a
handful of repaints. Each panel has a version number that moves when its data changes,
so a widget repaints only when something it shows changed.

Everything here is bounded (trades, triggers, series, notices) so a console left open
for a week does not grow.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from engine import protocol

Clock = Callable[[], float]

# Panels a widget can subscribe to; each has a version bumped on change.
HEADER, BANNER, TRADES, TRIGGERS, PROVIDERS, RESOURCES, ACTIVITY, ALERTS = (
    "header",
    "banner",
    "trades",
    "triggers",
    "providers",
    "resources",
    "activity",
    "alerts",
)
PANELS = (HEADER, BANNER, TRADES, TRIGGERS, PROVIDERS, RESOURCES, ACTIVITY, ALERTS)

MAX_TRADES = 500
MAX_TRIGGERS = 200
MAX_NOTICES = 50
HISTORY = 120  # samples kept per sparkline (one per heartbeat: two minutes)
# No heartbeat (nor status answer) for this long: the engine is NOT ANSWERING. Engines
# beat every second by default; three missed beats is not a hiccup.
STALE_AFTER_S = 3.0

# Heartbeat and status fields copied into `engine` verbatim.
ENGINE_FIELDS = (
    "state",
    "reason",
    "since",
    "halt",
    "pid",
    "instance",  # the pid file's nonce: the kill fallback proves the pid with it
    "started_at",
    "socket",
    "state_dir",
    "venue",
    "chain",
    "block",
    "loop_latency_ms",
    "avg_loop_latency_ms",
    "events_per_s",
    "resources",
    "breaker",
    "gas_price",
    "pinned_provider",
    "version",
)


@dataclass
class Units:
    """Symbols and decimals for formatting money; the engine's `pnl` says which."""

    quote_symbol: str = "USDC"
    quote_decimals: int = 6
    native_symbol: str = "ETH"
    native_decimals: int = 18
    quote_address: str = ""
    native_address: str = ""

    def decimals_of(self, token: str) -> int | None:
        """Decimals of a token the engine told us about (quote or native), else None."""
        if token and token.lower() == self.quote_address.lower():
            return self.quote_decimals
        if token and token.lower() == self.native_address.lower():
            return self.native_decimals
        return None


@dataclass
class Link:
    """Whether the console is talking to the engine, and what it will do about it."""

    connected: bool = False
    ever_connected: bool = False
    detail: str = "connecting"
    since: float = 0.0
    attempt: int = 0
    retry_in: float = 0.0


@dataclass
class Notice:
    """Something another actor did (from the audit trail), to show once as a toast."""

    text: str
    severity: str = "information"


@dataclass
class Series:
    """The rolling samples behind the resource and P&L sparklines."""

    cpu: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY))
    rss: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY))
    loop_ms: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY))
    events_per_s: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY))
    pnl: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY))


def trade_order(trade: dict[str, Any]) -> tuple[float, str]:
    """Newest first means most recently mined (or sent, or found), ties by id."""
    when = trade.get("mined_at") or trade.get("submitted_at") or trade.get("detected_at") or 0
    return float(when), str(trade.get("id", ""))


class ConsoleModel:
    """Everything the console knows about one engine, and which panels changed."""

    def __init__(self, clock: Clock = time.time, started_at: float | None = None) -> None:
        self.clock = clock
        self.opened_at = clock() if started_at is None else started_at
        self.engine: dict[str, Any] = {}
        self.head_ts: float | None = None
        self.link = Link(since=self.opened_at)
        self.last_seq: int | None = None
        self.units = Units()
        self.pnl: dict[str, Any] | None = None
        self.providers: list[dict[str, Any]] = []
        self.trades: dict[str, dict[str, Any]] = {}
        self.triggers: dict[str, dict[str, Any]] = {}
        self.rule_units: dict[str, str] = {}  # guard name → unit of its observed values
        self.series = Series()
        self.last_action: dict[str, Any] | None = None
        self.notices: deque[Notice] = deque(maxlen=MAX_NOTICES)
        self.versions: dict[str, int] = dict.fromkeys(PANELS, 0)
        self.events_seen = 0
        self.alerts: dict[str, dict[str, Any]] = {}  # firing now, by rule
        self.alert_counts: dict[str, Any] = {}  # the heartbeat's {active, worst, ...}
        self.last_heard: float | None = None  # our clock when the engine last told us its state
        self._was_fresh = False

    # --- change tracking ----------------------------------------------------------
    def touch(self, *panels: str) -> None:
        for panel in panels:
            self.versions[panel] += 1

    # --- derived values the header shows ------------------------------------------
    @property
    def state(self) -> str:
        return str(self.engine.get("state") or "unknown")

    def uptime_s(self) -> float | None:
        """Counts only while the engine is heard: a frozen engine's uptime is frozen too."""
        started = self.engine.get("started_at")
        if not started:
            return None
        now = self.clock() if self.fresh else (self.last_heard or self.clock())
        return max(0.0, now - float(started))

    # --- liveness: is what we show current? -----------------------------------------
    def silent_s(self) -> float | None:
        """Seconds since the engine last told us its state, while the link is up."""
        if not self.link.connected:
            return None
        heard = self.last_heard if self.last_heard is not None else self.link.since
        return max(0.0, self.clock() - heard)

    @property
    def answering(self) -> bool:
        silent = self.silent_s()
        return silent is not None and silent < STALE_AFTER_S

    @property
    def fresh(self) -> bool:
        """The panels show the engine as it is now (connected and heard from lately)."""
        return self.answering

    def check_liveness(self) -> None:
        """Called on every repaint: going silent (or coming back) repaints what it taints."""
        fresh = self.fresh
        if fresh != self._was_fresh:
            self._was_fresh = fresh
            self.touch(HEADER, BANNER, PROVIDERS, RESOURCES, TRADES, TRIGGERS)

    def head_age_s(self) -> float | None:
        return None if self.head_ts is None else self.clock() - self.head_ts

    def pnl_today_quote(self) -> int | None:
        value = (self.pnl or {}).get("net_profit_quote")
        return int(value) if isinstance(value, int) else None

    def newest_trades(self, limit: int) -> list[dict[str, Any]]:
        return heapq.nlargest(limit, self.trades.values(), key=trade_order)

    def firing_alerts(self) -> list[dict[str, Any]]:
        """Firing alerts, the ones nobody acknowledged first, then most severe, oldest."""
        return sorted(self.alerts.values(), key=_alert_rank)

    def worst_alert(self) -> dict[str, Any] | None:
        """The alert the header names; from the heartbeat alone when nothing else is known."""
        firing = self.firing_alerts()
        if firing:
            return firing[0]
        counts = self.alert_counts
        if int(counts.get("active") or 0) > 0:
            return {
                "severity": counts.get("worst") or "?",
                "rule": counts.get("worst_rule") or f"{counts.get('active')} firing",
                "summary": counts.get("worst_summary") or "",
            }
        return None

    def newest_triggers(self, limit: int) -> list[dict[str, Any]]:
        return heapq.nlargest(limit, self.triggers.values(), key=_trigger_order)

    # --- the link ---------------------------------------------------------------------
    def link_up(self) -> None:
        self.link = Link(
            connected=True, ever_connected=True, detail="connected", since=self.clock()
        )
        self.touch(BANNER, HEADER)
        self.check_liveness()

    def link_down(self, detail: str, attempt: int, retry_in: float) -> None:
        was = self.link
        since = was.since if not was.connected else self.clock()
        self.link = Link(False, was.ever_connected, detail, since, attempt, retry_in)
        self.touch(BANNER, HEADER)
        self.check_liveness()

    # --- snapshots (answers to calls) -------------------------------------------------
    def apply_status(self, status: dict[str, Any]) -> None:
        """A `status` answer: the full picture, replacing whatever we had."""
        self._merge_engine(status)
        self.heard()
        if isinstance(status.get("providers"), list):
            self.set_providers(status["providers"])
        self._sample(status)
        self.touch(HEADER, BANNER, RESOURCES)

    def apply_trades(self, trades: Iterable[dict[str, Any]]) -> None:
        for trade in trades:
            self._upsert_trade(trade)
        self._trim(self.trades, MAX_TRADES, trade_order)
        self.touch(TRADES)

    def apply_triggers(self, triggers: Iterable[dict[str, Any]]) -> None:
        for trigger in triggers:
            self._upsert_trigger(trigger)
        self._trim(self.triggers, MAX_TRIGGERS, _trigger_order)
        self.touch(TRIGGERS)

    def apply_guards(self, guards: dict[str, Any]) -> None:
        """A `guards` answer: each rule's unit (stored triggers lack it), recent triggers."""
        for rule in guards.get("rules") or []:
            if isinstance(rule, dict) and rule.get("name"):
                self.rule_units[str(rule["name"])] = str(rule.get("unit") or "")
        self.apply_triggers(t for t in guards.get("recent") or [] if isinstance(t, dict))

    def apply_pnl(self, pnl: dict[str, Any]) -> None:
        """Today's P&L: the header figure, a sparkline sample, and the money units."""
        self.pnl = pnl
        self.units = units_from(pnl.get("units"), self.units)
        today = self.pnl_today_quote()
        if today is not None:
            self.series.pnl.append(today / 10**self.units.quote_decimals)
        self.touch(HEADER, RESOURCES, TRADES, TRIGGERS)

    def apply_alerts(self, answer: dict[str, Any]) -> None:
        """An `alerts` answer: what fires now replaces what we had."""
        active = [a for a in answer.get("active") or [] if isinstance(a, dict) and a.get("rule")]
        self.alerts = {str(a["rule"]): a for a in active}
        self.alert_counts = {**self.alert_counts, "active": len(active)}
        self.touch(ALERTS, HEADER, BANNER)

    def apply_action_result(self, result: dict[str, Any]) -> None:
        """The answer to our own pause/resume/kill: show it before the event arrives."""
        self._merge_engine(result)
        self.touch(HEADER, BANNER)

    # --- events -------------------------------------------------------------------------
    def apply_event(self, event: dict[str, Any]) -> None:
        """One pushed event; unknown topics are counted and otherwise ignored."""
        self.events_seen += 1
        self.heard()  # any event proves the engine's loop runs
        seq = event.get("seq")
        if isinstance(seq, int) and (self.last_seq is None or seq > self.last_seq):
            self.last_seq = seq
        data = event.get("data")
        handler = self._handlers.get(str(event.get("topic")))
        if handler is not None and isinstance(data, dict):
            handler(self, data, event)

    def _on_state(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.engine["state"] = data.get("state", self.engine.get("state"))
        self.engine["reason"] = data.get("reason", "")
        self.engine["since"] = event.get("ts")
        if data.get("state") != protocol.HALTED:
            self.engine["halt"] = None
        self.touch(HEADER, BANNER)

    def _on_heartbeat(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        self._merge_engine(data, event.get("ts"))
        self.heard()
        self._alert_counts(data.get("alerts"))
        if isinstance(data.get("providers"), list):
            self.set_providers(data["providers"])
        self._sample(data)
        self.touch(HEADER, BANNER, RESOURCES)

    def _on_alert(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        """An alert fired, was re-sent, was acknowledged, or resolved."""
        rule = str(data.get("rule") or "")
        if not rule:
            return
        if data.get("status") == "resolved":
            self.alerts.pop(rule, None)
        else:
            self.alerts[rule] = {**self.alerts.get(rule, {}), **data}
        self.touch(ALERTS, HEADER, BANNER)

    def _on_block(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        if isinstance(data.get("number"), int):
            self.engine["block"] = data["number"]
        if isinstance(data.get("timestamp"), int | float):
            self.head_ts = float(data["timestamp"])
        self.touch(HEADER)

    def _on_trade(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        if "id" not in data:
            data = {**data, "id": f"seq-{event.get('seq')}", "detected_at": event.get("ts")}
        self._upsert_trade(data)
        self._trim(self.trades, MAX_TRADES, trade_order)
        self.touch(TRADES)

    def _on_guard(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        if "id" not in data:
            data = {**data, "id": f"seq-{event.get('seq')}", "ts": event.get("ts")}
        self._upsert_trigger(data)
        self._trim(self.triggers, MAX_TRIGGERS, _trigger_order)
        self.touch(TRIGGERS)

    def _on_audit(self, data: dict[str, Any], event: dict[str, Any]) -> None:
        """Who did what: a line in the header and, for fresh entries, a toast."""
        self.last_action = data
        self.touch(HEADER, ACTIVITY)
        if float(data.get("ts") or 0) >= self.opened_at - 1:
            severity = "information" if data.get("outcome", "ok") == "ok" else "warning"
            self.notices.append(Notice(describe_action(data), severity))

    _handlers: ClassVar[
        dict[str, Callable[[ConsoleModel, dict[str, Any], dict[str, Any]], None]]
    ] = {
        protocol.TOPIC_STATE: _on_state,
        protocol.TOPIC_HEARTBEAT: _on_heartbeat,
        protocol.TOPIC_BLOCK: _on_block,
        protocol.TOPIC_TRADE: _on_trade,
        protocol.TOPIC_GUARD: _on_guard,
        protocol.TOPIC_AUDIT: _on_audit,
        protocol.TOPIC_ALERT: _on_alert,
    }

    # --- helpers --------------------------------------------------------------------
    def _alert_counts(self, counts: Any) -> None:
        """The heartbeat's alert counts; none firing clears what the events left behind."""
        if not isinstance(counts, dict) or counts == self.alert_counts:
            return
        self.alert_counts = counts
        if not counts.get("active"):
            self.alerts.clear()
        self.touch(ALERTS, HEADER)

    def heard(self) -> None:
        self.last_heard = self.clock()
        self.check_liveness()

    def _merge_engine(self, data: dict[str, Any], ts: float | None = None) -> None:
        for key in ENGINE_FIELDS:
            if key in data:
                self.engine[key] = data[key]
        head_age = data.get("head_age_s")
        if isinstance(head_age, int | float):
            self.head_ts = (ts if ts is not None else self.clock()) - float(head_age)

    def set_providers(self, providers: list[Any]) -> None:
        clean = [p for p in providers if isinstance(p, dict) and "name" in p]
        if clean != self.providers:
            self.providers = clean
            self.touch(PROVIDERS)

    def _sample(self, data: dict[str, Any]) -> None:
        resources = as_dict(data.get("resources"))
        s = self.series
        _append_number(s.cpu, resources.get("cpu_percent"))
        _append_number(s.rss, resources.get("rss_bytes"))
        _append_number(s.loop_ms, data.get("loop_latency_ms"))
        _append_number(s.events_per_s, data.get("events_per_s"))

    def _upsert_trade(self, trade: dict[str, Any]) -> None:
        key = str(trade.get("id"))
        if self.trades.get(key) != trade:
            self.trades[key] = trade

    def _upsert_trigger(self, trigger: dict[str, Any]) -> None:
        self.triggers[str(trigger.get("id"))] = trigger

    @staticmethod
    def _trim(records: dict[str, dict[str, Any]], limit: int, order: Any) -> None:
        """Drop the oldest beyond `limit`, in batches: one sort per `limit/4` arrivals
        instead of one per event keeps a flood of trades cheap."""
        if len(records) <= limit + limit // 4:
            return
        for stale in sorted(records.values(), key=order)[: len(records) - limit]:
            records.pop(str(stale.get("id")), None)


def as_dict(value: Any) -> dict[str, Any]:
    """A nested field that should be an object; anything else reads as empty."""
    return value if isinstance(value, dict) else {}


def _alert_rank(alert: dict[str, Any]) -> tuple[bool, str, float]:
    return bool(alert.get("acked_at")), str(alert.get("severity") or "P9"), _since(alert)


def _since(alert: dict[str, Any]) -> float:
    value = alert.get("fired_at") or alert.get("since") or 0
    return float(value) if isinstance(value, int | float) else 0.0


def _trigger_order(trigger: dict[str, Any]) -> tuple[float, str]:
    return float(trigger.get("ts") or 0), str(trigger.get("id", ""))


def _append_number(series: deque[float], value: Any) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        series.append(float(value))


def units_from(raw: Any, fallback: Units) -> Units:
    """Read `pnl.units` ({quote: {symbol, decimals}, native: {...}}) defensively."""
    if not isinstance(raw, dict):
        return fallback
    quote, native = as_dict(raw.get("quote")), as_dict(raw.get("native"))
    return Units(
        quote_symbol=str(quote.get("symbol") or fallback.quote_symbol),
        quote_decimals=_int_or(quote.get("decimals"), fallback.quote_decimals),
        native_symbol=str(native.get("symbol") or fallback.native_symbol),
        native_decimals=_int_or(native.get("decimals"), fallback.native_decimals),
        quote_address=str(quote.get("address") or fallback.quote_address),
        native_address=str(native.get("address") or fallback.native_address),
    )


def _int_or(value: Any, fallback: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else fallback


def describe_action(entry: dict[str, Any]) -> str:
    """'pause by uid 1000 (arbctl-tui): gas spike' — who did what and why."""
    who = f"uid {entry.get('uid', '?')}"
    if entry.get("uid") == -1:
        who = "the engine"
    client = entry.get("client") or "?"
    outcome = entry.get("outcome") or "ok"
    suffix = "" if outcome == "ok" else f" [{outcome}]"
    reason = entry.get("reason") or ""
    return f"{entry.get('action', '?')} by {who} ({client}){suffix}: {reason}"
