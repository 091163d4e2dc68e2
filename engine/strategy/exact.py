"""The exact optimum of one cycle: the integer input that maximises exact profit, provably.

Profit is `out(x) - x - flash_fee(x)`. Every hop floors, so `out` is a non-decreasing step
function while the cost rises strictly: an input that is not the smallest of its output
step is beaten by the one just below it, and since the rest of the route sees the input
only through any intermediate amount y_j, the same holds for the steps of every token j.
Only step starts can win, and the next or previous one is one exact inversion of the V2
formula away (`min_input`, `getAmountIn` without its `+ 1`).

The unfloored route is a Möbius map `out(x) <= F(x) = k x / (m + n x)` with integer k, m, n
(`relaxation`), so `P(x) = F(x) - c x` (c = 1 + flash fee rate) bounds the integer profit
from above and is concave; `anchor` is the last integer where it still rises. The walk
visits step starts of the coarsest token (`_Pivot`) in order of distance from the anchor
and stops a side once P, re-parametrised by that token's level and taken beyond the next
step start, cannot beat (or tie) the best found. So the answer is the maximiser nearest
the anchor, ties to the smaller input — always, not "near the float optimum".

Cost: one to a few steps when the floors are fine against the curve (most cycles); when
two intermediate tokens are both coarse (USDC and an 8-decimal token inside a WETH cycle)
the bound is loose by the unit of the non-pivot one and the walk can take thousands of
steps. The daemon passes `max_steps`; a walk cut short says so (`Optimum.proven`) and
bounds what it may have missed (`Optimum.ceiling`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import isqrt

from engine.market.amm import FEE_DENOMINATOR

# (reserve_in, reserve_out, fee_bps) for each hop of a cycle, in trade order.
Route = Sequence[tuple[int, int, int]]
Objective = Callable[[int], int]
# per hop: (reserve_in * FEE_DENOMINATOR, reserve_out, FEE_DENOMINATOR - fee_bps)
_Scaled = list[tuple[int, int, int]]


def flash_fee(amount_in: int, flash_fee_bps: int) -> int:
    """Fee owed to a flash lender, rounded up: lenders round in their own favour."""
    return -(-amount_in * flash_fee_bps // FEE_DENOMINATOR)


def _scaled(route: Route) -> _Scaled:
    return [(r_in * FEE_DENOMINATOR, r_out, FEE_DENOMINATOR - fee) for r_in, r_out, fee in route]


def _output(hops: _Scaled, amount_in: int) -> int:
    """`amm.get_amounts_out(...)[-1]` inlined; a zero amount just stays zero."""
    amount = amount_in
    for scaled_reserve_in, reserve_out, fee_factor in hops:
        with_fee = amount * fee_factor
        amount = with_fee * reserve_out // (scaled_reserve_in + with_fee)
    return amount


def min_input(hops: _Scaled, level: int) -> int | None:
    """Smallest input whose exact output is at least `level` (None: no input reaches it).

    One hop pays >= k for y iff f y (s - k) >= k R (f: fee factor, R: scaled reserve_in),
    so the least y is ceil(k R / (f (s - k))) — `getAmountIn` without its `+ 1`, which
    overshoots by one when the division is exact. Hops are monotone, so inverting them from
    the last to the first gives the least route input.
    """
    need = level
    for scaled_reserve_in, reserve_out, fee_factor in reversed(hops):
        if need <= 0:
            return 0
        if need >= reserve_out:
            return None
        need = -(-need * scaled_reserve_in // (fee_factor * (reserve_out - need)))
    return max(need, 0)


def profit_function(route: Route, flash_fee_bps: int = 0) -> Objective:
    """Exact `output - input - flash fee` for the route, with per-hop constants hoisted."""
    hops = _scaled(route)
    if flash_fee_bps == 0:
        return lambda amount_in: _output(hops, amount_in) - amount_in
    return lambda x: _output(hops, x) - x - flash_fee(x, flash_fee_bps)


def relaxation(route: Route) -> tuple[int, int, int]:
    """(k, m, n) with the unfloored route output equal to k x / (m + n x), all integers.

    A hop maps y to f s y / (R + f y); composing it after k x / (m + n x) gives
    f s k x / (R m + (R n + f k) x).
    """
    kmn = (1, 1, 0)
    for hop in _scaled(route):
        kmn = _then(kmn, hop)
    return kmn


def _then(kmn: tuple[int, int, int], hop: tuple[int, int, int]) -> tuple[int, int, int]:
    k, m, n = kmn
    scaled_reserve_in, reserve_out, fee_factor = hop
    return (
        fee_factor * reserve_out * k,
        scaled_reserve_in * m,
        scaled_reserve_in * n + fee_factor * k,
    )


def anchor(route: Route, flash_fee_bps: int = 0) -> int:
    """Largest integer x >= -1 with P'(x) >= 0, i.e. k m D >= (D + φ)(m + n x)² (-1: none).

    P' = k m / (m + n x)² - (D + φ) / D falls with x, so P rises up to the anchor and falls
    from anchor + 1 on.
    """
    k, m, n = relaxation(route)
    root = isqrt(k * m * FEE_DENOMINATOR // (FEE_DENOMINATOR + flash_fee_bps))
    if root < m or n == 0:
        return -1
    return (root - m) // n


class _Pivot:
    """The walk's view of the route through one token j of it (0: input, hops: output).

    Every maximiser is the smallest input of its step of token j too (the rest of the route
    sees x only through y_j), so the walk steps on j's levels; choosing the coarsest token
    makes the bound tightest. With y_j <= F_b(x) and out <= F_a(y_j) (the unfloored hops
    before and after j), the profit at any input reaching level L is at most
    G(L) = F_a(L) - c F_b⁻¹(L) = P(F_b⁻¹(L)): P re-parametrised, concave, rising while
    F_b⁻¹(L) <= anchor and falling from anchor + 1.
    """

    __slots__ = ("after", "before", "cost", "falls_from", "head", "hops", "rises_to", "top")

    def __init__(self, route: Route, flash_fee_bps: int, j: int, centre: int) -> None:
        self.hops = _scaled(route)
        self.head = self.hops[:j]
        self.before, self.after = relaxation(route[:j]), relaxation(route[j:])
        self.cost = FEE_DENOMINATOR + flash_fee_bps
        k, m, n = self.before
        # L <= F_b(anchor): G still rises; L >= F_b(anchor + 1): G falls. No anchor: G falls.
        self.rises_to = (k * centre, m + n * centre) if centre >= 0 else (-1, 1)
        self.falls_from = (k * (centre + 1), m + n * (centre + 1))
        self.top = _peak_bound(route, flash_fee_bps, centre)

    def level(self, x: int) -> int:
        return _output(self.head, x)

    def start(self, level: int) -> int | None:
        """Smallest input reaching `level` of token j."""
        return min_input(self.head, level)

    def left_bound(self, level: int) -> int:
        """Most any input whose token-j level is <= `level` can earn."""
        num, den = self.rises_to
        return self._g(level) if level * den <= num else self.top

    def right_bound(self, level: int) -> int:
        """Most any input whose token-j level is >= `level` can earn."""
        num, den = self.falls_from
        return self._g(level) if level * den >= num else self.top

    def _g(self, level: int) -> int:
        k1, m1, n1 = self.before
        k2, m2, n2 = self.after
        room = k1 - n1 * level  # F_b never reaches k1 / n1
        if room <= 0:
            return -(1 << 512)
        after = m2 + n2 * level
        numerator = k2 * level * FEE_DENOMINATOR * room - self.cost * m1 * level * after
        return numerator // (FEE_DENOMINATOR * after * room)


def _peak_bound(route: Route, flash_fee_bps: int, centre: int) -> int:
    """floor of max P over x >= 0: the tangent at the anchor, P(a) + P'(a) (0 if P falls)."""
    if centre < 0:
        return 0
    k, m, n = relaxation(route)
    d, c = FEE_DENOMINATOR, FEE_DENOMINATOR + flash_fee_bps
    den = m + n * centre
    # k a / den + k m / den² - c (a + 1) / d over the common denominator den² d
    numerator = (k * centre * den + k * m) * d - c * (centre + 1) * den * den
    return numerator // (den * den * d)


