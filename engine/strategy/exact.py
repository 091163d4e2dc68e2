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
visits step starts of the coarsest token j (the pivot: the fewest units at the anchor;
any token would be correct, the coarsest gives the tightest bound) in order of distance from the
anchor and stops a side once P, re-parametrised by the pivot's level L and taken beyond
the next level, cannot beat (or tie) the best found: G(L) = F_a(L) - c F_b⁻¹(L), the
unfloored hops after and before the pivot. So the answer is the maximiser nearest the
anchor, ties to the smaller input — always, not "near the float optimum".

**Jumps.** G is exact about the pivot's own floor but not about the others, so when a
second token J next to the pivot is coarse too (USDC and an 8-decimal token inside a WETH
cycle) G is loose by up to one unit of J and the levels where G still beats the best can
number 10⁵. A jump skips the levels that cannot win because of J's rounding:

- J after the pivot (y_J = floor(g(L)), g the hop between them): with F_r the unfloored
  hops after J (concave), every input at level L earns at most
  G(L) - F_r'(g(L)) · frac(g(L)).
- J before the pivot (the least y_J reaching L is ceil(h(L)), h the unfloored inverse of
  that hop): with H_r the unfloored inverse of the hops before J (convex), at most
  G(L) - c H_r'(h(L)) · (ceil(h(L)) - h(L)).

Either way, with ψ = g or ψ = -h (both concave in L) and w the least weight over a
chunk of W levels outward from the side's next level (F_r' falls and H_r' rises with L,
so it is read at the chunk's far or near end), a level of the chunk can beat `best` only
if frac(ψ(L)) <= ε = (max G - best - 1) / w, max G being G at the chunk's near end (G
falls outward) or the peak bound. Over the chunk ψ lies within Δ = W² max|ψ''|/8 above
its chord (chunks are cut so that Δ stays about ε), so with ψ in fixed point (M = 2^k)
the chord's values `B + S t mod M` must fall in one short cyclic interval widened by
every rounding of the fixed point; the least such t is one Euclid-like recursion
(`_first_hit`). Every skipped level fails a necessary
condition for beating the best, and lies farther from the anchor than any input already
evaluated, so it could not even win a tie: the answer is unchanged, only found in a few
evaluations instead of thousands. When the filter would not be selective (ε >= 1/4, a
short window) the walk just steps.

Cost: one evaluation when the floors are fine against the curve (most cycles: the first
step, the centre's step start or its right neighbour's when that is nearer, is inlined
with the set-up, `_quick`; the full walk's pivot and jumper are built only past it, and
its bounds are compared without their divisions); jumps keep the rest to tens (p99 37,
at most 290 evaluations on the 10k-pool benchmark market, where the walk without jumps
needed up to 144,586).
`walk` still takes a `max_steps` safety budget: a walk cut short says so
(`Optimum.proven`) and bounds what it may have missed (`Optimum.ceiling`); the daemon's
budget (`SAFETY_STEPS`) is never reached on the benchmark markets, and the search counts
every walk that reaches it (`ArbitrageSearch.walks_cut_short`, the pipeline's
`walks_cut_short` counter).
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
_Kmn = tuple[int, int, int]
_D = FEE_DENOMINATOR
_NO_BOUND = -(1 << 512)
# Plain steps a side takes before it tries to jump (most walks end within them).
_PLAIN_STEPS = 2
# Jumps in a row that skip nothing before a side gives up jumping.
_IDLE_JUMPS = 8
# The daemon's safety budget of evaluations per walk. Jumps keep walks to tens of steps
# (at most a few hundred on the benchmark markets, docs/benchmarks.md); a walk that hits
# this is counted by the search (`ArbitrageSearch.walks_cut_short`), never silent.
SAFETY_STEPS = 4096


