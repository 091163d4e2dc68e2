"""Plain values for guard tests: a small market, opportunities, trades, a steppable clock.

Everything here is a real engine type built by hand, so a test states exactly the
numbers a rule sees.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from engine.ledger.records import TradeRecord, TradeStatus
from engine.market.model import Block, Market, Pool, Token
from engine.strategy.opportunity import Hop, Opportunity

WETH, USDC = "0xweth", "0xusdc"
GWEI = 10**9
USD = 10**6  # USDC base units per dollar


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def market() -> Market:
    """WETH at 3000 USDC in a deep pool and 3030 in a shallow one (0.3 % fee each)."""
    m = Market(native=WETH, quote=USDC)
    m.add_token(Token(WETH, "WETH", 18))
    m.add_token(Token(USDC, "USDC", 6))
    m.add_pool(Pool("uni", "0xdeep", WETH, USDC, 1000 * 10**18, 3_000_000 * USD))
    m.add_pool(Pool("sushi", "0xshallow", WETH, USDC, 100 * 10**18, 303_000 * USD))
    return m


def opportunity(**overrides: Any) -> Opportunity:
    """USDC → WETH (deep) → USDC (shallow), 3000 USDC in; change what a test is about."""
    base = Opportunity(
        id="42-test",
        block_number=42,
        route=(Hop("0xdeep", USDC, WETH), Hop("0xshallow", WETH, USDC)),
        token=USDC,
        amount_in=3000 * USD,
        amount_out=3010 * USD,
        gross_profit=10 * USD,
        gas_units=130_000,
        gas_price=20 * GWEI,
        gas_cost=8 * USD,
        flash_fee=0,
        net_profit=2 * USD,
        net_profit_quote=2 * USD,
        detected_at=0.0,
    )
    return dataclasses.replace(base, **overrides)


def trade(
    status: TradeStatus = "success",
    profit_quote: int = USD,
    opportunity_id: str = "42-test",
    trade_id: str = "t-1",
    revert_reason: str = "",
    block_number: int = 43,
    at: float = 0.0,
) -> TradeRecord:
    return TradeRecord(
        id=trade_id,
        opportunity_id=opportunity_id,
        venue="sim",
        route=[],
        token=USDC,
        token_symbol="USDC",
        amount_in=3000 * USD,
        amount_out=0,
        status=status,
        revert_reason=revert_reason,
        gas_used=100_000,
        gas_price=20 * GWEI,
        gas_cost_wei=2 * 10**15,
        flash_fee=0,
        profit_token=profit_quote,
        profit_native=0,
        profit_quote=profit_quote,
        expected_profit=2 * USD,
        block_number=block_number,
        tx_hash="0x" + "ab" * 32,
        detected_at=at,
        submitted_at=at,
        mined_at=at,
    )


def block(number: int = 42, timestamp: float = 0.0) -> Block:
    return Block(number=number, timestamp=timestamp, base_fee=20 * GWEI)