def _coarsest(route: Route, centre: int) -> int:
    """Token whose unit is worth most at the anchor: least d y_j / dx = k m / (m + n a)²."""
    a = max(centre, 0)
    best_j, best = 0, (1, 1)  # the input itself: slope 1
    k, m, n = 1, 1, 0
    for j, (scaled_reserve_in, reserve_out, fee_factor) in enumerate(_scaled(route), 1):
        k, m, n = (
            fee_factor * reserve_out * k,
            scaled_reserve_in * m,
            scaled_reserve_in * n + fee_factor * k,
        )
        slope = (k * m, (m + n * a) ** 2)
        if slope[0] * best[1] <= best[0] * slope[1]:  # ties: the later token (fewer steps)
            best_j, best = j, slope
    return best_j


@dataclass(frozen=True, slots=True)
class Optimum:
    """The walk's answer. When `max_steps` cut it short, `ceiling` is the most any input it
    did not visit could earn (a proven bound, so the shortfall is at most ceiling - profit).
    """

    amount_in: int
    profit: int
    proven: bool
    steps: int  # step starts evaluated
    ceiling: int  # == profit when proven


def optimal_input(
    route: Route, flash_fee_bps: int = 0, max_amount_in: int | None = None
) -> tuple[int, int]:
    """(input, exact profit after flash fee) maximising the profit over 1..max_amount_in.

    Among equal profits the input nearest the anchor wins, then the smaller one. Every
    reserve must be positive. Unbudgeted: always the proven optimum.
    """
    found = walk(route, flash_fee_bps, max_amount_in)
    return found.amount_in, found.profit


