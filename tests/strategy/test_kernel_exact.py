"""The float kernel against the exact scalar oracle, one random cycle at a time.

Truncation makes exact and real profits differ: each hop loses under one unit of its
output, which later hops scale by at most their spot rate. `rounding_bound` is that loss
for a route; kernel and oracle must agree up to it.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.market.model import Pool
from engine.strategy import exact, kernel
from engine.strategy.exact import Route

FEES = [0, 20, 25, 30, 100]


def cycle_pools(route: Route) -> list[Pool]:
    """Pool i sells token i (its token0) for token i+1, closing back to token 0."""
    n = len(route)
    return [
        Pool("dex", f"p{i}", f"t{i}", f"t{(i + 1) % n}", r_in, r_out, fee)
        for i, (r_in, r_out, fee) in enumerate(route)
    ]


def kernel_optimum(route: Route, cost_factor: float = 1.0, cap: float | None = None):
    pools = cycle_pools(route)
    coefficients = kernel.HopCoefficients(pools)
    coefficients.refresh_all()
    identity = 2 * len(pools)
    sides = [np.array([2 * i if i < len(pools) else identity], dtype=np.int32) for i in range(3)]
    caps = None if cap is None else np.array([cap])
    x, gross = kernel.evaluate(coefficients, sides, cost_factor, caps)
    return float(x[0]), float(gross[0])


def rounding_bound(route: Route) -> float:
    """Most the exact output can fall short of the real one, plus a unit for the flash fee."""
    bound, downstream = 1.0, 1.0
    for r_in, r_out, fee in reversed(route):
        bound += downstream
        downstream *= (10_000 - fee) / 10_000 * r_out / r_in
    return bound


@st.composite
def cycles(draw: st.DrawFn, max_reserve: int = 10**30) -> list[tuple[int, int, int]]:
    """A 2- or 3-hop cycle whose prices multiply to within a few percent of 1."""
    n = draw(st.integers(2, 3))
    mispricing = draw(st.floats(-0.03, 0.03))
    log_prices = [draw(st.floats(-12.0, 12.0)) for _ in range(n - 1)]
    log_prices.append(-sum(log_prices) + math.log10(1 + mispricing))
    route = []
    for log_price in log_prices:
        r_in = draw(st.integers(10**6, max_reserve))
        r_out = max(1, min(max_reserve, round(r_in * 10**log_price)))
        route.append((r_in, r_out, draw(st.sampled_from(FEES))))
    return route


@settings(max_examples=400, deadline=None)
@given(route=cycles(), flash_bps=st.sampled_from([0, 0, 5, 9]))
def test_kernel_and_oracle_agree_on_profitability(route: Route, flash_bps: int) -> None:
    _, gross = kernel_optimum(route, 1 + flash_bps / 10_000)
    _, best = exact.optimal_input(route, flash_bps)
    bound = rounding_bound(route)
    if best > bound:
        assert gross > 0
    if gross > 2 * bound:
        assert best > 0


@settings(max_examples=400, deadline=None)
@given(route=cycles(), flash_bps=st.sampled_from([0, 0, 5, 9]))
def test_kernel_optimum_is_as_good_as_the_oracles_within_rounding(
    route: Route, flash_bps: int
) -> None:
    x, gross = kernel_optimum(route, 1 + flash_bps / 10_000)
    _, best = exact.optimal_input(route, flash_bps)
    if gross <= 0:
        return
    at_kernel_size = exact.profit_function(route, flash_bps)(max(1, round(x)))
    bound = rounding_bound(route)
    assert abs(at_kernel_size - best) <= bound + 1e-9 * gross


@settings(max_examples=200, deadline=None)
@given(route=cycles(), cap_fraction=st.floats(0.01, 0.99))
def test_capped_kernel_input_never_exceeds_the_cap(route: Route, cap_fraction: float) -> None:
    x_free, gross_free = kernel_optimum(route)
    if gross_free <= 0:
        return
    cap = max(1.0, x_free * cap_fraction)
    x, gross = kernel_optimum(route, cap=cap)
    assert x <= cap
    # The capped form a*x/(1+b*x) - c*x cancels: allow float noise on the scale of x.
    assert gross <= gross_free + 1e-9 * (gross_free + x_free)


def test_kernel_handles_reserves_at_the_uint112_limit() -> None:
    top = 2**112 - 1
    route = [(top // 2, top, 30), (top, top, 30)]  # buys token 1 at half its other price
    x, gross = kernel_optimum(route)
    assert math.isfinite(x) and math.isfinite(gross) and gross > 0
    assert exact.profit_function(route)(round(x)) > 0


def test_kernel_rejects_a_cycle_that_only_pays_the_fees() -> None:
    route = [(10**21, 10**21, 30), (10**21, 10**21, 30)]
    x, gross = kernel_optimum(route)
    assert x == 0.0 and gross == 0.0


def test_kernel_gives_no_size_to_a_cycle_through_an_empty_pool() -> None:
    route = [(10**21, 2 * 10**21, 30), (0, 10**21, 30)]
    x, gross = kernel_optimum(route)
    assert x == 0.0 and gross == 0.0


def test_two_pool_closed_form_matches_the_hand_derivation() -> None:
    # No fee, (r1, s1) = (1000, 4000), (r2, s2) = (4000, 4000): a = 4 * 1 = 4,
    # b = 1/1000 + (1/4000) * 4 = 0.002, x* = (sqrt(4) - 1) / 0.002 = 500,
    # gross = (sqrt(4) - 1)^2 / 0.002 = 500 (out(500) = 4 * 500 / (1 + 1) = 1000).
    x, gross = kernel_optimum([(1000, 4000, 0), (4000, 4000, 0)])
    assert math.isclose(x, 500.0) and math.isclose(gross, 500.0)
