"""Plain-Python exact search for one cycle: the reference the vectorised kernel is judged by.

The chain truncates at every hop, so the exact profit as a function of the integer input
is a concave curve with a few units of staircase noise. A Fibonacci search (the integer
form of golden-section search) finds its maximum with one exact evaluation per step; the
daemon uses it on a narrow window around the kernel's float optimum, tests and the
benchmark use it over the whole input range as the slow, obviously-correct reference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from engine.market.amm import FEE_DENOMINATOR

# (reserve_in, reserve_out, fee_bps) for each hop of a cycle, in trade order.
Route = Sequence[tuple[int, int, int]]
Objective = Callable[[int], int]

_SMALL_INTERVAL = 8


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

    def profit(amount_in: int) -> int:
        amount = amount_in
        for scaled_reserve_in, reserve_out, fee_factor in hops:
            with_fee = amount * fee_factor
            amount = with_fee * reserve_out // (scaled_reserve_in + with_fee)
        return amount - amount_in - flash_fee(amount_in, flash_fee_bps)

    return profit


def _fibonacci_up_to(length: int) -> list[int]:
    fibs = [1, 1]
    while fibs[-1] < length:
        fibs.append(fibs[-1] + fibs[-2])
    return fibs


def maximise(objective: Objective, lo: int, hi: int) -> tuple[int, int]:
    """(argmax, max) of a unimodal-ish integer function on [lo, hi], ties to the smaller x.

    Fibonacci search: the interval [lo, lo + F_k] shrinks to [., . + F_(k-1)] keeping one
    probe, so each step costs one evaluation. Points beyond `hi` count as -infinity.
    """
    if hi < lo:
        raise ValueError(f"empty interval [{lo}, {hi}]")
    memo: dict[int, int] = {}

    def value(x: int) -> tuple[int, int]:
        if x > hi:
            return (-1, 0)  # worse than any real value
        if x not in memo:
            memo[x] = objective(x)
        return (0, memo[x])

    fibs = _fibonacci_up_to(hi - lo)
    k = len(fibs) - 1
    while k > 2 and fibs[k] > _SMALL_INTERVAL:
        left, right = lo + fibs[k - 2], lo + fibs[k - 1]
        if value(left) < value(right):
            lo = left
        k -= 1
    end = min(hi, lo + fibs[k])
    best = max(range(lo, end + 1), key=lambda x: (value(x), -x))
    return best, memo[best]


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
    """Best integer input near a float estimate: a window of ~2**-32 relative (at least ±64).

    The float optimum is accurate far beyond that window; the window only has to absorb
    float error and the staircase left by per-hop truncation.
    """
    radius = max(64, guess >> 32)
    lo, hi = max(1, guess - radius), guess + radius
    if max_amount_in is not None:
        hi = min(hi, max_amount_in)
        lo = min(lo, hi)
    return maximise(profit_function(route, flash_fee_bps), max(1, lo), max(1, hi))
