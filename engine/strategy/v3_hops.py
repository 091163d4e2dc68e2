"""V3 (concentrated-liquidity) hops in the search: the float pre-filter and the exact optimum.

**Pre-filter.** Within its current tick range a V3 pool is a constant-product pool on its
virtual reserves x = L / √P, y = L √P with fee γ = 1 - fee_pips / 10⁶, so a side's Möbius
coefficients are a = γ y / x, b = γ / x (`kernel` docstring), exact for any input that
stays in the range. The range's *capacity* per side is the input (fee included) that moves
the price to the next initialised tick in that direction; it caps the cycle's input through
the prefix map of the hops before it (x ≤ A⁻¹(cap)). Beyond the range the liquidity may be
larger, so a capped optimum is only a lower bound. The pool's output for any input is at
most what a constant liquidity L_max (the most liquidity of any range in that direction,
from the current price) would pay: the price moves less per unit of input at every point,
and output is the integral of the price. So:

- the cap does not bind: the in-range optimum is the relaxation's own (exact up to floats);
- the cap binds (the optimum lies past a tick, or the range is empty): the cycle's gross is
  the *optimistic* one on L_max coefficients, an upper bound, so no cycle whose exact
  profit clears gas is dropped for lack of range; the exact re-check decides.

Every pool's unfloored output is concave in its input (the marginal rate is γ times the
price, which only falls as input is added, jumps included), so a cycle whose marginal rate
at zero does not beat the cost (a ≤ c) can never pay: the filter never drops a profitable
cycle for being non-profitable at the margin.

**Exact optimum.** A route mixing V2 and V3 hops has no floor boundaries to invert (the V3
swap rounds price and amounts several times per step), so `walk` maximises the exact
integer profit P(x) = out(x) - x - flash_fee(x) directly: a bracket around the relaxation's
optimum (the hint; doubling outward until P stops rising, which is how an optimum past the
next tick is reached), golden-section search inside it on P itself down to the width over
which the relaxation is flat to a unit (from the hint's curvature: narrower than that only
the floors decide), and a final scan of every integer within `_SCAN` of the best. P is a
concave function (the unfloored route) minus a rounding error 0 <= e < δ (δ: a few units
of the last token); a golden comparison can pick the wrong side only when the two probes
are within δ, and then (concavity) the best input it drops beats the best it keeps by at
most δ. So the answer is within a few units of the exact argmax, not always equal to it:
`tests/strategy/test_v3_exact.py` measures it against brute force on small pools (most
equal, the rest one or two units short). Every amount it returns is the exact swap to
the unit (engine.market.v3.pool), ticks crossed included, so the profit it reports is
what the route pays. About 50 route evaluations per walk on the benchmark market (the
hint is good to ~2^-28 of itself, so most brackets leave it and then narrow to `_SCAN`;
docs/benchmarks.md). V3 hops are priced by `pool.quote_exact_input`: the swap's amounts,
without the tick after it.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from engine.market.amm import FEE_DENOMINATOR
from engine.market.model import Market, Pool
from engine.market.v3.errors import UniswapV3Error
from engine.market.v3.pool import V3PoolState, quote_exact_input
from engine.market.v3.swap_math import PIPS
from engine.market.v3.tick_math import MAX_TICK, MIN_TICK
from engine.market.v3.ticks import TickTable
from engine.strategy import exact, kernel
from engine.strategy.opportunity import Hop

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.int32]
_Q96 = float(1 << 96)
_HALF_LOG_BASE = math.log(1.0001) / 2
_SHRINK = 1.0 - 1e-9  # float capacities are shaded down: a cap must not overstate the range
_SCAN = 3  # the golden search stops at this width and scans every integer left
# The bracket's first step, as a share of the hint (2^-28): in range the hint is the
# relaxation's optimum to float precision; past a tick the bracket doubles out to it.
_FIRST_STEP_SHIFT = 28
_MIN_STEP = 64  # past the floors' sawtooth on small amounts
_WALKS_KEPT = 4096  # memoised walks; the memo is dropped whole when full
_WALKS: dict[Hashable, exact.Optimum] = {}
_MAX_EVALS = 512  # route evaluations one exact walk may spend (budget; counted if reached)


# -- pre-filter --------------------------------------------------------------------------


class SideView(NamedTuple):
    """Float view of one V3 side: in-range (a, b), optimistic (a, b) and the range's cap."""

    a: float
    b: float
    a_hi: float
    b_hi: float
    cap: float


