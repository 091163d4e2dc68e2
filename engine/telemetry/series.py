"""The engine's numbers as Prometheus series, by Prometheus' own conventions.

Prometheus computes windows, rates and fleet-wide sums itself, and it can only do that
from raw series: counters that only go up (`_total`), histograms of durations in seconds,
gauges for what is true now. So nothing here is a pre-computed rate or average (those
stay in `arbctl metrics`, which the runbook reads per minute): a scrape every 15 s of a
one-minute average is a sample of a sample, and averages cannot be summed across engines.

Two sources, one registry per engine (never the process-global one: a test runs several
engines' series side by side, and a library's own metrics must not leak into ours):

- counters and histograms of what *happened* are folded from the same bus events
  `Metrics` folds (`Metrics.add_fold`), so trading code never calls in here;
- gauges of what *is* (state, breaker, halted, providers, gas, resources, alerts) are
  read from `Metrics.snapshot()` at scrape time by a collector, so they are never stale.

Every series carries the engine's identity (`engine`, `chain`): one Prometheus scraping a
fleet tells engines apart and sums them without relabelling. Label values are bounded
sets (statuses, venues, route kinds, guard rules, provider names): never a trade id, a
hash or an address, which would make a new series per trade.

Money is the one float: P&L counters are in whole quote tokens (`quote` label), because
a dashboard and an alert threshold ("hourly P&L < −$100") read tokens, not base units.
A counter cannot go down, so gains, losses and corrections are three counters and P&L is
`gains − losses + corrections{direction="up"} − corrections{direction="down"}`.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from engine import protocol
from engine.guards.approver import was_cancelled
from engine.ledger.records import TradeRecord
from engine.providers.health import LATENCY_BOUNDS_MS
from engine.telemetry.alerts.service import Alerting
from engine.telemetry.metrics import Metrics

NS = "arbctl"
ID_LABELS = ("engine", "chain")
TRADE_STATUSES = ("success", "reverted", "failed")
ROUTE_KINDS = ("2_hop", "3_hop")  # `[strategy] max_hops` is 2..3
ERROR_KINDS = ("trade_reverted", "trade_failed", "log")
SUBMISSION_ROUTES = ("public",)  # every transaction goes to the public mempool today
BREAKER_STATES = ("closed", "open", "half_open")
PROVIDER_STATUSES = ("healthy", "degraded", "down", "offline")
BLOCKS_REMEMBERED = 256  # heads whose arrival time is kept for head-to-send
FOUND_REMEMBERED = 4_096  # opportunities' blocks kept until their trade is booked
# Seconds. Loop lateness and the search are milliseconds when healthy, seconds when not.
FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
SEND_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the series belong to: the fleet's engine name and the venue's chain."""

    engine: str
    chain: str
    venue: str

    @property
    def labels(self) -> dict[str, str]:
        return {"engine": self.engine, "chain": self.chain}


def route_kind(route: list[dict[str, str]]) -> str:
    """A bounded label for a route: its hop count (a cycle has at least two hops)."""
    return f"{len(route)}_hop" if 2 <= len(route) <= 9 else "other"


