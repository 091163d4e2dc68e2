"""The guard rules: each one number observed, one threshold, one stable name.

Two kinds. Opportunity rules look at one opportunity (and the market it was found in)
just before it would be sent, and a breach blocks that opportunity. Trade rules look at
the running statistics of booked trades after each one, and a breach opens the circuit
breaker. A rule never acts itself: it returns a `Reading` (what it measured, whether
that breaches) and the approver decides what follows, so every rule is a small pure
function that a unit test can drive with plain values.

Comparisons are strict where the runbook says "> 10/hour" or "< 70 %": a value exactly
at the threshold passes. `consecutive_failures` is the exception (">="): a limit of 5
means the fifth failure in a row opens the breaker.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from engine.guards.stats import DAY_S, TradeStats, day_start
from engine.guards.thresholds import Thresholds
from engine.ledger.writer import LedgerHealth
from engine.market.amm import FEE_DENOMINATOR, UniswapV2Error
from engine.market.model import Pool
from engine.market.quote import amounts_along, marginal_after_fee
from engine.market.v3.errors import UniswapV3Error
from engine.market.venue import BlockUpdate
from engine.providers.selector import ProviderStatus
from engine.strategy.opportunity import Opportunity
from engine.strategy.pricing import PriceGraph

Action = Literal["blocked", "breaker_open"]
Number = int | float

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True, slots=True)
class Reading:
    """What a rule measured; `value` is None when there is nothing to measure yet."""

    value: Number | None
    breached: bool
    reason: str = ""  # set only when the rule phrases its breach itself


@dataclass(frozen=True, slots=True)
class MarketContext:
    """What opportunity rules may look at, gathered once per review."""

    now: float
    pools: Mapping[str, Pool]
    prices: PriceGraph
    quote: str
    head: BlockUpdate | None
    providers: Sequence[ProviderStatus]  # the venue's RPC providers
    ledger: LedgerHealth | None = None  # whether the ledger takes writes


class Rule:
    """A name, what it observes, and how its threshold is compared."""

    name: ClassVar[str]
    label: ClassVar[str]  # the observed number in a sentence: "gas price"
    observes: ClassVar[str]  # one line for `arbctl guards` and docs/guards.md
    unit: ClassVar[str]  # quote | wei | bps | s | blocks | ms | trades | ratio
    comparison: ClassVar[str]  # the breach condition: value <comparison> threshold
    action: ClassVar[Action]

    def __init__(self, threshold: Number) -> None:
        self.threshold = threshold

    def judge(self, value: Number | None) -> Reading:
        """Nothing measured yet (no trades, no provider) is never a breach."""
        if value is None:
            return Reading(None, False)
        return Reading(value, _OPS[self.comparison](value, self.threshold))


class OpportunityRule(Rule):
    action: ClassVar[Action] = "blocked"

    def read(self, opportunity: Opportunity, ctx: MarketContext) -> Reading:
        raise NotImplementedError


class TradeRule(Rule):
    action: ClassVar[Action] = "breaker_open"

    def read(self, stats: TradeStats, now: float) -> Reading:
        raise NotImplementedError

    def hold_until(self, now: float) -> float | None:
        """How long an open breaker must stay open whatever its wait (None: its wait)."""
        return None


# --- opportunity rules ------------------------------------------------------------------
class LedgerTakesWrites(OpportunityRule):
    """Trading waits while the ledger refuses writes. The writer keeps every row and
    retries, and the first successful write lifts the block; until then each new trade
    would be one more the books cannot show. Only the executions already in flight
    complete (they are booked and kept with the rest), so nothing is lost or doubled."""

    name = "ledger_unavailable"
    label = "rows waiting for the ledger"
    observes = "whether the ledger takes writes; the rows its writer holds while it does not"
    unit = "rows"
    comparison = ">"

    def read(self, opportunity: Opportunity, ctx: MarketContext) -> Reading:
        ledger = ctx.ledger
        if ledger is None:
            return Reading(None, False)
        if ledger.ok:
            return Reading(ledger.pending, False)
        reason = f"ledger unavailable ({ledger.error}); {ledger.pending} rows kept for retry"
        return Reading(ledger.pending, True, reason)


class MinNetProfit(OpportunityRule):
    name = "min_net_profit"
    label = "net profit"
    observes = "the opportunity's net profit after gas and flash fee, in quote"
    unit = "quote"
    comparison = "<"

    def read(self, opportunity: Opportunity, ctx: MarketContext) -> Reading:
        return self.judge(opportunity.net_profit_quote)


class MaxGasPrice(OpportunityRule):
    """Above the cap gas is a bidding war and the estimate can be stale within a block,
    so an opportunity goes ahead only if its net profit stays positive with its gas cost
    raised by `headroom_pct` percent. (Re-pricing at the cap itself would always pass:
    gas is cheaper there than at the price the net profit already survived.)"""

    name = "max_gas_price"
    label = "gas price"
    observes = "the gas price the trade would bid (base + priority fee)"
    unit = "wei"
    comparison = ">"

    def __init__(self, threshold: int, headroom_pct: int) -> None:
        super().__init__(threshold)
        self.headroom_pct = headroom_pct

    def read(self, opportunity: Opportunity, ctx: MarketContext) -> Reading:
        price = opportunity.gas_price
        if price <= self.threshold:
            return Reading(price, False)
        stressed = net_profit_with_headroom(opportunity, self.headroom_pct)
        if stressed > 0:
            return Reading(price, False)
        return Reading(
            price,
            True,
            f"gas price {price} wei > max {self.threshold} wei and the net profit does not "
            f"survive {self.headroom_pct}% dearer gas ({stressed} token units)",
        )


def net_profit_with_headroom(opportunity: Opportunity, headroom_pct: int) -> int:
    """Net profit (token units) if gas cost `headroom_pct` percent more; rounded down."""
    extra = -(-opportunity.gas_cost * headroom_pct // 100)
    return opportunity.net_profit - extra


class MaxNotional(OpportunityRule):
    name = "max_notional"
    label = "trade size"
    observes = "the input amount valued in quote at the pools' mid price"
    unit = "quote"
    comparison = ">"

    def read(self, opportunity: Opportunity, ctx: MarketContext) -> Reading:
        rate = ctx.prices.rate(opportunity.token, ctx.quote)
        if rate is None:  # an input we cannot value is an input we cannot bound
            return Reading(None, True, "trade size cannot be valued in quote: no price path")
        return self.judge(rate.up(opportunity.amount_in))


class MaxPriceImpact(OpportunityRule):
    name = "max_price_impact"
    label = "price impact"
    observes = "output lost to the trade's own size along the route, vs mid prices after fees"
    unit = "bps"
    comparison = ">"

    def read(self, opportunity: Opportunity, ctx: MarketContext) -> Reading:
        try:
            impact = price_impact_bps(opportunity, ctx.pools)
        except (KeyError, UniswapV2Error, UniswapV3Error):
            return Reading(None, True, "price impact cannot be computed: pool missing or empty")
        return self.judge(impact)


def price_impact_bps(opportunity: Opportunity, pools: Mapping[str, Pool]) -> int:
    """1 - actual/ideal output, in bps rounded up, where ideal is the input carried
    through every hop at the pool's marginal price less its fee: what is left is exactly
    what the trade's own size costs it. Uses the live state, as the send will: a V2 hop's
    reserves, a V3 hop's exact swap (crossing ticks) against its `sqrtPriceX96`.

    Exact in integers: ideal = num/den, the product of each hop's marginal rate after
    fee (engine.market.quote), so the loss is (num − actual·den)·D / num, rounded up.
    (Sizing evaluates this many times per opportunity, on the loop: no Fractions.)"""
    num, den = opportunity.amount_in, 1
    for hop in opportunity.route:
        hop_num, hop_den = marginal_after_fee(pools[hop.pool], hop.token_in)
        num, den = num * hop_num, den * hop_den
    if num <= 0:
        raise UniswapV2Error("a pool on the route is empty")
    route = [(hop.pool, hop.token_in) for hop in opportunity.route]
    actual = amounts_along(pools, route, opportunity.amount_in)[-1]
    lost = (num - actual * den) * FEE_DENOMINATOR
    return max(0, -(-lost // num))


class MaxHeadAge(OpportunityRule):
    name = "max_head_age"
    label = "head age"
    observes = "seconds since the block the opportunity was found in was mined"
    unit = "s"
    comparison = ">"

    def read(self, opportunity: Opportunity, ctx: MarketContext) -> Reading:
        if ctx.head is None:
            return Reading(None, True, "no block received yet")
        return self.judge(max(0.0, ctx.now - ctx.head.block.timestamp))


class MaxHeadLag(OpportunityRule):
    name = "max_head_lag"
    label = "head lag"
    observes = "blocks the active provider is behind the best provider"
    unit = "blocks"
    comparison = ">"

    def read(self, opportunity: Opportunity, ctx: MarketContext) -> Reading:
        active = _active(ctx.providers)
        if active is None:
            return Reading(None, False)
        best = min(p.head_lag for p in ctx.providers)
        return self.judge(active.head_lag - best)


class MaxRpcLatency(OpportunityRule):
    name = "max_rpc_latency"
    label = "RPC latency"
    observes = "the active provider's response time (moving average)"
    unit = "ms"
    comparison = ">"

    def read(self, opportunity: Opportunity, ctx: MarketContext) -> Reading:
        active = _active(ctx.providers)
        if active is None:
            return Reading(None, False)
        return self.judge(active.latency_ms_ewma)


class PinnedProvider(OpportunityRule):
    """A pin is the operator's word: the engine never fails over away from it. So when
    the pinned provider cannot serve (down, lagging, breaker open, offline), trading
    waits here instead, visibly, until it recovers or the pin is cleared
    (`arbctl failover --auto`). A stalled pin delivers no block to review; the provider
    watcher records that pause itself (engine/failover/watch.py)."""

    name = "pinned_provider"
    label = "unusable pinned providers"
    observes = "whether the provider the operator pinned can serve (status, lag, breaker)"
    unit = "providers"
    comparison = ">"

    def read(self, opportunity: Opportunity, ctx: MarketContext) -> Reading:
        pinned = next((p for p in ctx.providers if p.pinned), None)
        if pinned is None:
            return Reading(None, False)
        if pinned.usable:
            return Reading(0, False)
        why = pinned.unusable_reason or pinned.status
        reason = f"pinned provider {pinned.name} cannot serve ({why}): trading waits"
        return Reading(1, True, reason)


def _active(providers: Sequence[ProviderStatus]) -> ProviderStatus | None:
    return next((p for p in providers if p.active), None)


# --- trade rules ----------------------------------------------------------------------------
class MaxFailedTradesPerHour(TradeRule):
    name = "max_failed_trades_per_hour"
    label = "failed trades in the last hour"
    observes = "reverted or failed trades booked in the last 60 minutes"
    unit = "trades"
    comparison = ">"

    def read(self, stats: TradeStats, now: float) -> Reading:
        return self.judge(stats.failed_last_hour(now))


class MinSuccessRate(TradeRule):
    name = "min_success_rate"
    label = "success rate"
    observes = "share of successful trades among the last N (once enough are booked)"
    unit = "ratio"
    comparison = "<"

    def __init__(self, threshold: float, min_trades: int) -> None:
        super().__init__(threshold)
        self.min_trades = min_trades

    def read(self, stats: TradeStats, now: float) -> Reading:
        return self.judge(stats.success_rate(self.min_trades))


class ConsecutiveFailures(TradeRule):
    name = "consecutive_failures"
    label = "failed trades in a row"
    observes = "reverted or failed trades in a row, up to the last booked"
    unit = "trades"
    comparison = ">="

    def read(self, stats: TradeStats, now: float) -> Reading:
        return self.judge(stats.consecutive_failures)


class MaxHourlyLoss(TradeRule):
    name = "max_hourly_loss"
    label = "P&L over the last hour"
    observes = "realised P&L in quote over the last 60 minutes"
    unit = "quote"
    comparison = "<"

    def read(self, stats: TradeStats, now: float) -> Reading:
        return self.judge(stats.pnl_last_hour(now))


class MaxDailyLoss(TradeRule):
    """Holds the breaker open until 00:00 UTC: a daily limit that re-armed after a
    five-minute wait would let the day lose its limit again every few minutes."""

    name = "max_daily_loss"
    label = "P&L today (UTC)"
    observes = "realised P&L in quote since 00:00 UTC"
    unit = "quote"
    comparison = "<"

    def read(self, stats: TradeStats, now: float) -> Reading:
        return self.judge(stats.pnl_today(now))

    def hold_until(self, now: float) -> float | None:
        return day_start(now) + DAY_S


def build_rules(t: Thresholds) -> tuple[list[OpportunityRule], list[TradeRule]]:
    """Every rule with its configured threshold, in evaluation order."""
    opportunity: list[OpportunityRule] = [
        LedgerTakesWrites(0),
        MinNetProfit(t.min_net_profit),
        MaxGasPrice(t.max_gas_price, t.gas_headroom_pct),
        MaxNotional(t.max_notional),
        MaxPriceImpact(t.max_price_impact_bps),
        MaxHeadAge(t.max_head_age_s),
        MaxHeadLag(t.max_head_lag_blocks),
        MaxRpcLatency(t.max_rpc_latency_ms),
        PinnedProvider(0),
    ]
    trade: list[TradeRule] = [
        MaxFailedTradesPerHour(t.max_failed_trades_per_hour),
        MinSuccessRate(t.min_success_rate, t.success_rate_min_trades),
        ConsecutiveFailures(t.consecutive_failures_limit),
        MaxHourlyLoss(-t.max_hourly_loss),
        MaxDailyLoss(-t.max_daily_loss),
    ]
    return opportunity, trade


RULE_NAMES = tuple(
    rule.name
    for rule in (
        LedgerTakesWrites,
        MinNetProfit,
        MaxGasPrice,
        MaxNotional,
        MaxPriceImpact,
        MaxHeadAge,
        MaxHeadLag,
        MaxRpcLatency,
        PinnedProvider,
        MaxFailedTradesPerHour,
        MinSuccessRate,
        ConsecutiveFailures,
        MaxHourlyLoss,
        MaxDailyLoss,
    )
)  # evaluation order, as build_rules builds them
