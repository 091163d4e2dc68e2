"""Flash-liquidity sources: who lends a cycle's input, what it charges, and failover.

Configured as `[[providers]]` with `kind = "liquidity"`: `name`, `priority`, and a `url`
naming the lender and the contract path its loans take (engine/lenders/loans.py:
`pair://first-hop`, `inventory://`, `uniswap-v3://0xPOOL`, `balancer-v2://0xVAULT`,
`aave-v3://0xPOOL`), whose query may set its fee (`?fee_bps=5`). Without `fee_bps` a
source charges `strategy.flash_fee_bps`, what the search already charges every opportunity.

Kept deliberately small and honest (docs/providers.md):
- health signal: the flash-borrow outcome of each booked trade, credited to the source
  that was active when the trade was approved. A success, or a revert for a reason of
  the route (profit below minimum, a hop's output), means the loan was made: an answer.
  A revert whose reason names the loan (`LENDER_REVERTS`, `LENDER_CODES`) is a failure of
  the lender, and so is a dry run that reverts for such a reason (`observe_refused`): a
  drained or paused lender is marked down at once, so the next opportunity of the same
  block already borrows from the next source. Unmined trades (kill, refused by the node)
  say nothing about the lender.
- failover: the same selector as RPC endpoints (priority, health, breaker, operator pin
  and offline marks). What it changes: the fee each opportunity must pay. Before the
  guards see an opportunity it is re-priced at the active source's fee; one whose net
  profit no longer covers it is refused (guard trigger `flash_liquidity`, recorded by
  the approval chain's lender seat, engine/approval.py). With no
  usable source (all down or offline, or the pinned one unusable) trading waits, with
  the same trigger.
- capacity: what the active lender can lend of a token this block, read by the venue
  (`lender_capacity`: on a chain the token's balance of the Vault, of the Aave reserve's
  aToken (nothing while the reserve is paused, inactive or has flash loans off), of the
  V3 pool, or of the executor for `inventory://`; `pair://first-hop` has no cap beyond
  its own curve). The approval's sizing seat clamps the input to it (a `resized`
  trigger, limit `lender_liquidity` or `inventory`); a lender that cannot lend enough
  for any size to pay is short (`short`): marked down at once, as a refused dry run is,
  so the same opportunity, in the same block, is sized for the next lender.
- the path: the approval remembers which source it chose for each opportunity and the
  EVM executor asks `loan_for` when it builds the order, so the active source is the
  contract path the transaction takes (`ArbExecutor.run` with its loan code and address;
  `pair://first-hop` stays `execute`). The booked `flash_fee` is the search's figure; the
  booked profit is what the chain shows.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from engine.config import Config, ProviderEntry, liquidity_fee_bps, redact_text
from engine.ledger.records import TradeRecord
from engine.lenders.loans import UnknownLender, loan_of
from engine.market.venue import Loan
from engine.providers.health import Health
from engine.providers.selector import ProviderStatus, Selector
from engine.strategy.exact import flash_fee
from engine.strategy.opportunity import Opportunity

# Revert reasons (lower case) that mean the loan itself failed, not the route.
LENDER_REVERTS = ("insufficient_liquidity", "locked", "flash", "borrow", "lender", "bal#528")
# Whole reasons that are a lender's error code: Aave V3's RESERVE_INACTIVE (27),
# RESERVE_PAUSED (29), FLASHLOAN_DISABLED (91); a V3 pool's flash with no liquidity (L).
LENDER_CODES = frozenset({"27", "29", "91", "L"})
COOLDOWN_S = 60.0  # a failed lender's breaker waits this long before a trial trade...
MAX_COOLDOWN_S = 3600.0  # ...doubling each time it fails again, up to an hour
REMEMBERED = 10_000  # approved opportunities whose lender is kept until booked
LENDER_LIQUIDITY = "lender_liquidity"  # the sizing limit a lender's capacity sets...
INVENTORY = "inventory"  # ...and the executor's own balance, for `inventory://`
# What a lender can lend of a token at the last block; None: no cap known (first-hop).
CapacityReader = Callable[[Loan, str], "int | None"]


@dataclass(frozen=True, slots=True)
class Capacity:
    """What the active lender `source` can lend of a token now, as the sizing limit
    `limit` (`lender_liquidity`, or `inventory` for the executor's own balance)."""

    source: str
    limit: str
    amount: int
    fee_bps: int = 0  # what the lender charges


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    url: str
    priority: int
    fee_bps: int


def parse_sources(entries: Sequence[ProviderEntry], default_fee_bps: int) -> list[Source]:
    """The liquidity entries of `[[providers]]`, each with the `fee_bps` its URL sets or
    the default (`engine.config.load` has checked every such fee)."""
    return [
        Source(e.name, e.url, e.priority, int(liquidity_fee_bps(e) or default_fee_bps))
        for e in entries
        if e.kind == "liquidity"
    ]


def build_sources(config: Config) -> LiquiditySources | None:
    """The configured lenders, or None when `[[providers]]` names none."""
    sources = parse_sources(config.providers, config.strategy.flash_fee_bps)
    return LiquiditySources(sources) if sources else None


def _path(source: Source) -> Loan | None:
    """The source's contract path; None off-chain for a lender named, not addressed
    (the simulated venue's `aave-v3://pool`), which has no capacity to read."""
    try:
        return loan_of(source.url)
    except UnknownLender:
        return None


def lender_failed(reason: str) -> bool:
    text = reason.lower()
    return reason.strip() in LENDER_CODES or any(marker in text for marker in LENDER_REVERTS)


class LiquiditySources:
    """The configured lenders, their health from booked trades, and the active one."""

    reference = 0  # lenders have no chain head: lag never applies

    def __init__(self, sources: Sequence[Source], clock: Callable[[], float] = time.time) -> None:
        self.sources = {s.name: s for s in sources}
        members = [Health(s.name, s.priority, kind="liquidity") for s in sources]
        self.selector = Selector(members, clock, COOLDOWN_S, MAX_COOLDOWN_S)
        self._clock = clock
        self._lender: OrderedDict[str, str] = OrderedDict()  # opportunity id -> source
        self._capacity: CapacityReader = lambda _loan, _token: None

    def read_capacity_from(self, reader: CapacityReader) -> None:
        """Where capacities come from: the venue's `lender_capacity` (the daemon wires it)."""
        self._capacity = reader

    def loans(self) -> list[Loan]:
        """Every configured lender's contract path (what the venue reads capacities of)."""
        loans = (_path(source) for source in self.sources.values())
        return [loan for loan in loans if loan is not None]

    @property
    def active(self) -> Source:
        return self.sources[self.selector.active]

    def health(self) -> list[ProviderStatus]:
        """Each lender's health, with its fee and its URL (credentials redacted)."""
        return [self._with_terms(status) for status in self.selector.statuses(self.reference)]

    def _with_terms(self, status: ProviderStatus) -> ProviderStatus:
        source = self.sources[status.name]
        return replace(status, fee_bps=source.fee_bps, url=redact_text(source.url))

    def evaluate(self) -> None:
        """Offer failed lenders whose cooldown is over a trial, then re-choose."""
        for name, breaker in self.selector.breakers.items():
            health = self.selector.health(name)
            if breaker.state == "open" and not breaker.blocked():
                health.consecutive_failures = 0  # one trade may prove it again
        self.selector.evaluate(self.reference)

    # --- the approval chain's lender seat (engine/approval.py) -----------------------------
    def review(self, opportunity: Opportunity) -> str | None:
        """None if the active lender can fund it at its fee; else why not."""
        self.evaluate()
        source = self.active
        why = self.selector.unusable_reason(source.name, self.reference)
        if why:
            return f"no usable flash-liquidity source: {source.name} is {why}"
        fee = flash_fee(opportunity.amount_in, source.fee_bps)
        net = opportunity.net_profit + opportunity.flash_fee - fee
        if net <= 0:
            return (
                f"{source.name} charges {source.fee_bps} bps ({fee} token units): the net "
                f"profit would be {net}"
            )
        self._remember(opportunity.id, source.name)
        return None

    def capacity(self, token: str) -> Capacity | None:
        """What the active lender can lend of `token` at the last block; None when no cap
        is known or no lender is usable (the lender seat then refuses, as before)."""
        self.evaluate()
        source = self.active
        if self.selector.unusable_reason(source.name, self.reference):
            return None
        loan = _path(source)
        amount = None if loan is None else self._capacity(loan, token)
        if loan is None or amount is None:
            return None
        limit = INVENTORY if loan.kind == "inventory" else LENDER_LIQUIDITY
        return Capacity(source.name, limit, amount, source.fee_bps)

    def short(self, capacity: Capacity, needed: int, token: str) -> str:
        """The active lender cannot lend enough of `token` for the opportunity to pay
        at any size: marked down at once (a definitive failure, as a refused loan); what
        happened, for the failover trigger."""
        health = self.selector.health(capacity.source)
        error = (
            f"liquidity short: can lend {capacity.amount} of {token}, "
            f"no size within it pays (wanted {needed})"
        )
        health.record_definitive_failure(error, self._clock())
        self.selector.breakers[capacity.source].trip()  # a trial when its cooldown is over
        self.selector.evaluate(self.reference)
        return f"{capacity.source}: {error}; active lender now {self.selector.active}"

    def observe(self, trade: TradeRecord) -> None:
        """Credit the lender with the booked trade's flash-borrow outcome."""
        name = self._lender.pop(trade.opportunity_id, None)
        if name is None or name not in self.sources or trade.block_number == 0:
            return  # not ours to judge, or never mined: nothing was borrowed
        health = self.selector.health(name)
        if trade.status == "reverted" and lender_failed(trade.revert_reason):
            health.record_failure(f"flash borrow failed: {trade.revert_reason}", self._clock())
        else:
            health.record_ok()
        self.selector.evaluate(self.reference)

    def observe_refused(self, opportunity_id: str, reason: str) -> str | None:
        """A dry run that reverted for the lender's reason counts as the lender failing
        (nothing was sent, so no booked trade will ever tell); returns what happened."""
        name = self._lender.pop(opportunity_id, None)
        if name is None or name not in self.sources or not lender_failed(reason):
            return None
        health = self.selector.health(name)
        health.record_definitive_failure(f"flash loan refused: {reason}", self._clock())
        self.selector.evaluate(self.reference)
        return f"{name} refused the loan ({reason}); active lender now {self.selector.active}"

    def loan_for(self, opportunity_id: str) -> Loan | None:
        """The contract path of the lender the approval chose for this opportunity."""
        name = self._lender.get(opportunity_id)
        source = self.sources.get(name) if name is not None else None
        return loan_of(source.url) if source is not None else None

    def _remember(self, opportunity_id: str, name: str) -> None:
        self._lender[opportunity_id] = name
        while len(self._lender) > REMEMBERED:
            self._lender.popitem(last=False)