class Series:
    """One engine's registry: event-fed counters and histograms, scrape-time gauges."""

    def __init__(self, identity: Identity, metrics: Metrics, alerting: Alerting) -> None:
        self.identity = identity
        self.registry = CollectorRegistry(auto_describe=True)
        self._quote = metrics.quote["symbol"]
        self._unit = 10 ** metrics.quote["decimals"]
        self._heads: OrderedDict[int, float] = OrderedDict()  # block -> received at
        self._found: OrderedDict[str, int] = OrderedDict()  # opportunity -> block found in
        self._counters()
        self._histograms()
        self.registry.register(StateCollector(identity, metrics, alerting))
        self._zeroes()

    def _counter(self, name: str, text: str, *labels: str) -> Counter:
        return Counter(name, text, (*ID_LABELS, *labels), namespace=NS, registry=self.registry)

    def _histogram(self, name: str, text: str, buckets: tuple[float, ...]) -> Histogram:
        return Histogram(
            name, text, ID_LABELS, namespace=NS, registry=self.registry, buckets=buckets
        )

    def _counters(self) -> None:
        c = self._counter
        self.trades = c("trades", "Trades booked", "status", "venue", "route_kind")
        self.cancelled = c("orders_cancelled", "Orders withdrawn by the kill switch or a stop")
        self.errors = c("errors", "Failed/reverted trades and ERROR log records", "kind")
        self.guards = c("guard_triggers", "Guard trigger occurrences", "rule", "action")
        self.transactions = c("transactions", "Transactions sent", "route")
        self.blocks = c("blocks", "Blocks (heads) processed")
        self.opportunities = c("opportunities", "Opportunities found by the search")
        self.gains = c("realized_gains_quote", "Realised profit of trades, quote tokens", "quote")
        self.losses = c("realized_losses_quote", "Realised loss of trades, quote tokens", "quote")
        self.corrections = c(
            "realized_corrections_quote",
            "P&L corrections (reorgs), quote tokens, by direction (up/down)",
            "quote",
            "direction",
        )

    def _histograms(self) -> None:
        h = self._histogram
        self.loop = h("loop_latency_seconds", "Event-loop lateness, each heartbeat", FAST_BUCKETS)
        self.decision = h("decision_seconds", "Search time per block", FAST_BUCKETS)
        self.head_to_send = h(
            "head_to_send_seconds", "Head received to transaction submitted", SEND_BUCKETS
        )

    def _zeroes(self) -> None:
        """Series that exist from the start at 0, so `increase()` and "no trades for 30
        minutes" work before the first trade, and rules never meet an absent series."""
        me = self.identity.labels
        for status in TRADE_STATUSES:
            for kind in ROUTE_KINDS:
                self.trades.labels(**me, status=status, venue=self.identity.venue, route_kind=kind)
        for kind in ERROR_KINDS:
            self.errors.labels(**me, kind=kind)
        for route in SUBMISSION_ROUTES:
            self.transactions.labels(**me, route=route)
        for counter in (self.gains, self.losses):
            counter.labels(**me, quote=self._quote)
        for direction in ("up", "down"):
            self.corrections.labels(**me, quote=self._quote, direction=direction)
        for plain in (self.cancelled, self.blocks, self.opportunities):
            plain.labels(**me)
        for histogram in (self.loop, self.decision, self.head_to_send):
            histogram.labels(**me)

    # --- folding events (called by Metrics for every event it folds) -------------------
    def observe(self, topic: str, data: dict[str, Any], ts: float) -> None:
        me = self.identity.labels
        if topic == protocol.TOPIC_TRADE:
            self._trade(TradeRecord(**data))
        elif topic == protocol.TOPIC_GUARD:
            occurrences = max(1, int(data.get("repeats") or 0))
            rule, action = str(data.get("guard") or "?"), str(data.get("action") or "?")
            self.guards.labels(**me, rule=rule, action=action).inc(occurrences)
        elif topic == protocol.TOPIC_LOG:
            if str(data.get("level")) in ("ERROR", "CRITICAL"):
                self.errors.labels(**me, kind="log").inc()
        elif topic == protocol.TOPIC_BLOCK:
            self._block(data)
        elif topic == protocol.TOPIC_OPPORTUNITY:
            self.opportunities.labels(**me).inc()
            _remember(self._found, str(data["id"]), int(data["block_number"]), FOUND_REMEMBERED)
        elif topic == protocol.TOPIC_HEARTBEAT and data.get("loop_latency_ms") is not None:
            self.loop.labels(**me).observe(float(data["loop_latency_ms"]) / 1000)

    def _block(self, data: dict[str, Any]) -> None:
        me = self.identity.labels
        self.blocks.labels(**me).inc()
        if data.get("decision_ms") is not None:
            self.decision.labels(**me).observe(float(data["decision_ms"]) / 1000)
        if data.get("received_at") is not None:
            received = float(data["received_at"])
            _remember(self._heads, int(data["number"]), received, BLOCKS_REMEMBERED)

    def _trade(self, trade: TradeRecord) -> None:
        me = self.identity.labels
        if was_cancelled(trade):
            self.cancelled.labels(**me).inc()
            return
        kind = route_kind(trade.route)
        self.trades.labels(**me, status=trade.status, venue=trade.venue, route_kind=kind).inc()
        if trade.status != "success":
            self.errors.labels(**me, kind=f"trade_{trade.status}").inc()
        if trade.tx_hash:
            self.transactions.labels(**me, route=SUBMISSION_ROUTES[0]).inc()
        money = trade.profit_quote / self._unit
        if money > 0:
            self.gains.labels(**me, quote=self._quote).inc(money)
        elif money < 0:
            self.losses.labels(**me, quote=self._quote).inc(-money)
        self._head_to_send(trade)

    def _head_to_send(self, trade: TradeRecord) -> None:
        """From the head the opportunity was found in (the trade's own block is where it
        was mined) to the transaction's submission."""
        found = self._found.pop(trade.opportunity_id, None)
        received = None if found is None else self._heads.get(found)
        if received is not None and trade.submitted_at >= received:
            self.head_to_send.labels(**self.identity.labels).observe(trade.submitted_at - received)


