"""The exact re-check against brute force over every integer input, on small reserves.

Small reserves make the brute force affordable and the staircase left by per-hop flooring
coarse, which is exactly where a window search around the float optimum goes wrong.
"""

from __future__ import annotations

import random

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from engine.strategy import exact
from engine.strategy import search as search_module
from engine.strategy.exact import Route
from tests.strategy.brute_force import brute_force

FEES = [0, 5, 20, 25, 30, 100, 300]


@st.composite
def small_routes(draw: st.DrawFn) -> list[tuple[int, int, int]]:
    """2- or 3-hop cycles on reserves of a few hundred to a few thousand units."""
    n = draw(st.integers(2, 3))
    return [
        (draw(st.integers(50, 3000)), draw(st.integers(50, 3000)), draw(st.sampled_from(FEES)))
        for _ in range(n)
    ]


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


# -- the daemon's budget: always the proven argmax (issue 13.5, issue 19.3) ------------------

DAEMON_STEPS = search_module._MAX_WALK_STEPS


@st.composite
def coarse_routes(draw: st.DrawFn) -> list[tuple[int, int, int]]:
    """2- or 3-hop cycles whose tokens have units of very different worth.

    Each token gets a scale (units per "coin"): a token with scale 1 next to one with scale
    1,000 is the small-reserve picture of USDC (6 decimals) inside a WETH (18) cycle, so
    one unit of it spans many units of its neighbours and the floors are wide.
    """
    n = draw(st.integers(2, 3))
    scales = [draw(st.sampled_from([1, 3, 10, 40, 300, 1000])) for _ in range(n)]
    scales.append(scales[0])
    route = []
    for i in range(n):
        depth = draw(st.integers(2, 20))
        noise_in, noise_out = draw(st.integers(80, 125)), draw(st.integers(80, 125))
        r_in = max(2, depth * scales[i] * noise_in // 100)
        r_out = max(2, depth * scales[i + 1] * noise_out // 100)
        route.append((r_in, r_out, draw(st.sampled_from(FEES))))
    # keep the brute force affordable: the output token's reserve bounds the inputs tried
    assume(route[-1][1] <= 30_000)
    return route


@settings(max_examples=400, deadline=None)
@given(route=coarse_routes(), flash_bps=st.sampled_from([0, 5, 9, 50]), cap=caps)
@example(route=[(36615, 23093, 100), (49802, 55505, 0), (8275, 28338, 5)], flash_bps=0, cap=None)
@example(route=[(12215, 19435, 30), (22542, 31010, 25)], flash_bps=0, cap=None)
@example(route=[(33457, 53952, 5), (26655, 55540, 100)], flash_bps=0, cap=None)
def test_the_daemon_budget_always_proves_the_brute_force_argmax(
    route: Route, flash_bps: int, cap: int | None
) -> None:
    found = exact.walk(route, flash_bps, cap, DAEMON_STEPS)
    best, maximisers = brute_force(route, flash_bps, cap)
    hi = route[-1][1] + 2 if cap is None else cap
    anchor = min(max(1, exact.anchor(route, flash_bps)), hi)
    assert found.proven
    assert found.profit == best == found.ceiling
    assert found.amount_in == min(maximisers, key=lambda x: (abs(x - anchor), x))


# Two coarse intermediate tokens on real-sized reserves, from the 10k-pool benchmark market
# (tests.support.synthetic_market, seed 10000): the old walk took 144,586 and 40,447 steps
# to prove these; with the daemon's 64 it stopped short. Expected values: the old walk run
# unbudgeted (a proof, just a slow one).
HARD_ROUTES = [
    (
        [
            (1927905787854797727072256, 649255212783971205120, 30),
            (1891641034755396075520, 93778911896214897164288, 30),
            (78085917585569935785984, 4778917586215970856239104, 20),
        ],
        7487657953514306799990,
        50806441643101773282,
    ),
    (
        [
            (771206098189004439552, 2335833190565, 30),
            (8817726490532, 9579398249032, 30),
            (4268713066006, 1329140129758182899712, 30),
        ],
        3186529902942987349,
        24350500365605347,
    ),
]


def test_routes_with_two_coarse_tokens_are_proven_within_the_daemon_budget() -> None:
    for route, amount_in, profit in HARD_ROUTES:
        found = exact.walk(route, 0, None, DAEMON_STEPS)
        assert found.proven, route
        assert (found.amount_in, found.profit) == (amount_in, profit)


def test_walks_that_jump_still_earn_the_brute_force_maximum_nearest_the_anchor() -> None:
    """Jumps need windows of many levels, which small-reserve routes rarely have: routes
    with up to ~10⁵ output units and tokens whose units differ by up to 5,000x, drawn from
    a fixed seed until 40 walks have jumped, each against brute force over every input."""
    rng = random.Random(7)
    jumped = 0
    while jumped < 40:
        n = rng.choice((2, 3))
        scales = [rng.choice([1, 3, 10, 40, 300, 1000, 5000]) for _ in range(n)]
        scales.append(scales[0])
        route = []
        for i in range(n):
            depth = rng.randint(2, 60)
            r_in = max(2, depth * scales[i] * rng.randint(80, 125) // 100)
            r_out = max(2, depth * scales[i + 1] * rng.randint(80, 125) // 100)
            route.append((r_in, r_out, rng.choice(FEES)))
        if route[-1][1] > 120_000:
            continue
        flash_bps = rng.choice([0, 5, 9, 50])
        found = exact.walk(route, flash_bps)
        if found.jumps == 0:
            continue
        jumped += 1
        best, maximisers = brute_force(route, flash_bps, None)
        anchor = min(max(1, exact.anchor(route, flash_bps)), route[-1][1] + 2)
        assert found.proven and found.profit == best, route
        assert found.amount_in == min(maximisers, key=lambda x: (abs(x - anchor), x)), route
