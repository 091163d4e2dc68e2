"""Plain-Python exact search for one cycle: the reference the vectorised kernel is judged by.

The chain truncates at every hop, so the exact profit as a function of the integer input
is a concave curve with a few units of staircase noise. A Fibonacci search (the integer
form of golden-section search) finds its maximum with one exact evaluation per step; the
daemon uses it on a narrow window around the kernel's float optimum, tests and the
benchmark use it over the whole input range as the slow, obviously-correct reference.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence

from engine.market.amm import FEE_DENOMINATOR

# (reserve_in, reserve_out, fee_bps) for each hop of a cycle, in trade order.
Route = Sequence[tuple[int, int, int]]
Objective = Callable[[int], int]

_SMALL_INTERVAL = 8
_OUT_OF_RANGE = float("-inf")  # compares below every int, exactly


def flash_fee(amount_in: int, flash_fee_bps: int) -> int:
    """Fee owed to a flash lender, rounded up: lenders round in their own favour."""
    return -(-amount_in * flash_fee_bps // FEE_DENOMINATOR)


def profit_function(route: Route, flash_fee_bps: int = 0) -> Objective:
    """Exact `output - input - flash fee` for the route, with per-hop constants hoisted.

    Same arithmetic as `amm.get_amount_out`, inlined because the search calls it dozens
    of times per candidate and the function-call and validation overhead would dominate.
    A zero intermediate amount (the chain would revert) simply yields a large loss.
    """
    hops = [(r_in * FEE_DENOMINATOR, r_out, FEE_DENOMINATOR - fee) for r_in, r_out, fee in route]

    def output(amount_in: int) -> int:
        amount = amount_in
        for scaled_reserve_in, reserve_out, fee_factor in hops:
            with_fee = amount * fee_factor
            amount = with_fee * reserve_out // (scaled_reserve_in + with_fee)
        return amount

    if flash_fee_bps == 0:
        return lambda amount_in: output(amount_in) - amount_in
    return lambda amount_in: output(amount_in) - amount_in - flash_fee(amount_in, flash_fee_bps)


def _fibonacci(limit: int) -> list[int]:
    fibs = [1, 1]
    while fibs[-1] < limit:
        fibs.append(fibs[-1] + fibs[-2])
    return fibs


_FIBS = _fibonacci(2**260)  # longer than any uint256 interval


def maximise(objective: Objective, lo: int, hi: int) -> tuple[int, int]:
    """(argmax, max) of a unimodal-ish integer function on [lo, hi], ties to the smaller x.

    Fibonacci search: the interval [lo, lo + F_k] shrinks to [., . + F_(k-1)] keeping one
    probe, so each step costs one evaluation. Points beyond `hi` count as -infinity.
    """
    if hi < lo:
        raise ValueError(f"empty interval [{lo}, {hi}]")
    if hi - lo >= _FIBS[-1]:
        raise ValueError("interval too wide for the search")
    memo: dict[int, float] = {}

    def value(x: int) -> float:
        found = memo.get(x)
        if found is None:
            found = memo[x] = objective(x) if x <= hi else _OUT_OF_RANGE
        return found

    k = bisect_left(_FIBS, hi - lo)
    while k > 2 and _FIBS[k] > _SMALL_INTERVAL:
        if value(lo + _FIBS[k - 2]) < value(lo + _FIBS[k - 1]):
            lo += _FIBS[k - 2]
        k -= 1
    end = min(hi, lo + _FIBS[k])
    best = max(range(lo, end + 1), key=lambda x: (value(x), -x))
    return best, int(memo[best])


def optimal_input(
    route: Route, flash_fee_bps: int = 0, max_amount_in: int | None = None
) -> tuple[int, int]:
    """Best integer input over the whole feasible range, as (amount_in, profit after flash fee).

    Profit requires output > input, and output never reaches the last hop's reserve_out,
    so that reserve bounds the search.
    """
    hi = max(1, route[-1][1])
    if max_amount_in is not None:
        hi = max(1, min(hi, max_amount_in))
    return maximise(profit_function(route, flash_fee_bps), 1, hi)


def refine_input(
    route: Route,
    guess: int,
    flash_fee_bps: int = 0,
    max_amount_in: int | None = None,
) -> tuple[int, int]:
    """Best integer input near a float estimate: a window of ~2**-40 relative (at least ±64).

    The float optimum is accurate to ~1e-13 relative for well-conditioned cycles, and the
    real profit is flat to well under a unit across the window, so what the search chases
    is the staircase left by per-hop truncation, not the curve.
    """
    radius = max(64, guess >> 40)
    lo, hi = max(1, guess - radius), guess + radius
    if max_amount_in is not None:
        hi = min(hi, max_amount_in)
        lo = min(lo, hi)
    return maximise(profit_function(route, flash_fee_bps), max(1, lo), max(1, hi))
