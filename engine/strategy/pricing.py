"""Converting amounts between tokens at pool mid prices: gas into the cycle's token, profit
into the quote currency.

A rate is kept as an exact fraction of reserves so costs and profits stay integers; the
float form only feeds the vectorised pre-filter. Costs round up and profits round down, so
rounding can only make an opportunity look worse than it is, never better.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine.market.model import Pool


@dataclass(frozen=True, slots=True)
class Rate:
    """`amount_in_dst = amount_in_src * num / den`, at the mid price of one or two pools."""

    num: int
    den: int

    def down(self, amount: int) -> int:
        return amount * self.num // self.den

    def up(self, amount: int) -> int:
        return -(-amount * self.num // self.den)

    def as_float(self) -> float:
        return self.num / self.den  # int/int true division is correctly rounded at any size

    def then(self, other: Rate) -> Rate:
        return Rate(self.num * other.num, self.den * other.den)


IDENTITY = Rate(1, 1)


class PriceGraph:
    """Finds the deepest direct pool (or a two-step path through a hub token) between
    two tokens and prices along it with the pools' live reserves.

    Depth of a path is measured in the source token (its reserve in the first pool, and the
    second pool's reserve translated back at the first pool's price) so direct and two-step
    paths are compared in the same unit.
    """

    def __init__(self, pools: Iterable[Pool], hubs: Sequence[str]) -> None:
        """`hubs` are the tokens a two-step path may go through (base, native, quote)."""
        self._pairs: dict[frozenset[str], list[Pool]] = defaultdict(list)
        for pool in pools:
            if pool.token0 != pool.token1:
                self._pairs[frozenset((pool.token0, pool.token1))].append(pool)
        self._hubs = tuple(dict.fromkeys(hubs))

    def rate(self, src: str, dst: str) -> Rate | None:
        """Mid-price rate src -> dst, or None when no live path exists."""
        if src == dst:
            return IDENTITY
        direct = self._deepest(src, dst)
        if direct is not None:
            return _pool_rate(direct, src)
        return self._via_base(src, dst)

    def _deepest(self, src: str, dst: str) -> Pool | None:
        live = [p for p in self._pairs.get(frozenset((src, dst)), ()) if _is_live(p)]
        if not live:
            return None
        return max(live, key=lambda p: p.reserves_for(src)[0])

    def _via_base(self, src: str, dst: str) -> Rate | None:
        best: tuple[float, Rate] | None = None
        for base in self._hubs:
            if base in (src, dst):
                continue
            first, second = self._deepest(src, base), self._deepest(base, dst)
            if first is None or second is None:
                continue
            src_depth, base_depth = first.reserves_for(src)
            second_depth = second.reserves_for(base)[0] * src_depth / base_depth
            depth = min(float(src_depth), second_depth)
            if best is None or depth > best[0]:
                best = (depth, _pool_rate(first, src).then(_pool_rate(second, base)))
        return None if best is None else best[1]


def _is_live(pool: Pool) -> bool:
    return pool.reserve0 > 0 and pool.reserve1 > 0


def _pool_rate(pool: Pool, src: str) -> Rate:
    if pool.v3 is not None:  # a V3 pool's balances are no price; its sqrtPriceX96 is
        price, q192 = pool.v3.sqrt_price_x96**2, 1 << 192
        return Rate(price, q192) if src == pool.token0 else Rate(q192, price)
    reserve_src, reserve_dst = pool.reserves_for(src)
    return Rate(reserve_dst, reserve_src)


@dataclass(frozen=True, slots=True)
class BlockCosts:
    """This block's gas price in each start token, and each start token's quote rate.

    Indexed by start-token index (the cycle table's `token` column), so the pre-filter
    prices a whole candidate array with one gather; gas per cycle is its shape's gas units
    times `gas_per_unit_float[token]`. `nan` marks what cannot be priced.
    """

    gas_price: int  # wei per gas
    gas_rate: list[Rate | None]  # by token index: native -> token (None: no price path)
    gas_per_unit_float: npt.NDArray[np.float64]  # by token index: token units per gas unit
    to_quote: list[Rate | None]  # by token index
    to_quote_float: npt.NDArray[np.float64]  # by token index

    def gas_cost(self, token_index: int, units: int) -> int | None:
        """`units` gas at this block's price, in the start token's base units, rounded up."""
        rate = self.gas_rate[token_index]
        return None if rate is None else rate.up(units * self.gas_price)


def block_costs(
    prices: PriceGraph,
    tokens: Sequence[str],
    native: str,
    quote: str,
    gas_price: int,
) -> BlockCosts:
    """Price gas and quote value for each start token at the pools' current mid prices."""
    n = max(len(tokens), 1)
    gas_rates: list[Rate | None] = []
    gas_float = np.full(n, np.nan)
    quote_float = np.full(n, np.nan)
    to_quote: list[Rate | None] = []
    for i, token in enumerate(tokens):
        to_token = _gas_rate(prices, native, token, gas_price)
        gas_rates.append(to_token)
        if to_token is not None:
            gas_float[i] = gas_price * to_token.as_float()
        rate = prices.rate(token, quote) if quote else None
        to_quote.append(rate)
        if rate is not None:
            quote_float[i] = rate.as_float()
    return BlockCosts(gas_price, gas_rates, gas_float, to_quote, quote_float)


def _gas_rate(prices: PriceGraph, native: str, token: str, gas_price: int) -> Rate | None:
    """native -> token rate; gas that costs nothing needs no price (nor a native token)."""
    if gas_price == 0:
        return Rate(0, 1)
    if not native:
        return None
    return prices.rate(native, token)