def side_views(state: V3PoolState) -> tuple[SideView, SideView]:
    """(selling token0, selling token1) views of a V3 pool's state."""
    gamma = 1.0 - state.fee_pips / PIPS
    sqrt_price = state.sqrt_price_x96 / _Q96
    ticks = state.ticks.initialized()
    info = state.ticks.info
    split = bisect_right(ticks, state.tick)
    low = high = state.liquidity
    liquidity = low
    for index in range(split - 1, -1, -1):  # downward: crossing a tick removes its net
        liquidity -= info[ticks[index]].liquidity_net
        low = max(low, liquidity)
    liquidity = high
    for index in range(split, len(ticks)):
        liquidity += info[ticks[index]].liquidity_net
        high = max(high, liquidity)
    s_below = _sqrt_at(ticks[split - 1] if split else MIN_TICK)
    s_above = _sqrt_at(ticks[split] if split < len(ticks) else MAX_TICK)
    active = float(state.liquidity)
    cap0 = active * max(0.0, 1.0 / s_below - 1.0 / sqrt_price) / gamma * _SHRINK
    cap1 = active * max(0.0, s_above - sqrt_price) / gamma * _SHRINK
    price = sqrt_price * sqrt_price
    sell0 = _view(gamma * price, gamma * sqrt_price, active, float(low), cap0)
    sell1 = _view(gamma / price, gamma / sqrt_price, active, float(high), cap1)
    return sell0, sell1


def _view(a: float, b_times_l: float, liquidity: float, l_max: float, cap: float) -> SideView:
    """b = γ/x = γ √P / L (selling token0) or γ/y = γ / (√P L) (selling token1)."""
    if l_max <= 0.0 or not math.isfinite(a) or a <= 0.0:
        return SideView(0.0, 1.0, 0.0, 1.0, math.inf)
    b_hi = b_times_l / l_max
    if liquidity <= 0.0:  # empty range: a swap jumps to the next liquidity at a worse price
        return SideView(a, b_hi, a, b_hi, 0.0)
    return SideView(a, b_times_l / liquidity, a, b_hi, cap)


def _sqrt_at(tick: int) -> float:
    """√(1.0001^tick) in floats (the pre-filter's precision; the exact one is TickMath's)."""
    return math.exp(tick * _HALF_LOG_BASE)


_SQRT_MIN = _sqrt_at(MIN_TICK)
_SQRT_MAX = _sqrt_at(MAX_TICK)


@dataclass(frozen=True, slots=True)
class _TickSummary:
    """What `side_views` derives from a tick table alone, kept until the table changes
    (`TickTable.version`: Mint, Burn, loaded words; a replaced table is another object).

    With C[k] the sum of the first k ticks' liquidity_net, the liquidity of the range at
    `split` (between ticks[split-1] and ticks[split]) is L + C[j] - C[split] at every other
    split j, so the most liquidity below is L + max(0, max C[0..split) - C[split]) and
    above L + max(0, max C(split..n] - C[split]): the tick walk, in one look-up (integers,
    so exactly the walk's answer). `ranges[split]` holds those two extras and the range's
    float √prices at its ends, so a refresh reads one tuple per pool."""

    table: TickTable
    version: int
    ticks: list[int]
    ranges: list[tuple[int, int, float, float]]  # (extra below, extra above, √ lo, √ hi)

    @classmethod
    def of(cls, table: TickTable) -> _TickSummary:
        ticks = list(table.sorted_ticks())
        prefix = [0]
        for tick in ticks:
            prefix.append(prefix[-1] + table.info[tick].liquidity_net)
        max_before = [prefix[0]]  # max C[0..k) (C[0] for k = 0: no extra)
        for k in range(1, len(prefix)):
            max_before.append(max(max_before[-1], prefix[k - 1]))
        max_after = [prefix[-1]] * len(prefix)  # max C(k..n] (C[n] for k = n)
        for k in range(len(prefix) - 2, -1, -1):
            max_after[k] = max(max_after[k + 1], prefix[k + 1])
        sqrt_at = [_SQRT_MIN, *map(_sqrt_at, ticks), _SQRT_MAX]
        ranges = [
            (max(0, before - here), max(0, after - here), sqrt_at[k], sqrt_at[k + 1])
            for k, (here, before, after) in enumerate(
                zip(prefix, max_before, max_after, strict=True)
            )
        ]
        return cls(table, table.version, ticks, ranges)


