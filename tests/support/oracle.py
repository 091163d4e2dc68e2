"""An independent greedy arbitrage oracle, in exact integers, for the scenario suites.

Deliberately shares no code with the engine (not `engine.market.amm`, not
`engine.strategy.exact`, not the cycle table): its own constant-product formula, its own
cycle enumeration, its own optimiser. What it computes is what a greedy searcher takes
from a market: over and over, the cycle (from any base token on it) whose best exact net
value is highest, traded at its best integer input, its effect applied to the reserves,
until no cycle nets anything. It ranks cycles as a searcher in the market sees
them: profit and gas valued at the market's mid prices at that moment (`mid_prices`: the
deepest pool to the quote token, or through the native token). What it takes is then
valued in the quote token's base units at fixed reference prices (the same ones the
tests value the engine's realised trades with). Gas is what the engine's own receipts
say the route shape used, at the price it paid: so the oracle does not depend on the
engine's gas model.

The optimiser: exact profit (every hop floors) is unimodal up to the floors' wobble, so
an integer ternary search narrows the range to a few thousand inputs, which are then
all tried (brute force), and so is a window around the winner.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

DENOMINATOR = 10_000
SCAN = 512  # inputs tried one by one once the ternary search is this narrow


@dataclass(slots=True)
class OPool:
    address: str
    token0: str
    token1: str
    reserve0: int
    reserve1: int
    fee_bps: int


# One leg: (pool address, the token sold into it).
Leg = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Take:
    route: tuple[Leg, ...]
    token: str
    amount_in: int
    gross: int  # token base units
    net_quote: Fraction  # gross valued at the reference prices, less gas
    seen_net: Fraction  # the same at the market's mid prices when it is taken


@dataclass
class Oracle:
    pools: dict[str, OPool]
    bases: Sequence[str]
    price: Mapping[str, Fraction]  # quote base units per base unit of each token
    gas_units: Callable[[int], Fraction]  # hops -> gas cost of one trade, in native units
    native: str
    quote: str
    max_hops: int = 3
    # most input a trade may take, given its route and the reserves (e.g. a price-impact limit)
    cap: Callable[[tuple[Leg, ...], list[tuple[int, int, int]]], int | None] | None = None
    min_net: Fraction = Fraction(0)  # a take must net at least this (the guards' floor)
    takes: list[Take] = field(default_factory=list)

    def run(self, rounds: int = 500) -> Fraction:
        """Take greedily until nothing nets a profit; returns the total net in quote."""
        routes = self.routes()
        for _ in range(rounds):
            seen = mid_prices(self.pools, self.native, self.quote)
            best = max((self.best(r, seen) for r in routes), key=_seen, default=None)
            if best is None or best.seen_net <= 0 or best.seen_net < self.min_net:
                break
            self.apply(best)
            self.takes.append(best)
        return sum((t.net_quote for t in self.takes), Fraction(0))

    # --- cycles ----------------------------------------------------------------------
    def routes(self) -> list[tuple[Leg, ...]]:
        """Every cycle of 2 pools (same pair) or 3 pairs, from every base token on it."""
        found: set[tuple[Leg, ...]] = set()
        for base in self.bases:
            for first in self._legs_from(base):
                self._extend(base, [first], found)
        return sorted(found)

    def _legs_from(self, token: str) -> list[Leg]:
        return [(p.address, token) for p in self.pools.values() if token in (p.token0, p.token1)]

    def _extend(self, base: str, legs: list[Leg], found: set[tuple[Leg, ...]]) -> None:
        here = self._out_token(legs[-1])
        used = {pool for pool, _ in legs}
        if here == base and len(legs) >= 2:
            found.add(tuple(legs))
            return
        if len(legs) >= self.max_hops:
            return
        for leg in self._legs_from(here):
            if leg[0] in used:
                continue
            out = self._out_token(leg)
            visited = {token for _, token in legs}
            if out != base and out in visited:
                continue
            self._extend(base, [*legs, leg], found)

    def _out_token(self, leg: Leg) -> str:
        pool = self.pools[leg[0]]
        return pool.token1 if leg[1] == pool.token0 else pool.token0

    # --- pricing ---------------------------------------------------------------------
    def path(self, route: tuple[Leg, ...]) -> list[tuple[int, int, int]]:
        out = []
        for address, token_in in route:
            pool = self.pools[address]
            if token_in == pool.token0:
                out.append((pool.reserve0, pool.reserve1, pool.fee_bps))
            else:
                out.append((pool.reserve1, pool.reserve0, pool.fee_bps))
        return out

    def best(self, route: tuple[Leg, ...], seen: Mapping[str, Fraction]) -> Take:
        token = route[0][1]
        path = self.path(route)
        hi = path[0][0]  # no sane optimum sells more than the first pool holds
        if self.cap is not None:
            limit = self.cap(route, path)
            hi = min(hi, limit) if limit is not None else hi
        x, gross = optimum(path, max(hi, 1))
        gas = self.gas_units(len(route))
        net = gross * self.price[token] - gas * self.price[self.native]
        seen_net = gross * seen.get(token, Fraction(0)) - gas * seen[self.native]
        return Take(route, token, x, gross, net, seen_net)

    def apply(self, take: Take) -> None:
        amount = take.amount_in
        for address, token_in in take.route:
            pool = self.pools[address]
            r_in, r_out = (
                (pool.reserve0, pool.reserve1)
                if token_in == pool.token0
                else (pool.reserve1, pool.reserve0)
            )
            out = swap_out(amount, r_in, r_out, pool.fee_bps)
            if token_in == pool.token0:
                pool.reserve0, pool.reserve1 = r_in + amount, r_out - out
            else:
                pool.reserve1, pool.reserve0 = r_in + amount, r_out - out
            amount = out


def swap_out(amount: int, reserve_in: int, reserve_out: int, fee_bps: int) -> int:
    """Constant product with the fee taken from the input, floored (what a V2 pair pays)."""
    if amount <= 0:
        return 0
    kept = amount * (DENOMINATOR - fee_bps)
    return kept * reserve_out // (reserve_in * DENOMINATOR + kept)


def profit(path: list[tuple[int, int, int]], x: int) -> int:
    amount = x
    for reserve_in, reserve_out, fee in path:
        amount = swap_out(amount, reserve_in, reserve_out, fee)
    return amount - x


def optimum(path: list[tuple[int, int, int]], hi: int) -> tuple[int, int]:
    """(input, profit) maximising exact profit over 1..hi: ternary search, then brute force."""
    lo = 1
    while hi - lo > SCAN:
        third = (hi - lo) // 3
        a, b = lo + third, hi - third
        if profit(path, a) < profit(path, b):
            lo = a
        else:
            hi = b
    best = max(range(lo, hi + 1), key=lambda x: (profit(path, x), -x))
    around = range(max(1, best - SCAN), best + SCAN + 1)
    best = max(around, key=lambda x: (profit(path, x), -x))
    return best, profit(path, best)


def _seen(take: Take) -> Fraction:
    return take.seen_net


def mid_prices(pools: Mapping[str, OPool], native: str, quote: str) -> dict[str, Fraction]:
    """Quote per unit of each token at mid price: its deepest pool with the quote token,
    or its deepest with the native token times the native token's price."""
    direct = _deepest(pools, quote)
    prices = {quote: Fraction(1), **direct}
    via = _deepest(pools, native)
    for token, in_native in via.items():
        if token not in prices and native in prices:
            prices[token] = in_native * prices[native]
    return prices


def _deepest(pools: Mapping[str, OPool], hub: str) -> dict[str, Fraction]:
    best: dict[str, tuple[int, Fraction]] = {}
    for pool in pools.values():
        if hub not in (pool.token0, pool.token1):
            continue
        token, mine, theirs = (
            (pool.token1, pool.reserve1, pool.reserve0)
            if pool.token0 == hub
            else (pool.token0, pool.reserve0, pool.reserve1)
        )
        if mine > 0 and (token not in best or mine > best[token][0]):
            best[token] = (mine, Fraction(theirs, mine))
    return {token: price for token, (_, price) in best.items()}
