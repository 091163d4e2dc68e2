"""Where a trade is decided: the approval chain between the search and the send.

The search proposes an opportunity (float pre-filter, exact integer optimum re-checked
on live state). Then each seat reviews it, in this order, and the first refusal ends
the review:

  1. sizing (`Sizing`): an opportunity whose input breaches a size-dependent limit
     (notional, price impact, what the active lender can lend of the token this block,
     the executor's inventory) is clamped to the largest input the limit allows, found
     exactly, if its exact net profit there still clears the minimum; a `resized` guard
     trigger names the limit and both sizes (engine/guards/sizing.py). Every later seat,
     and the send, sees the resized opportunity; one that does not pay clamped goes on
     unchanged, and the limit refuses it in seat 4 as before. A lender that cannot lend
     enough for any size to pay (drained, paused) is short: it is failed over at once (a
     `flash_liquidity` trigger, action `failover`) and the opportunity is sized again for
     the next lender, in the same block, before any dry run.
  2. bidding (`Bidding`): the priority fee, a configured share of the expected profit
     capped by the max-gas-price guard (engine/guards/bidding.py); the opportunity is
     re-priced at base fee + bid, so every later seat judges the profit left after it.
     One with nothing left is refused (a `min_net_profit` trigger).
  3. lender choice (`LenderChoice`): can the active flash-liquidity source fund the
     input at its fee? A refusal is recorded as the `flash_liquidity` guard trigger.
  4. guards and the breaker (`RiskGuards`): the risk rules, then a breaker slot.

The order is the point: an opportunity the lender refuses never reaches the guards, so
it takes no breaker probe slot. After each booked trade every seat observes it (the
lender is credited with the loan's outcome, the guards fold it into their statistics).

A seat answers with a `Verdict`-shaped value: None approves as is, a string refuses, a
new `Review` approves with the opportunity changed (sizing and bidding do). The chain's
`decide` gives the pipeline the opportunity to send, or the refusal.

Every seat is synchronous: the pipeline reviews between deciding and sending, in one
loop step (engine/guards/approver.py says why). The daemon, the one composition root,
builds the chain (`build_chain`); the pipeline sees it as its `Approver`. Every seat is a
`Seat` (a Protocol over the typed `Review`) wrapping the part that decides, itself seen
through a Protocol, so a new seat is one class and one line in `build_chain`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from engine.guards.sizing import Cap
from engine.guards.triggers import Occurrence, TriggerLog
from engine.ledger.records import TradeRecord
from engine.lenders.sources import Capacity
from engine.strategy.opportunity import Opportunity

LENDER_TRIGGER = "flash_liquidity"
BID_TRIGGER = "min_net_profit"  # the bid left no profit: the minimum-profit rule's name


@dataclass(frozen=True, slots=True)
class Review:
    """What a seat judges: the opportunity as the seats before it left it."""

    opportunity: Opportunity


@dataclass(frozen=True, slots=True)
class Verdict:
    """The chain's answer: the opportunity to send (as the seats left it), or why not."""

    opportunity: Opportunity
    refusal: str | None


class Seat(Protocol):
    """One step of the chain: None approves, a string is the refusal, a `Review` approves
    the opportunity it carries instead."""

    def review(self, review: Review) -> str | Review | None: ...

    def observe_trade(self, trade: TradeRecord) -> None: ...

    def observe_not_sent(self, opportunity_id: str, reason: str) -> None: ...


class SizingPart(Protocol):
    """Clamps an opportunity to the size limits (engine/guards/approver.py `Guards.size`)."""

    def size(self, opportunity: Opportunity, caps: Sequence[Cap] = ()) -> Opportunity: ...

    def within_limits(self, opportunity: Opportunity) -> bool: ...


class CapacityPart(Protocol):
    """What the active lender can lend (engine/lenders/sources.py `LiquiditySources`)."""

    @property
    def sources(self) -> Mapping[str, object]: ...

    def capacity(self, token: str) -> Capacity | None: ...

    def short(self, capacity: Capacity, needed: int, token: str) -> str: ...


class BidderPart(Protocol):
    """Prices the priority-fee bid (engine/guards/approver.py `Guards.bid`)."""

    def bid(self, opportunity: Opportunity) -> Opportunity: ...


class LenderPart(CapacityPart, Protocol):
    """The flash-liquidity sources (engine/lenders/sources.py)."""

    def review(self, opportunity: Opportunity) -> str | None: ...

    def observe(self, trade: TradeRecord) -> None: ...

    def observe_refused(self, opportunity_id: str, reason: str) -> str | None: ...


class GuardPart(Protocol):
    """The risk rules and the circuit breaker (engine/guards/approver.py)."""

    def review(self, opportunity: Opportunity) -> str | None: ...

    def observe_trade(self, trade: TradeRecord) -> None: ...