def walk(
    route: Route,
    flash_fee_bps: int = 0,
    max_amount_in: int | None = None,
    max_steps: int | None = None,
) -> Optimum:
    """Step starts outward from the anchor until both sides are bounded (or the budget ends)."""
    hi = None if max_amount_in is None else max(1, max_amount_in)
    peak = anchor(route, flash_fee_bps)
    pivot = _Pivot(route, flash_fee_bps, _coarsest(route, peak), peak)
    hops = pivot.hops
    centre = max(1, peak) if hi is None else min(max(1, peak), hi)
    level = pivot.level(centre)
    left: int | None = max(1, pivot.start(level) or 0)
    right = _within(pivot.start(level + 1), hi)
    best_x, best, steps = 0, 0, 0
    while left is not None or right is not None:
        if max_steps is not None and steps >= max_steps:
            return _cut_short(pivot, best_x, best, steps, left, right)
        go_left = right is None or (left is not None and centre - left <= right - centre)
        x = left if go_left else right
        assert x is not None
        level = pivot.level(x)
        bound = pivot.left_bound(level) if go_left else pivot.right_bound(level)
        if best_x and bound <= best:
            left, right = (None, right) if go_left else (left, None)
            continue
        steps += 1
        value = _output(hops, x) - x - flash_fee(x, flash_fee_bps)
        if not best_x or value > best:
            best_x, best = x, value
        if go_left:
            left = None if x == 1 else max(1, pivot.start(pivot.level(x - 1)) or 0)
        else:
            right = _within(pivot.start(level + 1), hi)
    return Optimum(best_x, best, True, steps, best)


def _cut_short(
    pivot: _Pivot, best_x: int, best: int, steps: int, left: int | None, right: int | None
) -> Optimum:
    ceiling = best
    if left is not None:
        ceiling = max(ceiling, pivot.left_bound(pivot.level(left)))
    if right is not None:
        ceiling = max(ceiling, pivot.right_bound(pivot.level(right)))
    return Optimum(best_x, best, ceiling <= best, steps, ceiling)


def _within(x: int | None, hi: int | None) -> int | None:
    return None if x is None or (hi is not None and x > hi) else x
