"""The guards as the pipeline sees them: `review` before each send, `observe_trade` after
each booked trade.

Both are synchronous on purpose. The pipeline calls `review` between deciding and
sending, in the same loop step; an await there would let the simulated chain mine in
between and break the seed's determinism, and on a real chain it would let the market
move under a decision already taken. Everything slow (ledger rows, events) is handed to
the bus and the write-behind ledger writer, which never block.

What it does with the rules: an opportunity rule's breach blocks that opportunity; a
trade rule's breach opens the circuit breaker, which then blocks everything until its
wait is over and probe trades have succeeded. Each block and each breaker transition is
a `guard_trigger` event and a stored `GuardTrigger` (coalesced per rule, see triggers).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from engine.bus import EventBus
from engine.config import Config, ConfigError
from engine.guards.bidding import Fees, with_bid
from engine.guards.breaker import BreakerState, CircuitBreaker, Transition
from engine.guards.gas import current_fees, gas_report
from engine.guards.rules import (
    MarketContext,
    MaxGasPrice,
    MinNetProfit,
    Reading,
    Rule,
    build_rules,
)
from engine.guards.sizing import SIZE_LIMITS, Cap, Resize, clamp
from engine.guards.stats import HOUR_S, TradeStats, day_start, is_success
from engine.guards.thresholds import Thresholds, build_thresholds
from engine.guards.triggers import Occurrence, TriggerLog
from engine.ledger.records import TradeRecord
from engine.ledger.store import LedgerStore
from engine.ledger.writer import LedgerWriter
from engine.market.venue import CANCELLED_BY_KILL, VENUE_STOPPED, BlockUpdate, Venue
from engine.strategy.gas_model import GasModel
from engine.strategy.opportunity import Opportunity
from engine.strategy.pricing import PriceGraph
from engine.strategy.search import DEFAULT_GAS_UNITS

log = logging.getLogger("arbctl.guards")

# Orders the operator's kill (or a shutdown) dropped before they reached a block: not an
# execution failure, so they do not count against the failure rules.
CANCELLATIONS = (CANCELLED_BY_KILL, VENUE_STOPPED)
BREAKER = "breaker"
R = TypeVar("R", bound=Rule)


class _Pipeline(Protocol):
    last_update: BlockUpdate | None


def was_cancelled(trade: TradeRecord) -> bool:
    """The engine withdrew it (kill switch, shutdown): not an execution failure. On a
    chain the replacement is mined, so the block number says nothing; the reason does."""
    return trade.status == "failed" and trade.revert_reason.startswith(CANCELLATIONS)


class Guards:
    def __init__(
        self,
        thresholds: Thresholds,
        bus: EventBus,
        writer: LedgerWriter,
        venue: Venue,
        gas_units: dict[int, int] | None = None,
        clock: Callable[[], float] = time.time,
        flash_fee_bps: int = 0,
        gas_model: GasModel | None = None,
        priority_fee_share_bps: int = 0,
    ) -> None:
        """`gas_model` is the search's (what `gas` shows); without one, a model of the
        `gas_units` prior alone. `priority_fee_share_bps`: the bid's share of the
        expected profit (engine/guards/bidding.py)."""
        self.thresholds = t = thresholds
        self.flash_fee_bps = flash_fee_bps  # what the search charges: sizing re-prices with it
        self.priority_fee_share_bps = priority_fee_share_bps
        # the active submission route's share, when it sets one (a bundle route's builder
        # payment); the daemon points it at the chain's routes
        self.route_share: Callable[[], int | None] = lambda: None
        self._venue = venue
        self._writer = writer
        self._clock = clock
        self.gas_model = gas_model or GasModel(gas_units or dict(DEFAULT_GAS_UNITS))
        self.opportunity_rules, self.trade_rules = build_rules(t)
        self.breaker = CircuitBreaker(
            t.breaker_wait_s, t.breaker_probe_trades, t.breaker_probe_timeout_s, clock
        )
        self.stats = TradeStats(t.success_rate_window)
        self.triggers = TriggerLog(bus, writer, t.repeat_window_s, clock)
        self._prices = self._price_graph()
        self._head: Callable[[], BlockUpdate | None] = lambda: None
        self._last: dict[str, tuple[Reading, float]] = {}
        self.reviewed = self.approved = self.resized = 0

    @classmethod
    def from_config(
        cls,
        config: Config,
        bus: EventBus,
        writer: LedgerWriter,
        venue: Venue,
        gas_model: GasModel | None = None,
    ) -> Guards:
        """Thresholds from `[guards]`, money scaled by the venue's quote token."""
        quote = venue.market.tokens.get(venue.market.quote)
        if quote is None:  # the running market's tokens: not something load() can see
            raise ConfigError(config.source, "market.quote", "the market has no quote token")
        thresholds = build_thresholds(config.guards, quote.symbol, quote.decimals)
        strategy = config.strategy
        units = {2: strategy.gas_units_2hop, 3: strategy.gas_units_3hop}
        return cls(
            thresholds,
            bus,
            writer,
            venue,
            units,
            flash_fee_bps=strategy.flash_fee_bps,
            gas_model=gas_model,
            priority_fee_share_bps=strategy.priority_fee_share_bps,
        )

    def attach(self, pipeline: _Pipeline) -> None:
        """Follow the pipeline's head (for staleness), once the venue has loaded."""
        self._head = lambda: pipeline.last_update
        self._prices = self._price_graph()  # a chain venue knows its pools only after start

    def _price_graph(self) -> PriceGraph:
        market = self._venue.market
        hubs = [token for token in (market.native, market.quote) if token]
        return PriceGraph(market.pools.values(), hubs)

    # --- the pipeline's seat ---------------------------------------------------------------
    def review(self, opportunity: Opportunity) -> str | None:
        """None approves; otherwise the refusal. Every breached rule is recorded."""
        self._tick()
        self.reviewed += 1
        if self.breaker.state == BreakerState.OPEN:
            return self._blocked_by_breaker(opportunity)
        refusals = self._check(opportunity)
        if refusals:
            return refusals[0]
        if not self.breaker.permit(opportunity.id):
            return self._blocked_by_breaker(opportunity)
        self.approved += 1
        return None

    def size(self, opportunity: Opportunity, caps: Sequence[Cap] = ()) -> Opportunity:
        """The opportunity clamped to every size limit and cap (what the lender can lend,
        the inventory) it breaches, if it still pays (a `resized` trigger names the limit
        and both sizes); otherwise unchanged, for `review` (or the lender seat) to refuse
        as before (engine/guards/sizing.py)."""
        enabled = self._enabled(self.opportunity_rules)
        limits = [rule for rule in enabled if rule.name in SIZE_LIMITS]
        minimum = next((rule for rule in enabled if isinstance(rule, MinNetProfit)), None)
        ctx = self._context()
        resize = clamp(opportunity, limits, minimum, ctx, self.flash_fee_bps, caps)
        if resize is None:
            return opportunity
        self.resized += 1
        self.triggers.record(self._resized(resize))
        return resize.opportunity

    def within_limits(self, opportunity: Opportunity) -> bool:
        """Does it fit every enabled size limit and pay the minimum as it is?"""
        enabled = self._enabled(self.opportunity_rules)
        wanted = [r for r in enabled if r.name in SIZE_LIMITS or isinstance(r, MinNetProfit)]
        ctx = self._context()
        return not any(rule.read(opportunity, ctx).breached for rule in wanted)

    def bid(self, opportunity: Opportunity) -> Opportunity:
        """The opportunity re-priced at base fee + its priority-fee bid: a share of its
        expected profit, capped by the max-gas-price rule (engine/guards/bidding.py)."""
        base, tip = current_fees(self._venue, self._head())
        market = self._venue.market
        bid = with_bid(
            opportunity,
            Fees(base, tip),
            self._share_bps(),
            self._gas_cap(),
            self._prices,
            market.native,
            market.quote,
        )
        return opportunity if bid is None else bid

    def _share_bps(self) -> int:
        share = self.route_share()
        return self.priority_fee_share_bps if share is None else share

    def _gas_cap(self) -> int | None:
        """The max-gas-price rule's threshold, while the rule is enabled."""
        enabled = self._enabled(self.opportunity_rules)
        rule = next((r for r in enabled if isinstance(r, MaxGasPrice)), None)
        return None if rule is None else int(rule.threshold)

    def _resized(self, resize: Resize) -> Occurrence:
        rule, new, show = resize.rule, resize.opportunity, self.thresholds.show
        if isinstance(rule, Cap):
            return self._capped(resize, rule)
        reason = (
            f"input {resize.original} → {new.amount_in} token units: {rule.label} "
            f"{rule.comparison} {show(rule.unit, rule.threshold)} above {resize.boundary}; "
            f"net profit at the new size {show('quote', new.net_profit_quote)}"
        )
        return Occurrence(
            guard=rule.name,
            action="resized",
            reason=reason,
            observed=str(new.amount_in),
            threshold=str(rule.threshold),
            unit=rule.unit,
            opportunity_id=new.id,
            original_size=resize.original,
            new_size=new.amount_in,
        )

    def _capped(self, resize: Resize, cap: Cap) -> Occurrence:
        new = resize.opportunity
        holder = cap.source or "the executor"
        reason = (
            f"input {resize.original} → {new.amount_in} token units: {holder} can lend "
            f"{cap.amount} ({cap.name}); net profit at the new size "
            f"{self.thresholds.show('quote', new.net_profit_quote)}"
        )
        return Occurrence(
            guard=cap.name,
            action="resized",
            reason=reason,
            observed=str(new.amount_in),
            threshold=str(cap.amount),
            unit="token units",
            opportunity_id=new.id,
            original_size=resize.original,
            new_size=new.amount_in,
        )

    def observe_trade(self, trade: TradeRecord) -> None:
        """Fold a booked trade in; a trade rule's breach opens the breaker."""
        self._tick()
        now = self._clock()
        cancelled = was_cancelled(trade)
        if self.breaker.is_probe(trade.opportunity_id):
            detail = trade.revert_reason or trade.status
            transition = self.breaker.record(
                trade.opportunity_id, is_success(trade), trade.id, detail
            )
            self._apply(transition)
        if cancelled:
            return
        self.stats.add(trade, now)
        if self.breaker.state == BreakerState.CLOSED:
            self._evaluate_trade_rules(now, trade.id)

    # --- operator --------------------------------------------------------------------------
    def reset_breaker(self, reason: str) -> dict[str, Any]:
        """Close the breaker now (raises BreakerClosed if it is closed). Restarts every
        window, today's P&L included: the operator has judged the losses a false alarm."""
        self._tick()
        transition = self.breaker.reset(reason)
        self.stats.restart(transition.at, including_today=True)
        self._publish(transition, "breaker_reset")
        return self.breaker_status()

    async def restore(self, store: LedgerStore) -> None:
        """Seed the windows from the ledger so a restart cannot wipe the day's losses."""
        now = self._clock()
        today = await store.pnl(day_start(now))
        recent = await store.list_trades(since=now - HOUR_S, limit=100_000)
        for trade in reversed(recent):  # the store lists newest first
            if not was_cancelled(trade):
                self.stats.add(trade, trade.detected_at)
        self.stats.seed_day(now, today.net_profit_quote)
        self.stats.mark_carried(now)
        trades, failed, _ = self.stats.carried(now)
        log.log(
            logging.WARNING if failed else logging.INFO,
            "guards restored: %d trades (%d failed) from the last hour before this start "
            "count towards the trade rules until they age out or the breaker closes; "
            "P&L today %s",
            trades,
            failed,
            self.thresholds.show("quote", today.net_profit_quote),
        )
        self._evaluate_trade_rules(now, "")

    # --- rules -----------------------------------------------------------------------------
    def _check(self, opportunity: Opportunity) -> list[str]:
        """Read every enabled opportunity rule; the refusal text of each breach."""
        ctx = self._context()
        refusals = []
        for rule in self._enabled(self.opportunity_rules):
            reading = rule.read(opportunity, ctx)
            self._last[rule.name] = (reading, ctx.now)
            if reading.breached:
                reason = self._reason(rule, reading)
                self.triggers.record(self._occurrence(rule, reading, reason, opportunity.id))
                refusals.append(f"{rule.name}: {reason}")
        return refusals

    def _evaluate_trade_rules(self, now: float, trade_id: str) -> None:
        readings = [(rule, rule.read(self.stats, now)) for rule in self._enabled(self.trade_rules)]
        for rule, reading in readings:
            self._last[rule.name] = (reading, now)
        breached = [(rule, reading) for rule, reading in readings if reading.breached]
        if not breached:
            return
        rule, reading = breached[0]
        reason = self._reason(rule, reading) + self._carried_note()
        transition = self.breaker.open(rule.name, reason, rule.hold_until(now), trade_id)
        self._publish(transition, "breaker_open", rule, reading)

    def _enabled(self, rules: Sequence[R]) -> list[R]:
        return [rule for rule in rules if rule.name not in self.thresholds.disabled]

    def _context(self) -> MarketContext:
        market = self._venue.market
        return MarketContext(
            now=self._clock(),
            pools=market.pools,
            prices=self._prices,
            quote=market.quote,
            head=self._head(),
            providers=self._venue.provider_health(),
            ledger=self._writer.health(),
        )

    def _reason(self, rule: Rule, reading: Reading) -> str:
        if reading.reason:
            return reading.reason
        show = self.thresholds.show
        value, limit = show(rule.unit, reading.value), show(rule.unit, rule.threshold)
        return f"{rule.label} {value} {rule.comparison} {limit}"

    @staticmethod
    def _occurrence(
        rule: Rule, reading: Reading, reason: str, opportunity_id: str = "", trade_id: str = ""
    ) -> Occurrence:
        return Occurrence(
            guard=rule.name,
            action=rule.action,
            reason=reason,
            observed="" if reading.value is None else str(reading.value),
            threshold=str(rule.threshold),
            unit=rule.unit,
            opportunity_id=opportunity_id,
            trade_id=trade_id,
        )

    # --- the breaker -----------------------------------------------------------------------
    def _tick(self) -> None:
        """Time-driven work: breaker waits and probe timeouts, coalesced trigger summaries."""
        for transition in self.breaker.poll():
            self._apply(transition)
        self.triggers.flush_due()

    def _apply(self, transition: Transition | None) -> None:
        if transition is None:
            return
        if transition.state == BreakerState.CLOSED:
            self.stats.restart(transition.at)
        self._publish(transition, f"breaker_{transition.state}")

    def _publish(
        self,
        transition: Transition,
        action: str,
        rule: Rule | None = None,
        reading: Reading | None = None,
    ) -> None:
        if rule is not None and reading is not None:
            occurrence = self._occurrence(rule, reading, transition.reason, "", transition.trade_id)
            self.triggers.record(occurrence)
            return
        self.triggers.record(
            Occurrence(transition.guard, action, transition.reason, trade_id=transition.trade_id)
        )

    def _blocked_by_breaker(self, opportunity: Opportunity) -> str:
        if self.breaker.state == BreakerState.OPEN:
            reason = f"breaker open ({self.breaker.guard}: {self.breaker.reason})"
        else:
            reason = f"breaker half-open: all {self.breaker.probes} probe slots taken"
        state = str(self.breaker.state)
        self.triggers.record(
            Occurrence(BREAKER, "blocked", reason, observed=state, opportunity_id=opportunity.id)
        )
        return reason

    def carried_over(self) -> dict[str, Any] | None:
        """What the previous run left in the windows the trade rules read, or None."""
        trades, failed, oldest = self.stats.carried(self._clock())
        if not trades:
            return None
        before = self.stats.carried_until
        return {"trades": trades, "failed": failed, "before": before, "until": oldest + HOUR_S}

    def _carried_note(self) -> str:
        carried = self.carried_over()
        if carried is None:
            return ""
        started = time.strftime("%H:%M:%S", time.gmtime(carried["before"]))
        return (
            f" (counts {carried['trades']} trades, {carried['failed']} failed, "
            f"booked before this engine started at {started}Z)"
        )

    # --- what the control plane reads ---------------------------------------------------------
    def breaker_summary(self) -> dict[str, Any]:
        self._tick()
        return {**self.breaker.summary(), "carried_over": self.carried_over()}

    def breaker_status(self) -> dict[str, Any]:
        self._tick()
        return {**self.breaker.to_dict(), "carried_over": self.carried_over()}

    def gas_status(self) -> dict[str, Any]:
        rule = next(r for r in self.opportunity_rules if isinstance(r, MaxGasPrice))
        enabled = rule.name not in self.thresholds.disabled
        head = self._head()
        model = self.gas_model
        return gas_report(self._venue, head, rule, enabled, self._prices, model, self.thresholds)

    def status(self) -> dict[str, Any]:
        """Every rule with its threshold and latest reading, plus counters."""
        self._tick()
        now = self._clock()
        for rule in self._enabled(self.trade_rules):  # cheap: read them fresh
            self._last[rule.name] = (rule.read(self.stats, now), now)
        rules = [self._rule_status(rule, "opportunity") for rule in self.opportunity_rules] + [
            self._rule_status(rule, "trade") for rule in self.trade_rules
        ]
        return {
            "rules": rules,
            "breaker": {**self.breaker.summary(), "carried_over": self.carried_over()},
            "reviewed": self.reviewed,
            "approved": self.approved,
            "blocked": self.reviewed - self.approved,
            "resized": self.resized,
            "repeat_window_s": self.thresholds.repeat_window_s,
            "quote": {
                "symbol": self.thresholds.quote_symbol,
                "decimals": self.thresholds.quote_decimals,
            },
        }

    def _rule_status(self, rule: Rule, kind: str) -> dict[str, Any]:
        reading, at = self._last.get(rule.name, (None, None))
        value = reading.value if reading else None
        show = self.thresholds.show
        return {
            "name": rule.name,
            "kind": kind,
            "action": rule.action,
            "observes": rule.observes,
            "unit": rule.unit,
            "comparison": rule.comparison,
            "threshold": rule.threshold,
            "threshold_text": show(rule.unit, rule.threshold),
            "current": value,
            "current_text": show(rule.unit, value),
            "breached": reading.breached if reading else None,
            "checked_at": at,
            "enabled": rule.name not in self.thresholds.disabled,
            "triggers": self.triggers.occurrences[rule.name],
            "last_triggered_at": self.triggers.last_at.get(rule.name),
        }