class Sizing:
    """Seat 1: the input clamped to every size limit it breaches, the active lender's
    capacity included, while it still pays; a lender short of any paying size fails over."""

    def __init__(
        self,
        sizer: SizingPart,
        lenders: CapacityPart | None = None,
        triggers: TriggerLog | None = None,
    ) -> None:
        self._sizer = sizer
        self._lenders = lenders
        self._triggers = triggers

    def review(self, review: Review) -> Review | None:
        original = review.opportunity
        sized = self._sizer.size(original)
        short: set[str] = set()
        while self._lenders is not None:
            capacity = self._lenders.capacity(original.token)
            if capacity is None or sized.amount_in <= capacity.amount:
                break
            if capacity.source in short:
                break  # no failover away from it (pinned, or nothing else usable)
            short.add(capacity.source)
            cap = Cap(capacity.limit, capacity.amount, capacity.source, capacity.fee_bps)
            within = self._sizer.size(original, (cap,))
            if within.amount_in <= capacity.amount:
                sized = within
                break
            if not self._sizer.within_limits(sized):
                break  # a size limit refuses it anyway: the lender is not to blame
            self._short(capacity, sized)
        return None if sized is original else Review(sized)

    def _short(self, capacity: Capacity, opportunity: Opportunity) -> None:
        assert self._lenders is not None
        failed = self._lenders.short(capacity, opportunity.amount_in, opportunity.token)
        if self._triggers is not None:
            occurrence = Occurrence(
                LENDER_TRIGGER,
                "failover",
                failed,
                observed=str(capacity.amount),
                threshold=str(opportunity.amount_in),
                unit="token units",
                opportunity_id=opportunity.id,
            )
            self._triggers.record(occurrence)

    def observe_trade(self, trade: TradeRecord) -> None:
        return None

    def observe_not_sent(self, opportunity_id: str, reason: str) -> None:
        return None


class Bidding:
    """Seat 2: the priority-fee bid, and the opportunity re-priced with it."""

    def __init__(self, bidder: BidderPart, triggers: TriggerLog) -> None:
        self._bidder = bidder
        self._triggers = triggers

    def review(self, review: Review) -> str | Review | None:
        bid = self._bidder.bid(review.opportunity)
        if bid.net_profit <= 0:
            reason = (
                f"nothing left after gas at {bid.gas_price} wei per gas "
                f"(priority fee {bid.priority_fee}): net {bid.net_profit} token units"
            )
            self._triggers.record(Occurrence(BID_TRIGGER, "blocked", reason, opportunity_id=bid.id))
            return f"{BID_TRIGGER}: {reason}"
        return None if bid == review.opportunity else Review(bid)

    def observe_trade(self, trade: TradeRecord) -> None:
        return None

    def observe_not_sent(self, opportunity_id: str, reason: str) -> None:
        return None


class LenderChoice:
    """Seat 3: the active lender funds the input at its fee, or the opportunity waits."""

    def __init__(self, lenders: LenderPart, triggers: TriggerLog) -> None:
        self._lenders = lenders
        self._triggers = triggers

    def review(self, review: Review) -> str | None:
        opportunity = review.opportunity
        refusal = self._lenders.review(opportunity)
        if refusal is None:
            return None
        occurrence = Occurrence(LENDER_TRIGGER, "blocked", refusal, opportunity_id=opportunity.id)
        self._triggers.record(occurrence)
        return f"{LENDER_TRIGGER}: {refusal}"

    def observe_trade(self, trade: TradeRecord) -> None:
        self._lenders.observe(trade)

    def observe_not_sent(self, opportunity_id: str, reason: str) -> None:
        """A dry run the lender made revert (drained, paused): it fails over at once, so
        the next opportunity of the same block already borrows elsewhere."""
        failed = self._lenders.observe_refused(opportunity_id, reason)
        if failed is not None:
            occurrence = Occurrence(
                LENDER_TRIGGER, "failover", failed, opportunity_id=opportunity_id
            )
            self._triggers.record(occurrence)


class RiskGuards:
    """Seat 4: every enabled risk rule, then the breaker (closed, or a probe slot)."""

    def __init__(self, guards: GuardPart) -> None:
        self._guards = guards

    def review(self, review: Review) -> str | None:
        return self._guards.review(review.opportunity)

    def observe_trade(self, trade: TradeRecord) -> None:
        self._guards.observe_trade(trade)

    def observe_not_sent(self, opportunity_id: str, reason: str) -> None:
        return None


class ApprovalChain:
    """The seats in order; what the pipeline calls before each send (its `Approver`)."""

    def __init__(self, seats: Sequence[Seat]) -> None:
        self.seats = tuple(seats)

    def decide(self, opportunity: Opportunity) -> Verdict:
        review = Review(opportunity)
        for seat in self.seats:
            answer = seat.review(review)
            if isinstance(answer, str):
                return Verdict(review.opportunity, answer)
            review = answer or review
        return Verdict(review.opportunity, None)

    def review(self, opportunity: Opportunity) -> str | None:
        """The refusal alone (None approves)."""
        return self.decide(opportunity).refusal

    def observe_trade(self, trade: TradeRecord) -> None:
        for seat in self.seats:
            seat.observe_trade(trade)

    def observe_not_sent(self, opportunity_id: str, reason: str) -> None:
        """An approved opportunity whose dry run failed: nothing was sent or booked."""
        for seat in self.seats:
            seat.observe_not_sent(opportunity_id, reason)


def build_chain(
    guards: GuardPart,
    lenders: LenderPart | None,
    triggers: TriggerLog,
    sizer: SizingPart | None = None,
    bidder: BidderPart | None = None,
) -> ApprovalChain:
    """Sizing and bidding (when given), lender choice (when lenders are configured), then
    the guards and the breaker."""
    seats: list[Seat] = []
    if sizer is not None:
        seats.append(Sizing(sizer, lenders, triggers))
    if bidder is not None:
        seats.append(Bidding(bidder, triggers))
    if lenders is not None:
        seats.append(LenderChoice(lenders, triggers))
    seats.append(RiskGuards(guards))
    return ApprovalChain(seats)
