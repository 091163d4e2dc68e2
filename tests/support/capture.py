"""Scoring a scenario: the engine's realised net against the independent oracle's.

Both are valued the same way, in quote base units at fixed reference prices: a trade's
token delta (what the ledger booked, which the tests check against the chain) at the
token's reference price, less its gas at the native token's. The oracle is told the same
per-trade limits the engine's guards apply (minimum net profit, notional, price impact),
computed with its own arithmetic, and charges the gas the engine's receipts say each route
shape used, at the gas price the engine paid.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from engine.ledger.records import TradeRecord
from tests.support.oracle import DENOMINATOR, Leg, OPool, Oracle, swap_out

# gas used per route length when the engine made no trade of that shape in a scenario
# (the devnet's measured range, issue 13: 164k–184k for 2 hops, 213k–255k for 3)
FALLBACK_GAS = {2: 184_000, 3: 255_000}


@dataclass(frozen=True, slots=True)
class Limits:
    """The guards' per-trade limits, in the units the oracle uses."""

    min_net_quote: int  # quote base units
    max_notional_quote: int  # quote base units
    max_price_impact_bps: int


@dataclass(frozen=True, slots=True)
class Capture:
    scenario: str
    oracle: Fraction
    engine: Fraction
    trades: int
    oracle_takes: int

    @property
    def ratio(self) -> float:
        if self.oracle <= 0:
            return 1.0 if self.engine >= 0 else 0.0
        return float(self.engine / self.oracle)

    def row(self, decimals: int) -> str:
        unit = Fraction(10**decimals)
        return (
            f"CAPTURE | {self.scenario} | {float(self.oracle / unit):,.2f} | "
            f"{float(self.engine / unit):,.2f} | {self.ratio:.2%} | "
            f"{self.oracle_takes} | {self.trades} |"
        )


def trade_net(trade: TradeRecord, price: Mapping[str, Fraction], native: str) -> Fraction:
    return trade.profit_token * price[trade.token] - trade.gas_cost_wei * price[native]


def realised(trades: Sequence[TradeRecord], price: Mapping[str, Fraction], native: str) -> Fraction:
    return sum((trade_net(t, price, native) for t in trades), Fraction(0))


def gas_model(trades: Sequence[TradeRecord], gas_price: int) -> Callable[[int], Fraction]:
    """hops -> gas cost in wei: mean gas used by the engine's trades of that length (the
    fallback if none), at the mean gas price they paid (`gas_price` if none)."""
    used: dict[int, list[int]] = defaultdict(list)
    for trade in trades:
        if trade.gas_used:
            used[len(trade.route)].append(trade.gas_used)
    paid = [t.gas_price for t in trades if t.gas_price]
    wei = Fraction(sum(paid), len(paid)) if paid else Fraction(gas_price)

    def cost(hops: int) -> Fraction:
        units = used.get(hops)
        gas = Fraction(sum(units), len(units)) if units else Fraction(FALLBACK_GAS[hops])
        return gas * wei

    return cost


def impact_bps(path: list[tuple[int, int, int]], x: int) -> int:
    """1 - actual/ideal output in bps, rounded up (ideal: mid price less fee at every hop)."""
    num, den, amount = x, 1, x
    for reserve_in, reserve_out, fee in path:
        num *= reserve_out * (DENOMINATOR - fee)
        den *= reserve_in * DENOMINATOR
        amount = swap_out(amount, reserve_in, reserve_out, fee)
    lost = (num - amount * den) * DENOMINATOR
    return max(0, -(-lost // num))


def limited(
    limits: Limits, price: Mapping[str, Fraction]
) -> Callable[[tuple[Leg, ...], list[tuple[int, int, int]]], int | None]:
    """The largest input a trade may take under the notional and price-impact limits."""

    def cap(route: tuple[Leg, ...], path: list[tuple[int, int, int]]) -> int | None:
        token = route[0][1]
        hi = int(limits.max_notional_quote / price[token])
        if impact_bps(path, hi) <= limits.max_price_impact_bps:
            return hi
        lo = 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if impact_bps(path, mid) <= limits.max_price_impact_bps:
                lo = mid
            else:
                hi = mid
        return lo

    return cap


def greedy_oracle(
    pools: Sequence[OPool],
    bases: Sequence[str],
    price: Mapping[str, Fraction],
    gas_wei: Callable[[int], Fraction],
    limits: Limits,
    native: str,
    quote: str,
) -> Oracle:
    return Oracle(
        {p.address: p for p in pools},
        bases,
        price,
        gas_wei,
        native,
        quote,
        cap=limited(limits, price),
        min_net=Fraction(limits.min_net_quote),
    )