def _views_of(
    fee_pips: FloatArray,
    sqrt_price: FloatArray,
    active: FloatArray,
    low: FloatArray,
    high: FloatArray,
    s_below: FloatArray,
    s_above: FloatArray,
) -> FloatArray:
    """`side_views` over arrays, the same float operations in the same order (so the
    same numbers): rows a, b, a_hi, b_hi, cap; columns sell0, sell1 of each pool."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        gamma = 1.0 - fee_pips / PIPS
        room0 = 1.0 / s_below - 1.0 / sqrt_price
        room1 = s_above - sqrt_price
        cap0 = active * np.where(room0 > 0.0, room0, 0.0) / gamma * _SHRINK
        cap1 = active * np.where(room1 > 0.0, room1, 0.0) / gamma * _SHRINK
        price = sqrt_price * sqrt_price
        sell0 = _views_arrays(gamma * price, gamma * sqrt_price, active, low, cap0)
        sell1 = _views_arrays(gamma / price, gamma / sqrt_price, active, high, cap1)
    return np.stack([sell0, sell1], axis=2).reshape(5, -1)


def _views_arrays(
    a: FloatArray, b_times_l: FloatArray, liquidity: FloatArray, l_max: FloatArray, cap: FloatArray
) -> FloatArray:
    """`_view` over arrays: rows a, b, a_hi, b_hi, cap."""
    b_hi = b_times_l / l_max
    empty = liquidity <= 0.0
    b = np.where(empty, b_hi, b_times_l / liquidity)
    cap = np.where(empty, 0.0, cap)
    dead = (l_max <= 0.0) | ~np.isfinite(a) | (a <= 0.0)
    return np.stack(
        [
            np.where(dead, 0.0, a),
            np.where(dead, 1.0, b),
            np.where(dead, 0.0, a),
            np.where(dead, 1.0, b_hi),
            np.where(dead, np.inf, cap),
        ]
    )


class V3Prefilter:
    """The V3 sides of a `kernel.HopCoefficients`: overwritten after every refresh, plus
    per-side caps and the optimistic coefficients used where a cap binds.

    A refresh is `side_views` of every changed V3 pool, computed at once: the tick walk
    comes from each pool's `_TickSummary` (rebuilt only when its table changes: Mint,
    Burn, loaded words, a replaced table), the float algebra over arrays (`_views_of`)."""

    def __init__(self, pools: Sequence[Pool], coefficients: kernel.HopCoefficients) -> None:
        self._pools = pools
        self._coefficients = coefficients
        self._is_v3 = np.array([p.v3 is not None for p in pools] + [False], dtype=bool)
        n_sides = 2 * len(pools) + 1
        self.cap = np.full(n_sides, np.inf, dtype=np.float64)
        self.a_hi = coefficients.a.copy()
        self.b_hi = coefficients.b.copy()
        self._summaries: dict[int, _TickSummary] = {}

    @classmethod
    def of(cls, pools: Sequence[Pool], coefficients: kernel.HopCoefficients) -> V3Prefilter | None:
        """None for a market without V3 pools (the plain kernel serves it)."""
        if not any(p.v3 is not None for p in pools):
            return None
        return cls(pools, coefficients)

    def refresh(self, pool_indices: Sequence[int] | npt.NDArray[np.int64]) -> None:
        """Call after `coefficients.refresh(pool_indices)`: re-read those pools' V3 states."""
        if not len(pool_indices):
            return
        coefficients = self._coefficients
        every = np.asarray(pool_indices, dtype=np.int64)
        both = np.concatenate([2 * every, 2 * every + 1])
        self.a_hi[both] = coefficients.a[both]  # V2 sides: the same as the in-range ones
        self.b_hi[both] = coefficients.b[both]
        at = every[self._is_v3[every]]
        if not len(at):
            return
        pools = self._pools
        changed = at.tolist()
        columns = self._columns(changed, [_state(pools[index]) for index in changed])
        at = np.stack([2 * at, 2 * at + 1], axis=1).ravel()  # (sell0, sell1) per pool
        coefficients.a[at], coefficients.b[at] = columns[0], columns[1]
        self.a_hi[at], self.b_hi[at], self.cap[at] = columns[2], columns[3], columns[4]

    def _columns(self, indices: Sequence[int], states: Sequence[V3PoolState]) -> FloatArray:
        """(a, b, a_hi, b_hi, cap) rows by side, (sell0, sell1) per pool: `side_views`
        of every state at once, the tick walk replaced by each table's `_TickSummary`."""
        summaries = self._summaries
        rows = []
        for index, state in zip(indices, states, strict=True):
            table = state.ticks
            summary = summaries.get(index)
            if summary is None or summary.table is not table or summary.version != table.version:
                summary = summaries[index] = _TickSummary.of(table)
            below, above, s_below, s_above = summary.ranges[bisect_right(summary.ticks, state.tick)]
            liquidity = state.liquidity
            rows.append(
                (
                    state.fee_pips,
                    state.sqrt_price_x96,
                    liquidity,
                    liquidity + below,
                    liquidity + above,
                    s_below,
                    s_above,
                )
            )
        # numpy rounds each Python int, of any size, to the nearest float as float() does
        fee, raw_price, active, low, high, s_lo, s_hi = np.array(rows, dtype=np.float64).T
        return _views_of(fee, raw_price / _Q96, active, low, high, s_lo, s_hi)

    def refresh_all(self) -> None:
        self.refresh(range(len(self._pools)))

    def evaluate(
        self, sides: Sequence[IndexArray], cost_factor: float, cap: FloatArray | None
    ) -> tuple[FloatArray, FloatArray]:
        """`kernel.evaluate` with every V3 range's capacity: (x, gross) per cycle, the
        gross optimistic (an upper bound) where a range cap binds.

        The same float operations as `kernel.optimum` called on the free and on the capped
        input, with the free optimum computed once (a min of two floats is exact, so
        min(x, min(input_cap, range_cap)) is the capped call's x) and a hop's capacity
        folded in with `fmin`, which drops a NaN capacity as the old explicit mask did.
        The side indices are widened to the platform's index type once: `take` with the
        table's int32 indices converts them on every call (~10x the cost of the gather).
        """
        coefficients = self._coefficients
        sides = [np.asarray(column, dtype=np.intp) for column in sides]
        a = coefficients.a.take(sides[0])
        b = coefficients.b.take(sides[0])
        range_cap = np.fmin(self.cap.take(sides[0]), np.inf)  # the first hop: x itself
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            for hop_sides in sides[1:]:
                np.fmin(range_cap, _reach(a, b, self.cap.take(hop_sides)), out=range_cap)
                b += coefficients.b.take(hop_sides) * a
                a *= coefficients.a.take(hop_sides)
            root = np.sqrt(a / cost_factor)
            root -= 1.0
            np.maximum(root, 0.0, out=root)
            x = root / b
        if cap is not None:
            np.minimum(x, cap, out=x)
        binds = x > range_cap
        np.minimum(x, range_cap, out=x)
        gross = a * x / (1.0 + b * x) - cost_factor * x
        if binds.any():
            picked = [column[binds] for column in sides]
            hi = kernel.compose_arrays(self.a_hi, self.b_hi, picked)
            x_hi, gross_hi = kernel.optimum(*hi, cost_factor, None if cap is None else cap[binds])
            x[binds], gross[binds] = x_hi, gross_hi
        return x, gross


