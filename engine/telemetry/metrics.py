"""Engine metrics, computed from the events the parts already publish.

The runbook's dashboard (`trades_per_minute`, `errors_per_minute`, `avg_ws_latency_ms`,
`avg_loop_latency_ms`, `guard_triggers_per_minute`, `pnl_change_1min`) and the quant
runbook's key metrics (success rate, gas price, RPC response time, failed trades per
hour, breaker state) are all functions of the bus: `trade`, `guard_trigger`, `state`,
`heartbeat` (resources, providers, gas, loop latency, breaker), `log` (ERROR records, put
there by `ErrorLogBridge`) and `opportunity` (the quote a trade is measured against, and
the gas units the search charged it: the gas model's error is that estimate against the
`gas_used` of the trade's receipt, over the last `GAS_SAMPLES` successful trades).
So one subscriber folds events into rolling windows and no trading code calls in here:
metrics can never slow a trade, and a bug here cannot lose one.

Whatever else folds the same events (the Prometheus series, `engine.telemetry.series`)
is handed each one after this fold (`add_fold`): one subscription, one lag policy.

Windows are timestamped samples (`Rolling`) judged against an injectable clock, so a unit
test feeds a known event sequence and steps time instead of sleeping. Money stays in the
quote token's base units (ints); rates and latencies are floats, for people and charts.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, ClassVar, Protocol, TypedDict

from engine import protocol
from engine.bus import EventBus, Subscription
from engine.config import Config, MetricsSection
from engine.guards.approver import was_cancelled
from engine.guards.stats import is_success
from engine.guards.thresholds import Thresholds
from engine.ledger.records import TradeRecord
from engine.redaction import scrub
from engine.telemetry.anomalies import AnomalyLog, RobustZ
from engine.units import to_base_units, to_text

log = logging.getLogger("arbctl.metrics")

TOPICS = (
    protocol.TOPIC_TRADE,
    protocol.TOPIC_GUARD,
    protocol.TOPIC_STATE,
    protocol.TOPIC_HEARTBEAT,
    protocol.TOPIC_LOG,
    protocol.TOPIC_OPPORTUNITY,
    protocol.TOPIC_LATCH,
    protocol.TOPIC_CORRECTION,
    protocol.TOPIC_TX_REBROADCAST,
)
# Decision time and head arrival: only the Prometheus series read them (`add_fold`).
FOLD_TOPICS = (protocol.TOPIC_BLOCK,)
# Topics after which alert rules are worth evaluating at once rather than on the timer.
URGENT_TOPICS = frozenset(
    {
        protocol.TOPIC_STATE,
        protocol.TOPIC_GUARD,
        protocol.TOPIC_LATCH,
        protocol.TOPIC_CORRECTION,
        protocol.TOPIC_TX_REBROADCAST,
    }
)
QUEUE_LIMIT = 16_384
BATCH = 512  # events folded per loop step
WARN_EVERY_S = 60.0
QUOTES_KEPT = 4_096  # opportunities remembered until their trade is booked
GAS_SAMPLES = 500  # (estimate, used) pairs the gas model's error is measured over
SLIPPAGE, PROFIT, LOOP = "slippage", "profit_per_trade", "loop_latency"
BREAKER_ACTIONS = {
    "breaker_open": "open",
    "breaker_half_open": "half_open",
    "breaker_closed": "closed",
    "breaker_reset": "closed",
}
# The six runbook metrics plus what alert rules and the console chart most often.
COMPACT = (
    "trades_per_minute",
    "errors_per_minute",
    "avg_ws_latency_ms",
    "avg_loop_latency_ms",
    "guard_triggers_per_minute",
    "pnl_change_1min",
    "success_rate",
    "failed_trades_per_hour",
)


class EventFold(Protocol):
    """Something else that folds the same events (the Prometheus series)."""

    def observe(self, topic: str, data: dict[str, Any], ts: float) -> None: ...


class QuoteToken(TypedDict):
    symbol: str
    decimals: int


class Rolling:
    """Timestamped samples over the last `span_s` seconds: count, sum, mean."""

    def __init__(self, span_s: float) -> None:
        self.span_s = span_s
        self._items: deque[tuple[float, float]] = deque()
        self._sum: float = 0

    def add(self, ts: float, value: float = 1) -> None:
        self._items.append((ts, value))
        self._sum += value

    def _prune(self, now: float) -> None:
        edge = now - self.span_s
        while self._items and self._items[0][0] <= edge:
            self._sum -= self._items.popleft()[1]
        if not self._items:
            self._sum = 0  # no float drift survives an empty window

    def count(self, now: float) -> int:
        self._prune(now)
        return len(self._items)

    def total(self, now: float) -> float:
        self._prune(now)
        return self._sum

    def mean(self, now: float) -> float | None:
        self._prune(now)
        return self._sum / len(self._items) if self._items else None


class Metrics:
    """Folds bus events into the numbers `metrics`, the heartbeat and alert rules read."""

    def __init__(
        self,
        section: MetricsSection,
        quote_symbol: str,
        quote_decimals: int,
        clock: Callable[[], float],
        machine_memory: Callable[[], float] | None = None,
    ) -> None:
        self.section = section
        self.quote: QuoteToken = {"symbol": quote_symbol, "decimals": quote_decimals}
        self._clock = clock
        self._machine_memory = machine_memory or _machine_memory_percent
        self._listeners: list[Callable[[str], None]] = []
        self._folds: list[EventFold] = []
        self.lags = 0  # times the consumer fell behind and resumed from now
        self.malformed = 0  # events that could not be folded in
        self._warned_at: dict[str, float] = {}
        self._windows(section)
        self.anomalies = _anomaly_log(section, quote_decimals)
        self._quotes: OrderedDict[str, int] = OrderedDict()
        self._gas_estimates: OrderedDict[str, int] = OrderedDict()
        self._gas_errors: deque[tuple[int, int]] = deque(maxlen=GAS_SAMPLES)
        self._latest: dict[str, Any] = {}
        self.state = protocol.STARTING
        self.running_since: float | None = None
        self.breaker: dict[str, Any] = {"state": "closed"}
        self.latch: dict[str, Any] = {"halted": False}  # the kill switch's last word
        self.chain: dict[str, Any] = {}  # reorg corrections and re-broadcasts (issue 18)
        self.last_trade_at: float | None = None
        self.totals = {"trades": 0, "errors": 0, "cancelled": 0, "guard_triggers": 0}

    def _windows(self, section: MetricsSection) -> None:
        minute, hour = section.window_s, section.hour_window_s
        self._trades = Rolling(minute)
        self._errors = Rolling(minute)
        self._guards = Rolling(minute)
        self._pnl = Rolling(minute)
        self._ws_latency = Rolling(minute)
        self._hour_trades = Rolling(hour)
        self._hour_successes = Rolling(hour)
        self._hour_pnl = Rolling(hour)

    @classmethod
    def from_config(cls, config: Config, thresholds: Thresholds) -> Metrics:
        """The quote token (symbol, decimals) is the guards': one conversion of money
        (`engine.config.load` checked that `profit_floor_quote` lands on a base unit)."""
        return cls(config.metrics, thresholds.quote_symbol, thresholds.quote_decimals, time.time)

    def on_observed(self, listener: Callable[[str], None]) -> None:
        """`listener(topic)` after each event is folded in (alerting's wake-up call)."""
        self._listeners.append(listener)

    def add_fold(self, fold: EventFold) -> None:
        """`fold.observe(topic, data, ts)` for every event folded in here, after this
        fold (one subscription, one lag policy, one malformed-event count for both)."""
        self._folds.append(fold)

    @property
    def latest_heartbeat(self) -> dict[str, Any]:
        return self._latest

    # --- feeding ------------------------------------------------------------------------
    def follow(self, bus: EventBus) -> Coroutine[Any, Any, None]:
        """Subscribe now (so no event published before the task first runs is missed)
        and return the coroutine that consumes the subscription forever."""
        sub = bus.subscribe(self.topics(), queue_limit=QUEUE_LIMIT)
        return self._consume(bus, sub)

    def topics(self) -> tuple[str, ...]:
        return TOPICS + FOLD_TOPICS if self._folds else TOPICS

    async def _consume(self, bus: EventBus, sub: Subscription) -> None:
        """Fold events in batches. On lagging, resume from *now*: metrics are rates over
        windows, and replaying a backlog it could not keep up with would only make the
        consumer fall behind again (a flood kept it replaying forever)."""
        while True:
            event = await sub.next()
            if event is None:
                self.lags += 1
                self._warn_rarely("lag", "metrics fell behind a burst; %d gaps so far", self.lags)
                sub = bus.subscribe(self.topics(), queue_limit=QUEUE_LIMIT)
                continue
            for item in (event, *sub.drain(BATCH - 1)):
                if item.topic != protocol.TOPIC_LAGGED:
                    self._observe_safely(item.topic, item.data, item.ts)
            await asyncio.sleep(0)  # a burst of events never monopolises the loop

    def _observe_safely(self, topic: str, data: Any, ts: float) -> None:
        try:
            self.observe(topic, data, ts)
        except Exception as exc:
            # Counted, and said once a minute: a malformed burst must not become a
            # traceback per event (an ERROR here would also come back as a `log` event).
            self.malformed += 1
            self._warn_rarely(
                "malformed",
                "metrics skipped %d malformed events (last: %s event: %r)",
                self.malformed,
                topic,
                exc,
            )
        for listener in self._listeners:
            listener(topic)

    def _warn_rarely(self, key: str, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._warned_at.get(key, -WARN_EVERY_S) >= WARN_EVERY_S:
            self._warned_at[key] = now
            log.warning(message, *args)

    def observe(self, topic: str, data: dict[str, Any], ts: float) -> None:
        """Fold one event in (events carry their publication time `ts`)."""
        handler = self._handlers.get(topic)
        if handler is not None:
            handler(self, data, ts)
        for fold in self._folds:
            fold.observe(topic, data, ts)

    def _on_trade(self, data: dict[str, Any], ts: float) -> None:
        trade = TradeRecord(**data)
        quoted = self._quotes.pop(trade.opportunity_id, None)
        estimated = self._gas_estimates.pop(trade.opportunity_id, None)
        if was_cancelled(trade):
            self.totals["cancelled"] += 1  # the operator's kill, not an execution failure
            return
        ok = is_success(trade)
        self.totals["trades"] += 1
        self.last_trade_at = ts
        self._trades.add(ts)
        self._pnl.add(ts, trade.profit_quote)
        self._hour_trades.add(ts)
        self._hour_successes.add(ts, 1 if ok else 0)
        self._hour_pnl.add(ts, trade.profit_quote)
        if not ok:
            self._error(ts)
            return
        if estimated and trade.gas_used > 0:
            self._gas_errors.append((estimated, trade.gas_used))
        self._judge_trade(trade, quoted, ts)

    def _judge_trade(self, trade: TradeRecord, quoted: int | None, ts: float) -> None:
        """Anomalies of a successful trade: profit, and slippage against its quote."""
        money = to_text(trade.profit_quote, self.quote["decimals"])
        detail = f"profit {money} {self.quote['symbol']}"
        self._anomaly(PROFIT, float(trade.profit_quote), ts, trade.id, detail)
        if quoted:  # the quote is the opportunity's gross profit less the flash fee
            slippage = (quoted - trade.profit_token) * 10_000 / quoted
            detail = f"quoted {quoted}, realised {trade.profit_token} {trade.token_symbol} units"
            self._anomaly(SLIPPAGE, slippage, ts, trade.id, detail)

    def _anomaly(self, kind: str, value: float, ts: float, subject: str, detail: str) -> None:
        found = self.anomalies.observe(kind, value, ts, subject, detail)
        if found is not None:
            log.warning(
                "ANOMALY %s %s: %.6g (median %.6g, z %.1f) %s",
                kind,
                subject,
                value,
                found.median,
                found.score,
                detail,
            )

    def _on_opportunity(self, data: dict[str, Any], ts: float) -> None:
        self._quotes[data["id"]] = int(data["gross_profit"]) - int(data["flash_fee"])
        while len(self._quotes) > QUOTES_KEPT:
            self._quotes.popitem(last=False)
        units = data.get("gas_units")
        if isinstance(units, int) and not isinstance(units, bool) and units > 0:
            self._gas_estimates[data["id"]] = units
            while len(self._gas_estimates) > QUOTES_KEPT:
                self._gas_estimates.popitem(last=False)

    def _on_guard(self, data: dict[str, Any], ts: float) -> None:
        occurrences = max(1, int(data.get("repeats") or 0))  # a summary stands for many
        self.totals["guard_triggers"] += occurrences
        self._guards.add(ts, occurrences)
        state = BREAKER_ACTIONS.get(str(data.get("action")))
        if state is not None:
            self.breaker = {
                "state": state,
                "since": data.get("ts", ts),
                "guard": data.get("guard", ""),
                "reason": data.get("reason", ""),
            }

    def _on_state(self, data: dict[str, Any], ts: float) -> None:
        self.state = str(data.get("state"))
        if self.state == protocol.RUNNING and data.get("previous") != protocol.RUNNING:
            self.running_since = ts
        elif self.state != protocol.RUNNING:
            self.running_since = None

    def _on_latch(self, data: dict[str, Any], ts: float) -> None:
        self.latch = dict(data)

    def _on_correction(self, data: dict[str, Any], ts: float) -> None:
        """A booked trade corrected after a reorg: counted for the `trade_corrected` rule."""
        chain = self.chain
        chain["corrections"] = int(chain.get("corrections") or 0) + 1
        chain["last_correction_at"] = ts
        chain["last_correction"] = (
            f"trade {data.get('trade_id')} {data.get('kind')}: {data.get('reason')}"
        )

    def _on_rebroadcast(self, data: dict[str, Any], ts: float) -> None:
        """A dropped transaction re-sent (or refused by the gate): `tx_rebroadcast`."""
        chain = self.chain
        chain["rebroadcasts"] = int(chain.get("rebroadcasts") or 0) + 1
        chain["last_rebroadcast_at"] = ts
        chain["last_rebroadcast"] = (
            f"tx {data.get('tx_hash')} (nonce {data.get('nonce')}): {data.get('outcome')}"
            + (f" ({data.get('detail')})" if data.get("detail") else "")
        )

    def _on_log(self, data: dict[str, Any], ts: float) -> None:
        if str(data.get("level")) in ("ERROR", "CRITICAL"):
            self._error(ts)

    def _error(self, ts: float) -> None:
        self.totals["errors"] += 1
        self._errors.add(ts)

    def _on_heartbeat(self, data: dict[str, Any], ts: float) -> None:
        self._latest = data
        if isinstance(data.get("breaker"), dict):
            self.breaker = dict(data["breaker"])
        active = _active_provider(data.get("providers") or [])
        if active is not None and active.get("latency_ms_ewma") is not None:
            self._ws_latency.add(ts, float(active["latency_ms_ewma"]))
        latency = data.get("loop_latency_ms")
        if latency is not None:
            self._anomaly(LOOP, float(latency), ts, "", f"loop {float(latency):.1f} ms late")

    _handlers: ClassVar[dict[str, Callable[[Metrics, dict[str, Any], float], None]]] = {
        protocol.TOPIC_TRADE: _on_trade,
        protocol.TOPIC_OPPORTUNITY: _on_opportunity,
        protocol.TOPIC_GUARD: _on_guard,
        protocol.TOPIC_STATE: _on_state,
        protocol.TOPIC_LATCH: _on_latch,
        protocol.TOPIC_CORRECTION: _on_correction,
        protocol.TOPIC_TX_REBROADCAST: _on_rebroadcast,
        protocol.TOPIC_LOG: _on_log,
        protocol.TOPIC_HEARTBEAT: _on_heartbeat,
    }

    # --- reading ------------------------------------------------------------------------
    def _per_minute(self, window: Rolling, now: float) -> float:
        return round(window.total(now) * 60.0 / window.span_s, 3)

    def snapshot(self) -> dict[str, Any]:
        """Everything: what `metrics` serves and what alert rules judge."""
        now = self._clock()
        hour_trades = self._hour_trades.count(now)
        successes = int(self._hour_successes.total(now))
        pnl_1min = int(self._pnl.total(now))
        pnl_hour = int(self._hour_pnl.total(now))
        return {
            "ts": now,
            "window_s": self.section.window_s,
            "hour_window_s": self.section.hour_window_s,
            "trades_per_minute": self._per_minute(self._trades, now),
            "errors_per_minute": self._per_minute(self._errors, now),
            "avg_ws_latency_ms": _round(self._ws_latency.mean(now)),
            "avg_loop_latency_ms": _round(self._latest.get("avg_loop_latency_ms")),
            "guard_triggers_per_minute": self._per_minute(self._guards, now),
            "pnl_change_1min": pnl_1min,
            "pnl_change_1min_text": self._money(pnl_1min),
            "success_rate": round(successes / hour_trades, 4) if hour_trades else None,
            "trades_last_hour": hour_trades,
            "failed_trades_per_hour": hour_trades - successes,
            "pnl_hourly": pnl_hour,
            "pnl_hourly_text": self._money(pnl_hour),
            "seconds_since_trade": round(now - self._quiet_since(now), 3),
            "last_trade_at": self.last_trade_at,
            **self._market(),
            "state": self.state,
            "breaker": self.breaker,
            "latch": self.latch,
            "chain": dict(self.chain),
            "ledger": dict(self._latest.get("ledger") or {}),
            "resources": self._resources(),
            "quote": self.quote,
            "totals": dict(self.totals),
            "anomalies": self.anomalies.to_dict(now),
            "gas_model": gas_model_error(self._gas_errors),
        }

    def compact(self) -> dict[str, Any]:
        """The heartbeat's share: numbers the console charts once a second."""
        full = self.snapshot()
        compact = {name: full[name] for name in COMPACT}
        compact["anomalies_today"] = full["anomalies"]["today"]
        return compact

    def _quiet_since(self, now: float) -> float:
        """Since when no trade was booked while running (no trades expected otherwise)."""
        if self.running_since is None:
            return now
        return max(self.running_since, self.last_trade_at or 0.0)

    def _money(self, amount: int) -> str:
        return f"{to_text(amount, self.quote['decimals'])} {self.quote['symbol']}"

    def _market(self) -> dict[str, Any]:
        providers = self._latest.get("providers") or []
        active = _active_provider(providers)
        gas = self._latest.get("gas_price")
        return {
            "gas_price_wei": gas,
            "gas_price_gwei": None if gas is None else round(gas / 1e9, 3),
            "rpc_response_ms": _round(active.get("latency_ms_ewma") if active else None),
            "providers": [_provider(p) for p in providers],
            "providers_down": [p.get("name") for p in providers if p.get("status") == "down"],
            "block": self._latest.get("block"),
            "head_age_s": self._latest.get("head_age_s"),
        }

    def _resources(self) -> dict[str, Any]:
        res = dict(self._latest.get("resources") or {})
        if not res:
            return {}
        limit = self.section.memory_limit_mb
        if limit > 0:
            res["memory_percent"] = round(100 * res.get("rss_bytes", 0) / (limit * 2**20), 1)
            res["memory_of"] = f"limit {limit} MiB"
        else:
            res["memory_percent"] = round(self._machine_memory(), 1)
            res["memory_of"] = "machine"
        return res


def gas_model_error(samples: Sequence[tuple[int, int]]) -> dict[str, Any]:
    """How far the gas charged was from the gas used: mean and 90th percentile (nearest
    rank) of |estimate - used|, in gas units and in % of used, and the mean signed error
    (positive: the model over-charges). Gas units are ints (rounded half up)."""
    if not samples:
        keys = ("mean_abs", "p90_abs", "mean_abs_pct", "p90_abs_pct", "bias")
        return {"samples": 0, **dict.fromkeys(keys)}
    n = len(samples)
    errors = sorted(abs(estimate - used) for estimate, used in samples)
    pcts = sorted(abs(estimate - used) * 100 / used for estimate, used in samples)
    rank = -(-n * 90 // 100) - 1
    return {
        "samples": n,
        "mean_abs": _half_up(sum(errors), n),
        "p90_abs": errors[rank],
        "mean_abs_pct": round(sum(pcts) / n, 2),
        "p90_abs_pct": round(pcts[rank], 2),
        "bias": _half_up(sum(estimate - used for estimate, used in samples), n),
    }


def _half_up(total: int, n: int) -> int:
    return (2 * total + n) // (2 * n)


def _anomaly_log(section: MetricsSection, quote_decimals: int) -> AnomalyLog:
    """Slippage and loop latency: only worse than usual counts. Profit per trade: both
    ways, on a signed log scale in whole quote tokens (it is heavy-tailed)."""
    window, least, z = (
        section.anomaly_window,
        section.anomaly_min_samples,
        section.anomaly_threshold,
    )
    unit = 10**quote_decimals
    profit_floor = to_base_units(section.profit_floor_quote, quote_decimals)
    detectors = {
        SLIPPAGE: RobustZ(window, least, z, section.slippage_floor_bps, high_only=True),
        PROFIT: RobustZ(
            window,
            least,
            z,
            float(profit_floor),
            scale=lambda x: math.asinh(x / unit),
            unscale=lambda y: math.sinh(y) * unit,
        ),
        LOOP: RobustZ(window, least, z, section.loop_latency_floor_ms, high_only=True),
    }
    units = {SLIPPAGE: "bps", PROFIT: "quote", LOOP: "ms"}
    return AnomalyLog(detectors, units, section.anomaly_recent)


def _active_provider(providers: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((p for p in providers if p.get("active")), None)


def _provider(p: dict[str, Any]) -> dict[str, Any]:
    keys = ("name", "status", "active", "latency_ms_ewma", "success_rate", "head_lag")
    return {k: p.get(k) for k in keys}


def _round(value: Any, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


def _machine_memory_percent() -> float:
    import psutil

    return float(psutil.virtual_memory().percent)


# --- ERROR log records onto the bus ---------------------------------------------------------
class ErrorLogBridge(logging.Handler):
    """Publishes ERROR and CRITICAL log records as `log` events.

    That is how errors_per_minute counts errors that are not trades (a ledger that stops
    writing, a crashed task), and how a console shows them live. Records from other
    threads (alert sinks, the ledger's driver) are handed to the loop's thread, because
    the bus is not thread-safe.
    """

    def __init__(self, bus: EventBus, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.ERROR)
        self._bus = bus
        self._loop = loop
        self._thread = threading.get_ident()

    @classmethod
    def install(cls, bus: EventBus) -> ErrorLogBridge:
        bridge = cls(bus, asyncio.get_running_loop())
        logging.getLogger().addHandler(bridge)
        return bridge

    def remove(self) -> None:
        logging.getLogger().removeHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        data = {
            "ts": record.created,
            "level": record.levelname,
            "logger": record.name,
            "msg": scrub(record.getMessage()),  # keys never reach the bus either
        }
        try:
            if threading.get_ident() == self._thread:
                self._bus.publish(protocol.TOPIC_LOG, data)
            else:
                self._loop.call_soon_threadsafe(self._bus.publish, protocol.TOPIC_LOG, data)
        except RuntimeError:
            pass  # the loop is closed: the engine is exiting and nobody is listening