def flash_fee(amount_in: int, flash_fee_bps: int) -> int:
    """Fee owed to a flash lender, rounded up: lenders round in their own favour."""
    return -(-amount_in * flash_fee_bps // FEE_DENOMINATOR)


def _scaled(route: Route) -> _Scaled:
    return [(r_in * _D, r_out, _D - fee) for r_in, r_out, fee in route]


def _output(hops: _Scaled, amount_in: int) -> int:
    """`amm.get_amounts_out(...)[-1]` inlined; a zero amount just stays zero."""
    amount = amount_in
    for scaled_reserve_in, reserve_out, fee_factor in hops:
        with_fee = amount * fee_factor
        amount = with_fee * reserve_out // (scaled_reserve_in + with_fee)
    return amount


def output(route: Route, amount_in: int) -> int:
    """The route's exact output for `amount_in` (an intermediate that floors to zero just
    stays zero, where `amm.get_amounts_out` refuses it)."""
    return _output(_scaled(route), amount_in)


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
    return _compose(_scaled(route))


def _compose(hops: _Scaled) -> _Kmn:
    k, m, n = 1, 1, 0
    for scaled_reserve_in, reserve_out, fee_factor in hops:
        k, m, n = (
            fee_factor * reserve_out * k,
            scaled_reserve_in * m,
            scaled_reserve_in * n + fee_factor * k,
        )
    return k, m, n


def _anchor(kmn: _Kmn, cost: int) -> int:
    k, m, n = kmn
    root = isqrt(k * m * _D // cost)
    if root < m or n == 0:
        return -1
    return (root - m) // n


def anchor(route: Route, flash_fee_bps: int = 0) -> int:
    """Largest integer x >= -1 with P'(x) >= 0, i.e. k m D >= (D + φ)(m + n x)² (-1: none).

    P' = k m / (m + n x)² - (D + φ) / D falls with x, so P rises up to the anchor and falls
    from anchor + 1 on.
    """
    return _anchor(relaxation(route), _D + flash_fee_bps)


def _peak(kmn: _Kmn, cost: int, centre: int) -> int:
    """floor of max P over x >= 0: the tangent at the anchor, P(a) + P'(a) (0 if P falls)."""
    if centre < 0:
        return 0
    k, m, n = kmn
    den = m + n * centre
    # k a / den + k m / den² - c (a + 1) / d over the common denominator den² d
    numerator = (k * centre * den + k * m) * _D - cost * (centre + 1) * den * den
    return numerator // (den * den * _D)


def _peak_bound(route: Route, flash_fee_bps: int, centre: int) -> int:
    return _peak(relaxation(route), _D + flash_fee_bps, centre)


def _prefixes(hops: _Scaled) -> list[_Kmn]:
    """relaxation(route[:j]) for j = 0 .. len(route)."""
    k, m, n = 1, 1, 0
    out = [(k, m, n)]
    for scaled_reserve_in, reserve_out, fee_factor in hops:
        k, m, n = (
            fee_factor * reserve_out * k,
            scaled_reserve_in * m,
            scaled_reserve_in * n + fee_factor * k,
        )
        out.append((k, m, n))
    return out


def _coarsest_of(prefixes: list[_Kmn], centre: int, tokens: Sequence[int]) -> int:
    """Token whose unit is worth most at the anchor: least d y_j / dx = k m / (m + n a)².

    Ties go to the later token (fewer steps)."""
    a = max(centre, 0)
    best_j, best_num, best_den = -1, 0, 0
    for j in tokens:
        k, m, n = prefixes[j]
        num, den = k * m, (m + n * a) ** 2
        if best_j < 0 or num * best_den <= best_num * den:
            best_j, best_num, best_den = j, num, den
    return best_j


def _coarsest(route: Route, centre: int) -> int:
    return _coarsest_of(_prefixes(_scaled(route)), centre, range(len(route) + 1))


class _Pivot:
    """The walk's view of the route through one token j of it (0: input, hops: output).

    Every maximiser is the smallest input of its step of token j too (the rest of the route
    sees x only through y_j), so the walk steps on j's levels; choosing the coarsest token
    makes the bound tightest. With y_j <= F_b(x) and out <= F_a(y_j) (the unfloored hops
    before and after j), the profit at any input reaching level L is at most
    G(L) = F_a(L) - c F_b⁻¹(L) = P(F_b⁻¹(L)): P re-parametrised, concave, rising while
    F_b⁻¹(L) <= anchor and falling from anchor + 1.
    """

    __slots__ = (
        "after",
        "before",
        "cost",
        "falls_from",
        "head",
        "hops",
        "j",
        "peak",
        "prefixes",
        "rises_to",
        "top",
    )

    def __init__(self, route: Route, flash_fee_bps: int, j: int, centre: int) -> None:
        hops = _scaled(route)
        self._setup(hops, _prefixes(hops), _D + flash_fee_bps, j, centre)

    @classmethod
    def of(cls, hops: _Scaled, prefixes: list[_Kmn], cost: int, j: int, centre: int) -> _Pivot:
        pivot = cls.__new__(cls)
        pivot._setup(hops, prefixes, cost, j, centre)
        return pivot

    def _setup(self, hops: _Scaled, prefixes: list[_Kmn], cost: int, j: int, centre: int) -> None:
        self.hops, self.prefixes, self.j = hops, prefixes, j
        self.head = hops[:j]
        self.before, self.after = prefixes[j], _tail(hops, prefixes, j)
        self.cost = cost
        k, m, n = self.before
        # L <= F_b(anchor): G still rises; L >= F_b(anchor + 1): G falls. No anchor: G falls.
        self.rises_to = (k * centre, m + n * centre) if centre >= 0 else (-1, 1)
        self.falls_from = (k * (centre + 1), m + n * (centre + 1))
        self.peak = centre
        self.top: int | None = None  # `_peak`, when first needed (most walks never are)

    def level(self, x: int) -> int:
        return _output(self.head, x)

    def start(self, level: int) -> int | None:
        """Smallest input reaching `level` of token j."""
        return min_input(self.head, level)

    def peak_bound(self) -> int:
        """floor of max P over x >= 0 (`_peak`): what any level near the anchor may earn."""
        if self.top is None:
            self.top = _peak(self.prefixes[-1], self.cost, self.peak)
        return self.top

    def left_bound(self, level: int) -> int:
        """Most any input whose token-j level is <= `level` can earn."""
        num, den = self.rises_to
        return self._g(level) if level * den <= num else self.peak_bound()

    def right_bound(self, level: int) -> int:
        """Most any input whose token-j level is >= `level` can earn."""
        num, den = self.falls_from
        return self._g(level) if level * den >= num else self.peak_bound()

    def beats(self, level: int, direction: int, best: int) -> bool:
        """`bound(level, direction) > best`, G compared without its floor division:
        floor(a / b) > c iff a >= (c + 1) b for b > 0."""
        if direction > 0:
            num, den = self.falls_from
            beyond = level * den >= num
        else:
            num, den = self.rises_to
            beyond = level * den <= num
        if not beyond:
            return self.peak_bound() > best
        g = self._g_fraction(level)
        return g is not None and g[0] >= (best + 1) * g[1]

    def exact_bound(self, level: int, direction: int) -> tuple[int, int]:
        """The bound as a fraction (num, den > 0): G(level) itself or, near the peak, top + 1."""
        if direction > 0:
            num, den = self.falls_from
            beyond = level * den >= num
        else:
            num, den = self.rises_to
            beyond = level * den <= num
        g = self._g_fraction(level) if beyond else None
        return g if g is not None else (self.peak_bound() + 1, 1)

    def _g(self, level: int) -> int:
        g = self._g_fraction(level)
        return _NO_BOUND if g is None else g[0] // g[1]

    def _g_fraction(self, level: int) -> tuple[int, int] | None:
        k1, m1, n1 = self.before
        k2, m2, n2 = self.after
        room = k1 - n1 * level  # F_b never reaches k1 / n1
        if room <= 0:
            return None
        after = m2 + n2 * level
        numerator = k2 * level * _D * room - self.cost * m1 * level * after
        return numerator, _D * after * room


class _Jumper:
    """The rounding of a token J next to the pivot, which a jump filters on (module docstring).

    `after` (J = j + 1): ψ(L) = a L / (b + c L) = g(L), the hop's unfloored output
    (a = f s, b = R, c = f). Otherwise (J = j - 1): ψ(L) = -p L / (q - r L) = -h(L), minus
    the hop's unfloored inverse (p = R, q = f s, r = f). `rest` is the relaxation of the
    hops after J (after) or before J (before), which weighs J's rounding in output or
    input units.
    """

    __slots__ = ("after", "cost", "mobius", "rest")

    def __init__(self, after: bool, mobius: _Kmn, rest: _Kmn, cost: int) -> None:
        self.after, self.mobius, self.rest, self.cost = after, mobius, rest, cost

    @classmethod
    def choose(cls, pivot: _Pivot, amounts: list[int]) -> _Jumper:
        """The pivot's coarser neighbour (fewer units at the centre; ties: the later one).

        Not the route's output as a whole: at the optimum its slope against the input is
        about 1, so its fractional part hardly moves from one input to the next and filters
        nothing when the pivot is the input (or the output)."""
        j, hops, cost = pivot.j, pivot.hops, pivot.cost
        neighbours = [t for t in (j - 1, j + 1) if 0 <= t <= len(hops)]
        t = min(neighbours, key=lambda i: (amounts[i], -i))
        if t > j:
            r_in, r_out, fee = hops[j]
            return cls(True, (fee * r_out, r_in, fee), _tail(hops, pivot.prefixes, j + 1), cost)
        r_in, r_out, fee = hops[j - 1]
        return cls(False, (r_in, fee * r_out, fee), pivot.prefixes[j - 1], cost)

    def psi_fixed(self, level: int, scale: int) -> int:
        """floor(ψ(level) * scale)."""
        a, b, c = self.mobius
        if self.after:
            return a * level * scale // (b + c * level)
        return -a * level * scale // (b - c * level)

    def weight(self, low: int, high: int) -> tuple[int, int] | None:
        """Least weight of the rounding over levels low..high, as (num, den); None: none."""
        k, m, n = self.rest
        a, b, c = self.mobius
        if self.after:
            y = a * high // (b + c * high) + 1
            return k * m, (m + n * y) ** 2
        if b - c * low <= 0:
            return None
        y = a * low // (b - c * low)
        room = k - n * y
        if room <= 0:
            return None
        return self.cost * m * k, _D * room * room

    def curvature(self, low: int, high: int) -> tuple[int, int] | None:
        """An upper bound on |ψ''| over levels low..high, as (num, den); None: unbounded."""
        a, b, c = self.mobius
        if self.after:
            return 2 * a * b * c, (b + c * low) ** 3
        room = b - c * high
        if room <= 0:
            return None
        return 2 * a * b * c, room**3


def _least(a: int, m: int, lo: int, hi: int) -> int | None:
    """Least t >= 0 with lo <= a t mod m <= hi (0 <= lo <= hi < m, 0 <= a < m), or None.

    If no multiple of a lands in [lo, hi], a t - m y in [lo, hi] means m y mod a in
    [-hi mod a, -lo mod a], a non-wrapping interval: the same problem on (m mod a, a), and
    the least y gives the least t. Depth as Euclid's algorithm on (m, a).
    """
    if lo == 0:
        return 0
    if a == 0:
        return None
    t = -(-lo // a)
    if a * t <= hi:
        return t
    y = _least(m % a, a, -hi % a, -lo % a)
    if y is None:
        return None
    return -(-(lo + m * y) // a)


def _first_hit(slope: int, offset: int, modulus: int, length: int) -> int | None:
    """Least t >= 0 with (slope t + offset) mod modulus < length (0 < length < modulus)."""
    b = offset % modulus
    if b < length:
        return 0
    return _least(slope % modulus, modulus, modulus - b, modulus - b + length - 1)


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
    jumps: int = 0  # times a side skipped levels on a jumper's rounding


# Optimum's slots, set directly by `_proven` (its frozen __init__ goes through
# object.__setattr__ field by field: twice the cost, on every walk).
_OPTIMUM_SLOTS = tuple(
    getattr(Optimum, name).__set__
    for name in ("amount_in", "profit", "proven", "steps", "ceiling", "jumps")
)


def _proven(amount_in: int, profit: int, steps: int) -> Optimum:
    """`Optimum(amount_in, profit, True, steps, profit)`, built without its __init__."""
    found = Optimum.__new__(Optimum)
    set_amount, set_profit, set_proven, set_steps, set_ceiling, set_jumps = _OPTIMUM_SLOTS
    set_amount(found, amount_in)
    set_profit(found, profit)
    set_proven(found, True)
    set_steps(found, steps)
    set_ceiling(found, profit)
    set_jumps(found, 0)
    return found


def optimal_input(
    route: Route, flash_fee_bps: int = 0, max_amount_in: int | None = None
) -> tuple[int, int]:
    """(input, exact profit after flash fee) maximising the profit over 1..max_amount_in.

    Among equal profits the input nearest the anchor wins, then the smaller one. Every
    reserve must be positive. Unbudgeted: always the proven optimum.
    """
    found = walk(route, flash_fee_bps, max_amount_in)
    return found.amount_in, found.profit


class _Side:
    """One direction of the walk: its next step start, and how it finds the one after."""

    __slots__ = ("chunk", "direction", "idle", "jumper", "level", "low", "plain", "x")

    def __init__(self, direction: int, jumper: _Jumper | None, low: int) -> None:
        self.direction = direction
        self.jumper = jumper
        self.low = low  # least level an input >= 1 reaches
        self.plain = 0
        self.idle = 0  # jumps in a row that landed on the very next level
        self.x: int | None = None
        self.level = 0
        # the last jump's scan: (best, first level, last level, slope, offset, modulus, length)
        self.chunk: tuple[int, int, int, int, int, int, int] | None = None


def walk(
    route: Route,
    flash_fee_bps: int = 0,
    max_amount_in: int | None = None,
    max_steps: int | None = None,
) -> Optimum:
    """Step starts outward from the anchor until both sides are bounded (or the budget ends).

    The set-up and the first step are inlined (this runs per candidate per block): most
    cycles are proven by one step start and its neighbours' bounds (`_quick`)."""
    hi = None if max_amount_in is None else max(1, max_amount_in)
    cost = _D + flash_fee_bps
    # the scaled hops and their prefix relaxations (`_prefixes`) in one pass
    hops: _Scaled = []
    prefixes = [(1, 1, 0)]
    k, m, n = 1, 1, 0
    for reserve_in, reserve_out, fee in route:
        scaled, factor = reserve_in * _D, _D - fee
        hops.append((scaled, reserve_out, factor))
        k, m, n = factor * reserve_out * k, scaled * m, scaled * n + factor * k
        prefixes.append((k, m, n))
    root = isqrt(k * m if cost == _D else k * m * _D // cost)
    peak = (root - m) // n if root >= m and n else -1
    centre = max(1, peak) if hi is None else min(max(1, peak), hi)
    # The coarsest token carries the fewest units at the centre (ties: the later one).
    amounts = [centre]
    amount = least = centre
    j = 0
    for scaled_reserve_in, reserve_out, fee_factor in hops:
        with_fee = amount * fee_factor
        amount = with_fee * reserve_out // (scaled_reserve_in + with_fee)
        amounts.append(amount)
        if amount <= least:
            least, j = amount, len(amounts) - 1
    if max_steps is None or max_steps >= 1:
        quick = _quick(hops, prefixes, cost, j, peak, centre, amounts, hi)
        if quick is not None:
            return quick
    return _walk(hops, prefixes, cost, j, peak, centre, amounts, hi, max_steps)


def _walk(
    hops: _Scaled,
    prefixes: list[_Kmn],
    cost: int,
    j: int,
    peak: int,
    centre: int,
    amounts: list[int],
    hi: int | None,
    max_steps: int | None,
) -> Optimum:
    pivot = _Pivot.of(hops, prefixes, cost, j, peak)
    jumper = _Jumper.choose(pivot, amounts)
    flash_fee_bps = cost - _D
    level = amounts[j]
    low = pivot.level(1)
    left, right = _Side(-1, jumper, low), _Side(1, jumper, low)
    left.x, left.level = max(1, pivot.start(level) or 0), level
    right.level = level + 1
    right.x = _within(pivot.start(level + 1), hi)
    best_x, best, steps, jumps = 0, 0, 0, 0
    while left.x is not None or right.x is not None:
        if max_steps is not None and steps >= max_steps:
            return _cut_short(pivot, best_x, best, steps, jumps, left, right)
        go_left = right.x is None or (left.x is not None and centre - left.x <= right.x - centre)
        side = left if go_left else right
        x = side.x
        assert x is not None
        level = pivot.level(x)
        if best_x and not pivot.beats(level, side.direction, best):
            side.x = None
            continue
        steps += 1
        value = _output(hops, x) - x - flash_fee(x, flash_fee_bps)
        if not best_x or value > best:
            best_x, best = x, value
        jumps += _advance(pivot, side, x, level, best, hi)
    return Optimum(best_x, best, True, steps, best, jumps)


def _quick(
    hops: _Scaled,
    prefixes: list[_Kmn],
    cost: int,
    j: int,
    peak: int,
    centre: int,
    amounts: list[int],
    hi: int | None,
) -> Optimum | None:
    """The walk's first step inlined (most cycles); None when the full walk must decide.

    The walk's first step start is the centre's, or its right neighbour's when that is
    strictly nearer the centre. Centre first: proven when both neighbours' bounds fall
    short of it (the right one strictly when it is nearer than the centre's step start:
    it would win a tie; left of it every input is farther). Right neighbour first (the
    centre's step is wide): proven, as the walk proves it after one evaluation, when the
    centre's level and the levels past the neighbour's cannot reach it (ties: farther).
    """
    level = amounts[j]
    x = _start(hops, j, level)
    if x is None:
        return None
    value = (amounts[-1] if x == centre else _output(hops, x)) - x - (-(-x * (cost - _D) // _D))
    tail = _tail(hops, prefixes, j)
    near: int | None = None  # the right neighbour's step start, when nearer than x
    if centre != hi:  # at the cap, no input within it reaches the next level
        allowed = value
        if x < centre:
            start = _start(hops, j, level + 1)
            if start is not None and start - centre < centre - x:
                allowed, near = value - 1, start  # nearer than x: it would win a tie
        if _right_may_beat(level + 1, allowed, cost, peak, prefixes, j, tail):
            if near is None:
                return None
            return _quick_right(hops, prefixes, cost, j, peak, tail, level, near, hi)
    if x > 1:
        left = _output(hops[:j], x - 1) if j else x - 1
        if _left_may_beat(left, value, cost, peak, prefixes, j, tail):
            return None
    return _proven(x, value, 1)


def _quick_right(
    hops: _Scaled,
    prefixes: list[_Kmn],
    cost: int,
    j: int,
    peak: int,
    tail: _Kmn,
    level: int,
    x: int,
    hi: int | None,
) -> Optimum | None:
    """The walk's first step when it is `x`, the step start of the level after the
    centre's `level` (nearer the centre than the centre's own): proven, as the walk proves
    it after one evaluation, when no input at `level` or below, nor at `level` + 2 or above,
    can beat or tie it (all of them are farther from the centre; inputs between x and the
    next level's start earn less than x)."""
    if hi is not None and x > hi:
        return None
    value = _output(hops, x) - x - (-(-x * (cost - _D) // _D))
    if _left_may_beat(level, value, cost, peak, prefixes, j, tail):
        return None
    if _right_may_beat(level + 2, value, cost, peak, prefixes, j, tail):
        return None
    return _proven(x, value, 1)


def _start(hops: _Scaled, j: int, level: int) -> int | None:
    """`min_input(hops[:j], level)`, clamped to 1: the least input >= 1 reaching `level`."""
    x = level
    for i in range(j - 1, -1, -1):
        if x <= 0:
            break
        scaled_reserve_in, reserve_out, fee_factor = hops[i]
        if x >= reserve_out:
            return None
        x = -(-x * scaled_reserve_in // (fee_factor * (reserve_out - x)))
    return x if x > 1 else 1


def _tail(hops: _Scaled, prefixes: list[_Kmn], j: int) -> _Kmn:
    """relaxation(route[j:]): the whole route's at j = 0, the last hop's at j = hops - 1."""
    if j == 0:
        return prefixes[-1]
    if j == len(hops) - 1:
        scaled_reserve_in, reserve_out, fee_factor = hops[j]
        return fee_factor * reserve_out, scaled_reserve_in, fee_factor
    return _compose(hops[j:])


def _right_may_beat(
    level: int, allowed: int, cost: int, peak: int, prefixes: list[_Kmn], j: int, tail: _Kmn
) -> bool:
    """The walk's `right_bound(level)` exceeds `allowed`: an input whose pivot level is
    `level` or more may earn more (the peak's bound while G may still rise there)."""
    k1, m1, n1 = prefixes[j]
    if level * (m1 + n1 * (peak + 1)) < k1 * (peak + 1):
        return _peak_exceeds(prefixes[-1], cost, peak, allowed)
    return _level_may_beat(level, allowed, cost, prefixes[j], tail)


def _left_may_beat(
    level: int, allowed: int, cost: int, peak: int, prefixes: list[_Kmn], j: int, tail: _Kmn
) -> bool:
    """The walk's `left_bound(level)` exceeds `allowed`: an input whose pivot level is
    `level` or less may earn more (the peak's bound once G may have peaked there)."""
    k1, m1, n1 = prefixes[j]
    if peak < 0 or level * (m1 + n1 * peak) > k1 * peak:
        return _peak_exceeds(prefixes[-1], cost, peak, allowed)
    return _level_may_beat(level, allowed, cost, prefixes[j], tail)


def _peak_exceeds(kmn: _Kmn, cost: int, centre: int, allowed: int) -> bool:
    """`_peak(kmn, cost, centre) > allowed`, without its division: floor(a / b) > c iff
    a >= (c + 1) b for b > 0."""
    if centre < 0:
        return allowed < 0
    k, m, n = kmn
    den = m + n * centre
    numerator = (k * centre * den + k * m) * _D - cost * (centre + 1) * den * den
    return numerator >= (allowed + 1) * den * den * _D


def _level_may_beat(level: int, allowed: int, cost: int, head: _Kmn, tail: _Kmn) -> bool:
    """The unfloored profit bound of the inputs whose pivot output is `level` (through the
    route's head `head` and its tail `tail`) exceeds `allowed`: that neighbour may win."""
    k1, m1, n1 = head
    k2, m2, n2 = tail
    room = k1 - n1 * level
    if room <= 0:
        return False
    after = m2 + n2 * level
    numerator = k2 * level * _D * room - cost * m1 * level * after
    return numerator >= (allowed + 1) * _D * after * room


def _advance(pivot: _Pivot, side: _Side, x: int, level: int, best: int, hi: int | None) -> int:
    """Move `side` past `x` (at `level`) to its next candidate; 1 if it jumped."""
    side.plain += 1
    if side.direction < 0:
        if x == 1:
            side.x = None
            return 0
        near = pivot.level(x - 1)
    else:
        near = level + 1
    if side.plain > _PLAIN_STEPS and side.jumper is not None:
        found = _jump(pivot, side, near, best, hi)
        if found is not None:
            side.level, side.x = found
            # a jump that lands next door did a plain step's work at a jump's price: after
            # a run of them this side just steps (the answer does not depend on it)
            side.idle = side.idle + 1 if found[0] == near and found[1] is not None else 0
            if side.idle >= _IDLE_JUMPS:
                side.jumper = None
            return 1
    side.level, side.x = _plain(pivot, near, side.direction, hi)
    return 0


def _jump(
    pivot: _Pivot, side: _Side, near: int, best: int, hi: int | None
) -> tuple[int, int | None] | None:
    """(level, its step start or None: side done) of the next level from `near` outward
    that passes the jumper's filter; None when the filter is not selective at `near`.

    The levels are scanned in chunks short enough for ψ to stay within ε of its chord;
    a chunk may run past the last level that can beat the best, which only means its hit
    (if any) fails the bound and ends the side. A chunk's scan is kept while the best
    stands (its filter only gets looser than needed when the best rises, never wrong),
    so the next hit in it is one more Euclid-like recursion."""
    jumper, d = side.jumper, side.direction
    assert jumper is not None
    first = near
    chunk = side.chunk
    side.chunk = None
    if chunk is not None and chunk[0] == best:
        _, start, end, slope, offset, modulus, length = chunk
        done, width = (near - start) * d, (end - start) * d
        if 0 <= done <= width:
            t = _first_hit(slope, offset + slope * done, modulus, length)
            if t is not None and done + t <= width:
                side.chunk = chunk
                return _candidate(pivot, start + d * (done + t), d, best, hi)
            if not pivot.beats(end, d, best):
                return end, None
            near = end + d
    limit = side.low if d < 0 else _level_limit(pivot, hi)
    while True:
        g_num, g_den = pivot.exact_bound(near, d)
        spare = g_num - (best + 1) * g_den  # (max G - best - 1) * g_den
        if spare < 0:
            return near, None
        width = _chunk(jumper, near, spare, g_den)
        if limit is not None:
            width = min(width, (limit - near) * d)
        end = near + d * width
        low, high = (near, end) if d > 0 else (end, near)
        weight = jumper.weight(low, high) if width >= 8 else None
        curve = jumper.curvature(low, high) if weight is not None else None
        if weight is None or curve is None:
            return None if near == first else _plain(pivot, near, d, hi)
        # ε = spare / (g_den * w) as a fraction e_num / e_den
        e_num, e_den = spare * weight[1], g_den * weight[0]
        if 4 * e_num >= e_den:
            return None if near == first else _plain(pivot, near, d, hi)
        hit, scan = _scan(jumper, near, end, width, e_num, e_den, curve)
        if scan is not None:
            side.chunk = (best, near, end, *scan)
        if hit is not None:
            return _candidate(pivot, near + d * hit, d, best, hi)
        side.chunk = None
        if not pivot.beats(end, d, best):
            return end, None
        near = end + d


def _plain(pivot: _Pivot, level: int, d: int, hi: int | None) -> tuple[int, int | None]:
    """`level` and its step start (clamped to 1 leftward, to the cap rightward)."""
    start = pivot.start(level)
    return level, (max(1, start or 0) if d < 0 else _within(start, hi))


def _candidate(
    pivot: _Pivot, level: int, d: int, best: int, hi: int | None
) -> tuple[int, int | None]:
    """A level that passed the filter, or the end of the side if its bound cannot beat."""
    if not pivot.beats(level, d, best):
        return level, None
    return _plain(pivot, level, d, hi)


def _chunk(jumper: _Jumper, near: int, spare: int, g_den: int) -> int:
    """Levels from `near` over which ψ stays within about ε of its chord (0: no filter)."""
    weight = jumper.weight(near, near)
    curve = jumper.curvature(near, near)
    if weight is None or curve is None:
        return 0
    # W² |ψ''| / 8 <= ε  with  ε = spare / (g_den w)
    return isqrt(8 * spare * weight[1] * curve[1] // max(1, g_den * weight[0] * curve[0]))


def _scan(
    jumper: _Jumper,
    near: int,
    end: int,
    width: int,
    e_num: int,
    e_den: int,
    curve: tuple[int, int],
) -> tuple[int | None, tuple[int, int, int, int] | None]:
    """Least t in 0..width whose level near ± t may have frac(ψ) <= ε (None: none), and
    the scan (slope, offset, modulus, length) that finds the next ones."""
    bits = (8 * (width + 8) * e_den // max(1, e_num)).bit_length() + 1
    modulus = 1 << bits
    psi_near = jumper.psi_fixed(near, modulus)
    psi_end = jumper.psi_fixed(end, modulus)
    slope = (psi_end - psi_near) // width
    c_num, c_den = curve
    sag = -(-width * width * c_num * modulus // (8 * c_den))  # Δ M, rounded up
    slack = width + 2 + sag
    allowed = e_num * modulus // e_den  # ε M
    length = slack + allowed + 4
    if length >= modulus:
        return 0, None
    offset = psi_near + slack + 1
    t = _first_hit(slope, offset, modulus, length)
    return (None if t is None or t > width else t), (slope, offset, modulus, length)


def _level_limit(pivot: _Pivot, hi: int | None) -> int | None:
    """The highest pivot level any input within the cap reaches (None: no limit)."""
    if hi is not None:
        return pivot.level(hi)
    if pivot.head:
        return pivot.head[-1][1] - 1  # a hop pays less than its reserve
    return None  # the input itself: G falls to minus infinity, the search ends on it


def _cut_short(
    pivot: _Pivot, best_x: int, best: int, steps: int, jumps: int, left: _Side, right: _Side
) -> Optimum:
    ceiling = best
    if left.x is not None:
        ceiling = max(ceiling, pivot.left_bound(left.level))
    if right.x is not None:
        ceiling = max(ceiling, pivot.right_bound(right.level))
    return Optimum(best_x, best, ceiling <= best, steps, ceiling, jumps)


def _within(x: int | None, hi: int | None) -> int | None:
    return None if x is None or (hi is not None and x > hi) else x