def _reach(a: FloatArray, b: FloatArray, side_cap: FloatArray) -> FloatArray:
    """The cycle input x that brings `side_cap` to a hop whose prefix map is (a, b):
    cap / (a - b cap), inf where no input does (or the cap is inf)."""
    room = a - b * side_cap
    return np.where(room > 0.0, side_cap / room, np.inf)


def _state(pool: Pool) -> V3PoolState:
    assert pool.v3 is not None
    return pool.v3


# -- exact re-check ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class V3Leg:
    """A V3 hop on a state snapshot; `balance_out` is what the pool holds of its output."""

    state: V3PoolState
    zero_for_one: bool
    balance_out: int


# A V2 hop is (reserve_in, reserve_out, fee_bps), as engine.strategy.exact.Route.
Leg = tuple[int, int, int] | V3Leg


def has_v3(route: Sequence[Hop]) -> bool:
    return any(hop.kind == "v3" for hop in route)


def legs(market: Market, route: Sequence[Hop]) -> list[Leg]:
    """The route's hops on the market's live pools."""
    return [leg_of(market.pools[hop.pool], hop.token_in) for hop in route]


def leg_of(pool: Pool, token_in: str, state: V3PoolState | None = None) -> Leg:
    """One hop on `pool` (or, for a V3 pool, on `state` if given: a plan's copy)."""
    reserve_in, reserve_out = pool.reserves_for(token_in)
    v3 = state if state is not None else pool.v3
    if v3 is None:
        return (reserve_in, reserve_out, pool.fee_bps)
    return V3Leg(v3, token_in == pool.token0, reserve_out)


