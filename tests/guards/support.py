"""What the sizing tests share: real guards over a tiny simulated market, lenders whose
capacity the test sets, V2's getAmountOut written out, and opportunities priced by hand.

`tests/guards/test_lender_sizing.py` (V2 routes) and `tests/guards/test_v3_sizing.py`
(routes with V3 hops) brute-force every input of markets small enough to try them all;
each builds its market and its exact prices, and takes the rest from here, so the guards
both suites size with are built one way.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from engine import protocol
from engine.approval import ApprovalChain, build_chain
from engine.bus import EventBus
from engine.config import GuardsSection
from engine.guards.approver import Guards
from engine.guards.thresholds import build_thresholds
from engine.ledger.sqlite import SqliteLedger
from engine.ledger.writer import LedgerWriter
from engine.lenders.sources import LiquiditySources, Source
from engine.market.sim import SimVenue
from engine.market.venue import Loan
from engine.strategy.opportunity import Hop, Opportunity
from tests.guards.build import Clock
from tests.guards.conftest import QUIET_TRADE_RULES

VAULT = "0x" + "b1" * 20
# The rules a sizing test is not about: off unless the test names its own `disabled`.
UNLIMITED = ["max_head_age", "max_price_impact", "max_notional", *QUIET_TRADE_RULES]


def out(amount: int, reserve_in: int, reserve_out: int, fee_bps: int = 30) -> int:
    """Uniswap V2's getAmountOut, written out here."""
    with_fee = amount * (10_000 - fee_bps)
    return with_fee * reserve_out // (reserve_in * 10_000 + with_fee)


def lenders(capacities: dict[str, int | None], fee_bps: int = 0, **urls: str) -> LiquiditySources:
    """Sources in the order given, charging `fee_bps`; each lender's capacity of any
    token is the test's."""
    sources = [Source(name, url, i, fee_bps) for i, (name, url) in enumerate(urls.items())]
    made = LiquiditySources(sources, Clock())
    by_url = {url: capacities[name] for name, url in urls.items()}

    def read(loan: Loan, token: str) -> int | None:
        return next(v for u, v in by_url.items() if loan.kind in u and loan.lender.lower() in u)

    made.read_capacity_from(read)
    return made


def priced(
    key: tuple[int, str], route: tuple[Hop, ...], token: str, x: int, z: int, fee: int = 0
) -> Opportunity:
    """The opportunity `key` = (block, id) of input x and output z, exact: no gas (a tiny
    market's point is the curve), `fee` the lender's."""
    block_number, opportunity_id = key
    return Opportunity(
        id=opportunity_id,
        block_number=block_number,
        route=route,
        token=token,
        amount_in=x,
        amount_out=z,
        gross_profit=z - x,
        gas_units=1,
        gas_price=0,
        gas_cost=0,
        flash_fee=fee,
        net_profit=z - x - fee,
        net_profit_quote=z - x - fee,
        detected_at=0.0,
    )


class GuardedMarket:
    """A simulated venue behind real guards (USDC quote, a real bus and ledger writer):
    the base of each sizing test's market. `guards` are [guards] settings over the
    defaults; unless named, the rules in UNLIMITED are off and any unit of profit pays."""

    def __init__(
        self, store: SqliteLedger, venue: SimVenue, flash_fee_bps: int = 0, **guards: Any
    ) -> None:
        self.venue = venue
        guards.setdefault("disabled", UNLIMITED)
        guards.setdefault("min_net_profit_quote", "0.000001")  # one USDC unit
        section = dataclasses.replace(GuardsSection(), **guards)
        self.bus = EventBus()
        thresholds = build_thresholds(section, "USDC", 6)
        writer = LedgerWriter(store)
        self.guards = Guards(
            thresholds, self.bus, writer, venue, {2: 1}, Clock(), flash_fee_bps=flash_fee_bps
        )

    def chain(self, sources: LiquiditySources | None = None) -> ApprovalChain:
        return build_chain(self.guards, sources, self.guards.triggers, sizer=self.guards)

    def events(self, action: str) -> list[dict[str, Any]]:
        found = [e.data for e in self.bus.recent([protocol.TOPIC_GUARD])]
        return [e for e in found if e["action"] == action]
