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
    reserve_src, reserve_dst = pool.reserves_for(src)
    return Rate(reserve_dst, reserve_src)