def leg_output(leg: Leg, amount: int) -> int:
    """Exact output of one hop; 0 where the pool would not take the whole input (price
    limit reached, ticks not loaded) or could not pay it out (its balance)."""
    if amount <= 0:
        return 0
    if not isinstance(leg, V3Leg):
        reserve_in, reserve_out, fee_bps = leg
        with_fee = amount * (FEE_DENOMINATOR - fee_bps)
        return with_fee * reserve_out // (reserve_in * FEE_DENOMINATOR + with_fee)
    try:
        amount0, amount1 = quote_exact_input(leg.state, leg.zero_for_one, amount)
    except UniswapV3Error:
        return 0
    taken, paid = (amount0, -amount1) if leg.zero_for_one else (amount1, -amount0)
    if taken != amount or paid > leg.balance_out:
        return 0
    return paid


def outputs(route: Sequence[Leg], amount_in: int) -> list[int] | None:
    """Exact output of every hop; None if one pays nothing."""
    out = []
    amount = amount_in
    for leg in route:
        amount = leg_output(leg, amount)
        if amount <= 0:
            return None
        out.append(amount)
    return out


def route_output(route: Sequence[Leg], amount_in: int) -> int:
    amount = amount_in
    for leg in route:
        amount = leg_output(leg, amount)
        if amount <= 0:
            return 0
    return amount


def profit_function(route: Sequence[Leg], flash_fee_bps: int = 0) -> Callable[[int], int]:
    """Exact `output - input - flash fee` of the route."""
    return lambda x: route_output(route, x) - x - exact.flash_fee(x, flash_fee_bps)


def hint(route: Sequence[Leg], flash_fee_bps: int = 0) -> tuple[int, int]:
    """The relaxation's optimum on in-range virtual reserves (optimistic ones for empty
    ranges), where the exact search starts (0 when the margin does not pay), and the
    width around it over which the relaxation stays within a unit of its maximum
    (|P''| w² / 8 <= 1 with P'' = -2 a b / (1 + b x)³): narrowing below it is a fight
    with the floors, which the final scan settles."""
    a, b = 1.0, 0.0
    for leg in route:
        if isinstance(leg, V3Leg):
            leg_a, leg_b = _in_range(leg.state, leg.zero_for_one)
        else:
            reserve_in, reserve_out, fee_bps = leg
            gamma = (FEE_DENOMINATOR - fee_bps) / FEE_DENOMINATOR
            leg_a, leg_b = gamma * reserve_out / reserve_in, gamma / reserve_in
        b += leg_b * a
        a *= leg_a
    cost = 1.0 + flash_fee_bps / FEE_DENOMINATOR
    if not a > cost or b <= 0.0:
        return 0, 0
    x = max(1.0, (math.sqrt(a / cost) - 1.0) / b)
    curvature = 2.0 * a * b / (1.0 + b * x) ** 3
    flat = math.sqrt(8.0 / curvature) if curvature > 0.0 else 0.0
    return int(x), int(min(flat, x))


def _in_range(state: V3PoolState, zero_for_one: bool) -> tuple[float, float]:
    """(a, b) of the side on its in-range virtual reserves (`side_views` when the range
    is empty, which needs the tick walk)."""
    if state.liquidity <= 0:
        sell0, sell1 = side_views(state)
        view = sell0 if zero_for_one else sell1
        return view.a, view.b
    gamma = 1.0 - state.fee_pips / PIPS
    sqrt_price = state.sqrt_price_x96 / _Q96
    if zero_for_one:
        return gamma * sqrt_price * sqrt_price, gamma * sqrt_price / state.liquidity
    return gamma / (sqrt_price * sqrt_price), gamma / (sqrt_price * state.liquidity)


