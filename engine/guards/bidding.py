"""Bidding: the priority fee as a share of the expected profit, capped by the gas guard.

Rival searchers race for the same dislocation, and the block orders them by priority fee.
So an opportunity bids a configured share (`strategy.priority_fee_share_bps`) of what it
expects to make: with E the exact net profit before any priority fee (gross profit less
flash fee less its gas at the base fee), valued in the native token, and G its gas units
(the gas model's estimate for the route's shape),

    priority fee per gas = E × share_bps // (10_000 × G)          (integers, rounded down)

so the bid costs at most `share` of E and the trade keeps the rest. It is capped so the
gas price never exceeds the max-gas-price guard's threshold (priority fee ≤ max − base fee;
the guard's own rule, when it is enabled), and it is never below the venue's own tip (the
price the search charged and what inclusion needs). A floor above the cap wins: the guard
then judges that price with its headroom, as before.

The opportunity is re-priced at base fee + bid with the search's arithmetic (gas rounded
up in the start token, profit rounded down in quote), so every seat after this one, the
minimum-profit rule first, judges the net profit that is left after the bid. At the price
the search charged (a share of 0 bids the venue's tip: what the engine paid before bidding
existed) the search's numbers stand unchanged.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from engine.strategy.opportunity import Opportunity
from engine.strategy.pricing import PriceGraph

BPS = 10_000


@dataclass(frozen=True, slots=True)
class Fees:
    """The next block's base fee and the venue's own tip, wei per gas."""

    base_fee: int
    tip: int


def share_bid(profit_native: int, gas_units: int, share_bps: int) -> int:
    """`share_bps` of the expected profit, per gas unit, rounded down; 0 without profit."""
    if profit_native <= 0 or gas_units <= 0 or share_bps <= 0:
        return 0
    return profit_native * share_bps // (BPS * gas_units)


def priority_fee(
    profit_native: int, gas_units: int, share_bps: int, fees: Fees, max_gas_price: int | None
) -> int:
    """The bid per gas: the share, capped at `max_gas_price - base fee` (None: no cap),
    never below the venue's tip."""
    bid = share_bid(profit_native, gas_units, share_bps)
    if max_gas_price is not None:
        bid = min(bid, max(0, max_gas_price - fees.base_fee))
    return max(fees.tip, bid)


def with_bid(
    opportunity: Opportunity,
    fees: Fees,
    share_bps: int,
    max_gas_price: int | None,
    prices: PriceGraph,
    native: str,
    quote: str,
) -> Opportunity | None:
    """The opportunity re-priced at base fee + its bid; None if its token cannot be
    priced against the native token or the quote (it then goes on as the search left it)."""
    token = opportunity.token
    to_token = prices.rate(native, token)
    to_native = prices.rate(token, native)
    to_quote = prices.rate(token, quote)
    if to_token is None or to_native is None or to_quote is None:
        return None
    units = opportunity.gas_units
    before_tip = opportunity.gross_profit - opportunity.flash_fee
    expected = before_tip - to_token.up(units * fees.base_fee)
    tip = priority_fee(to_native.down(expected), units, share_bps, fees, max_gas_price)
    gas_price = fees.base_fee + tip
    if gas_price == opportunity.gas_price:  # the price the search charged: its numbers stand
        return dataclasses.replace(opportunity, priority_fee=tip)
    gas_cost = to_token.up(units * gas_price)
    net = before_tip - gas_cost
    return dataclasses.replace(
        opportunity,
        gas_price=gas_price,
        gas_cost=gas_cost,
        net_profit=net,
        net_profit_quote=to_quote.down(net),
        priority_fee=tip,
    )
