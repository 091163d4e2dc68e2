"""The exact re-check against brute force over every integer input, on small reserves.

Small reserves make the brute force affordable and the staircase left by per-hop flooring
coarse, which is exactly where a window search around the float optimum goes wrong.
"""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.strategy import exact
from engine.strategy.exact import Route

FEES = [0, 5, 20, 25, 30, 100, 300]


@st.composite
def small_routes(draw: st.DrawFn) -> list[tuple[int, int, int]]:
    """2- or 3-hop cycles on reserves of a few hundred to a few thousand units."""
    n = draw(st.integers(2, 3))
    return [
        (draw(st.integers(50, 3000)), draw(st.integers(50, 3000)), draw(st.sampled_from(FEES)))
        for _ in range(n)
    ]


def brute_force(route: Route, flash_bps: int, cap: int | None) -> tuple[int, list[int]]:
    """Best profit over every input that could matter, and every input that reaches it.

    Beyond the last hop's reserve_out + 2 the output cannot grow, so the profit only falls.
    """
    profit = exact.profit_function(route, flash_bps)
    hi = route[-1][1] + 2 if cap is None else cap
    values = {x: profit(x) for x in range(1, hi + 1)}
    best = max(values.values())
    return best, [x for x, v in values.items() if v == best]


caps = st.one_of(st.none(), st.integers(1, 4000))


@settings(max_examples=400, deadline=None)
@given(route=small_routes(), flash_bps=st.sampled_from([0, 5, 9, 50]), cap=caps)
@example(route=[(1000, 2900, 30), (2100, 1000, 0)], flash_bps=0, cap=None)
def test_exact_optimum_earns_the_brute_force_maximum(
    route: Route, flash_bps: int, cap: int | None
) -> None:
    amount_in, profit = exact.optimal_input(route, flash_bps, cap)
    best, _ = brute_force(route, flash_bps, cap)
    assert profit == best
    assert exact.profit_function(route, flash_bps)(amount_in) == best
    assert cap is None or amount_in <= cap


@settings(max_examples=300, deadline=None)
@given(route=small_routes(), flash_bps=st.sampled_from([0, 5, 9, 50]), cap=caps)
def test_ties_go_to_the_input_nearest_the_continuous_optimum_then_the_smaller(
    route: Route, flash_bps: int, cap: int | None
) -> None:
    amount_in, profit = exact.optimal_input(route, flash_bps, cap)
    best, maximisers = brute_force(route, flash_bps, cap)
    hi = route[-1][1] + 2 if cap is None else cap
    anchor = min(max(1, exact.anchor(route, flash_bps)), hi)
    assert profit == best
    assert amount_in == min(maximisers, key=lambda x: (abs(x - anchor), x))


@settings(max_examples=200, deadline=None)
@given(route=small_routes(), flash_bps=st.sampled_from([0, 5, 9, 50]))
def test_the_anchor_is_the_last_input_where_the_relaxed_profit_still_rises(
    route: Route, flash_bps: int
) -> None:
    def relaxed(x: float) -> float:
        amount = x
        for r_in, r_out, fee in route:
            amount = (10_000 - fee) * amount * r_out / (r_in * 10_000 + (10_000 - fee) * amount)
        return amount - x * (1 + flash_bps / 10_000)

    a = exact.anchor(route, flash_bps)
    if a >= 0:
        assert relaxed(a + 1e-6) >= relaxed(a) - 1e-9
    assert relaxed(a + 1 + 1e-6) <= relaxed(a + 1) + 1e-9


@settings(max_examples=300, deadline=None)
@given(
    route=small_routes(),
    flash_bps=st.sampled_from([0, 5, 9, 50]),
    cap=caps,
    max_steps=st.integers(1, 6),
)
def test_a_walk_cut_short_bounds_what_it_missed_and_says_whether_it_is_proven(
    route: Route, flash_bps: int, cap: int | None, max_steps: int
) -> None:
    found = exact.walk(route, flash_bps, cap, max_steps)
    best, _ = brute_force(route, flash_bps, cap)
    assert found.steps <= max_steps
    assert found.profit <= best <= found.ceiling
    assert exact.profit_function(route, flash_bps)(found.amount_in) == found.profit
    if found.proven:
        assert found.profit == best == found.ceiling