def walk(route: Sequence[Leg], flash_fee_bps: int = 0, cap: int | None = None) -> exact.Optimum:
    """The exact integer profit's maximiser over 1..cap (module docstring), as an
    `exact.Optimum`; `proven` is False when the evaluation budget ran out first.

    Memoised on everything the answer depends on (every V2 reserve and fee, every V3
    price, tick, liquidity, fee, balance and initialised tick with its liquidity): the
    search re-checks its best cycles every block, and most of them did not move."""
    key = (flash_fee_bps, cap, tuple(_leg_key(leg) for leg in route))
    found = _WALKS.get(key)
    if found is None:
        found = _walk(route, flash_fee_bps, cap)
        if len(_WALKS) >= _WALKS_KEPT:
            _WALKS.clear()
        _WALKS[key] = found
    return found


def _leg_key(leg: Leg) -> Hashable:
    if not isinstance(leg, V3Leg):
        return leg
    state = leg.state
    return (
        state.sqrt_price_x96,
        state.tick,
        state.liquidity,
        state.fee_pips,
        leg.zero_for_one,
        leg.balance_out,
        state.ticks.spacing,
        state.ticks.words,
        tuple(state.ticks.info.items()),
    )


def _walk(route: Sequence[Leg], flash_fee_bps: int, cap: int | None) -> exact.Optimum:
    last = route[-1]
    bound = last.balance_out if isinstance(last, V3Leg) else last[1]
    hi = max(1, bound if cap is None else min(cap, bound))
    start, flat = hint(route, flash_fee_bps)
    if start <= 0:
        return exact.Optimum(0, 0, True, 0, 0)
    profit = profit_function(route, flash_fee_bps)
    search = _Golden(profit, hi, max(_SCAN, flat))
    x, value = search.run(min(start, hi))
    proven = search.evals <= _MAX_EVALS
    if value <= 0:
        return exact.Optimum(0, 0, proven, search.evals, 0)
    return exact.Optimum(x, value, proven, search.evals, value)


class _Golden:
    """Bracket, golden-section and final scan over an integer function (memoised)."""

    def __init__(self, function: Callable[[int], int], hi: int, width: int) -> None:
        self._function = function
        self._hi = hi
        self._width = width  # narrow down to this width, then scan around the best
        self._memo: dict[int, int] = {}
        self.evals = 0

    def value(self, x: int) -> int:
        found = self._memo.get(x)
        if found is None:
            found = self._function(x)
            self._memo[x] = found
            self.evals += 1
        return found

    def run(self, start: int) -> tuple[int, int]:
        low, mid, high = self._bracket(start)
        if mid != start or not low < mid < high:
            # the optimum is not where the in-range relaxation put it (past a tick, or the
            # hint was cut at the cap): the relaxation's flat width says nothing there
            self._width = _SCAN
        while high - low > self._width and self.evals < _MAX_EVALS:
            low, mid, high = self._narrow(low, mid, high)
        best = max(self._memo.items(), key=lambda item: (item[1], -item[0]))[0]
        for x in range(max(1, best - _SCAN), min(self._hi, best + _SCAN) + 1):
            if self.evals >= _MAX_EVALS:
                break
            self.value(x)
        return max(self._memo.items(), key=lambda item: (item[1], -item[0]))

    def _bracket(self, start: int) -> tuple[int, int, int]:
        """(low, mid, high) with P(mid) >= P(low), P(high) (or low/high at the ends)."""
        mid = start
        first = max(_MIN_STEP, self._width // 2, mid >> _FIRST_STEP_SHIFT)
        step = first
        high = min(self._hi, mid + step)
        if high > mid and self.value(high) > self.value(mid):
            while high < self._hi and self.value(high) > self.value(mid):
                mid, step = high, 2 * step
                high = min(self._hi, mid + step)
            return max(1, mid - step // 2), mid, high
        step = first
        low = max(1, mid - step)
        while low > 1 and self.value(low) > self.value(mid):
            mid, step = low, 2 * step
            low = max(1, mid - step)
        return low, mid, max(high, mid)

    def _narrow(self, low: int, mid: int, high: int) -> tuple[int, int, int]:
        """One golden-section step: probe the larger side of `mid`, keep the better."""
        if high - mid >= mid - low:
            probe = mid + max(1, round((high - mid) * 0.381966))
            if self.value(probe) > self.value(mid):
                return mid, probe, high
            return low, mid, probe
        probe = mid - max(1, round((mid - low) * 0.381966))
        if self.value(probe) > self.value(mid):
            return low, probe, mid
        return probe, mid, high