def _remember(memory: OrderedDict[Any, Any], key: Any, value: Any, limit: int) -> None:
    memory[key] = value
    while len(memory) > limit:
        memory.popitem(last=False)


class StateCollector(Collector):
    """Gauges of what is true at scrape time, read from `Metrics.snapshot()`."""

    def __init__(self, identity: Identity, metrics: Metrics, alerting: Alerting) -> None:
        self._identity = identity
        self._metrics = metrics
        self._alerting = alerting

    def describe(self) -> Iterable[Metric]:
        return []  # unchecked collector: its families depend on the snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self._metrics.snapshot()
        yield from self._engine(snap)
        yield from self._providers(snap)
        yield from self._market(snap)
        yield from self._resources(snap)
        yield from self._alerts(snap)

    # --- helpers -----------------------------------------------------------------------
    def _gauge(
        self, name: str, text: str, rows: Iterable[tuple[dict[str, str], float | None]]
    ) -> Iterator[Metric]:
        labels = {**self._identity.labels}
        present = [(extra, value) for extra, value in rows if value is not None]
        if not present:
            return
        family = GaugeMetricFamily(f"{NS}_{name}", text, labels=[*labels, *present[0][0]])
        for extra, value in present:
            family.add_metric([*labels.values(), *extra.values()], float(value))
        yield family

    def _one(self, name: str, text: str, value: float | None) -> Iterator[Metric]:
        return self._gauge(name, text, [({}, value)])

    def _one_hot(
        self, name: str, text: str, key: str, states: Iterable[str], now: str
    ) -> Iterator[Metric]:
        return self._gauge(name, text, [({key: s}, 1 if s == now else 0) for s in states])

    # --- families ----------------------------------------------------------------------
    def _engine(self, snap: dict[str, Any]) -> Iterator[Metric]:
        ident = self._identity
        info = {"venue": ident.venue, "quote": str(snap["quote"]["symbol"])}
        yield from self._gauge("engine_info", "The engine's identity (always 1)", [(info, 1)])
        state = str(snap["state"])
        yield from self._one_hot(
            "engine_state", "Engine state (1 = current)", "state", protocol.STATES, state
        )
        latch = snap.get("latch") or {}
        halted = state == protocol.HALTED or bool(latch.get("halted"))
        yield from self._one("halted", "1 while the kill switch holds the engine", int(halted))
        unpersisted = bool(latch.get("halted")) and latch.get("persisted") is False
        yield from self._one(
            "halt_not_persisted", "1 while a halt cannot be written to disk", int(unpersisted)
        )
        breaker = str((snap.get("breaker") or {}).get("state", "closed"))
        yield from self._one_hot(
            "breaker_state", "Circuit breaker state (1 = current)", "state", BREAKER_STATES, breaker
        )
        yield from self._trade_clock(snap)

    def _trade_clock(self, snap: dict[str, Any]) -> Iterator[Metric]:
        last = snap.get("last_trade_at")
        yield from self._one(
            "last_trade_timestamp_seconds", "When the last trade was booked (epoch s)", last
        )
        waiting = None
        if snap["state"] == protocol.RUNNING:  # trades are only expected while running
            waiting = float(snap["ts"]) - float(snap["seconds_since_trade"])
        yield from self._one(
            "awaiting_trade_since_timestamp_seconds",
            "While running: since when a trade is awaited (last trade or start of running)",
            waiting,
        )

    def _providers(self, snap: dict[str, Any]) -> Iterator[Metric]:
        rows = [p for p in self._metrics.latest_heartbeat.get("providers") or [] if p.get("name")]
        status_rows = [
            ({"provider": str(p["name"]), "status": s}, 1 if p.get("status") == s else 0)
            for p in rows
            for s in PROVIDER_STATUSES
        ]
        yield from self._gauge("provider_status", "Provider health (1 = current)", status_rows)
        yield from self._gauge(
            "provider_up",
            "1 while the provider is healthy or degraded (usable), 0 when down or offline",
            [
                ({"provider": str(p["name"])}, int(p.get("status") in ("healthy", "degraded")))
                for p in rows
            ],
        )
        yield from self._gauge(
            "provider_active",
            "1 for the active provider of its kind (the endpoint heads come from, the lender)",
            [({"provider": str(p["name"])}, int(bool(p.get("active")))) for p in rows],
        )
        yield from self._gauge(
            "provider_head_lag_blocks",
            "Blocks the provider is behind the best head",
            [({"provider": str(p["name"])}, p.get("head_lag")) for p in rows],
        )
        yield from self._rpc_latency(rows)

    def _rpc_latency(self, rows: list[dict[str, Any]]) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            f"{NS}_rpc_latency_seconds",
            "Provider response time, every request (by provider)",
            labels=[*ID_LABELS, "provider"],
        )
        bounds = [*(floatToGoString(b / 1000) for b in LATENCY_BOUNDS_MS), "+Inf"]
        for p in rows:
            counts = p.get("latency_counts")
            if not counts or len(counts) != len(bounds):
                continue
            running, buckets = 0, []
            for bound, count in zip(bounds, counts, strict=True):
                running += int(count)
                buckets.append((bound, float(running)))
            labels = [*self._identity.labels.values(), str(p["name"])]
            family.add_metric(labels, buckets, float(p.get("latency_sum_ms") or 0) / 1000)
        yield family

    def _market(self, snap: dict[str, Any]) -> Iterator[Metric]:
        yield from self._one(
            "gas_price_gwei",
            "Current gas price estimate (base + priority), gwei",
            snap.get("gas_price_gwei"),
        )
        yield from self._one("head_block", "Newest block number", snap.get("block"))
        yield from self._one("head_age_seconds", "Age of the newest block", snap.get("head_age_s"))

    def _resources(self, snap: dict[str, Any]) -> Iterator[Metric]:
        ident = [*self._identity.labels.values()]
        cpu = CounterMetricFamily(
            f"{NS}_process_cpu_seconds", "Engine process CPU time (user + system)", labels=ID_LABELS
        )
        times = os.times()
        cpu.add_metric(ident, times.user + times.system)
        yield cpu
        res = snap.get("resources") or {}
        yield from self._one(
            "process_resident_memory_bytes", "Engine resident memory", res.get("rss_bytes")
        )
        memory = res.get("memory_percent")
        yield from self._one(
            "memory_used_ratio",
            "Memory used, of the machine or of [metrics] memory_limit_mb (0..1)",
            None if memory is None else memory / 100,
        )
        disk = res.get("disk_used_percent")
        yield from self._one(
            "disk_used_ratio",
            "State directory's disk used (0..1)",
            None if disk is None else disk / 100,
        )

    def _alerts(self, snap: dict[str, Any]) -> Iterator[Metric]:
        health = self._alerting.health
        yield from self._one(
            "health_check_consecutive_failures",
            "The engine's own health check: CRITICAL verdicts in a row",
            int(health.get("consecutive_failures") or 0),
        )
        active = {a["rule"] for a in self._alerting.book.active()}
        yield from self._gauge(
            "alert_firing",
            "The engine's own alert rules: firing (1) or not (0)",
            [
                ({"rule": r.name, "severity": r.severity}, int(r.name in active))
                for r in self._alerting.book.rules
            ],
        )
        anomalies = CounterMetricFamily(
            f"{NS}_anomalies", "Anomalies flagged since the engine started", labels=ID_LABELS
        )
        anomalies.add_metric([*self._identity.labels.values()], float(snap["anomalies"]["total"]))
        yield anomalies
        yield from self._losses()

    def _losses(self) -> Iterator[Metric]:
        """What the event-fed counters may be short of: bursts skipped, events unread."""
        ident = [*self._identity.labels.values()]
        for name, text, count in (
            ("metrics_lags", "Bursts the metrics consumer skipped (counters miss them)",
             self._metrics.lags),
            ("metrics_malformed_events", "Events that could not be read", self._metrics.malformed),
        ):  # fmt: skip
            family = CounterMetricFamily(f"{NS}_{name}", text, labels=ID_LABELS)
            family.add_metric(ident, float(count))
            yield family
