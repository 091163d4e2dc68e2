"""The walk's quick path (`exact._quick`: the first step inlined, the centre's step start or
its right neighbour's) against the full walk and brute force over every integer input.

The quick path only skips the walk's machinery, never its proof: wherever it settles a
route, its answer (input, profit, proof, steps, ceiling) must be the full walk's, and the
brute-force maximiser nearest the centre. Routes are drawn with coarse tokens (the
small-reserve picture of 6- and 8-decimal tokens inside an 18-decimal cycle) and fees of
0, 30 and 100 bps, where the floors are widest and a shortcut would first skip a better
integer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from engine.strategy import exact
from engine.strategy.exact import Route
from tests.strategy.brute_force import brute_force

FEES = [0, 30, 100]
# units per "coin" of a token: 1 is an 18-decimal token's picture, 100 an 8-decimal one's
# beside it (10^10 fewer units, scaled down to keep brute force affordable), 1000 and 3000 a
# 6-decimal one's
SCALES = [1, 3, 100, 1000, 3000]


@st.composite
def routes(draw: st.DrawFn) -> list[tuple[int, int, int]]:
    """2- or 3-hop cycles on small reserves, each token at its own scale."""
    n = draw(st.integers(2, 3))
    scales = [draw(st.sampled_from(SCALES)) for _ in range(n)]
    scales.append(scales[0])
    route = []
    for i in range(n):
        depth = draw(st.integers(20, 400))
        r_in = max(2, depth * draw(st.integers(80, 125)) // 100 * scales[i] // scales[0])
        r_out = max(2, depth * draw(st.integers(80, 125)) // 100 * scales[i + 1] // scales[0])
        route.append((r_in, r_out, draw(st.sampled_from(FEES))))
    # keep the brute force affordable: the output token's reserve bounds the inputs tried
    assume(route[-1][1] <= 30_000)
    return route


@contextmanager
def full_walk_only() -> Iterator[None]:
    """Every walk without its quick path: the proven walk as it steps."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(exact, "_quick", lambda *args: None)
        yield


@contextmanager
def full_walks_counted() -> Iterator[list[int]]:
    """Counts the walks that needed the full walk after the quick path."""
    calls: list[int] = []
    full = exact._walk

    def counted(*args: object) -> exact.Optimum:
        calls.append(1)
        return full(*args)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(exact, "_walk", counted)
        yield calls


def nearest_maximiser(route: Route, flash_bps: int, cap: int | None) -> tuple[int, int]:
    best, maximisers = brute_force(route, flash_bps, cap)
    hi = route[-1][1] + 2 if cap is None else cap
    centre = min(max(1, exact.anchor(route, flash_bps)), hi)
    return min(maximisers, key=lambda x: (abs(x - centre), x)), best


@settings(max_examples=500, deadline=None)
@given(
    route=routes(),
    flash_bps=st.sampled_from([0, 9]),
    cap=st.one_of(st.none(), st.integers(1, 3000)),
)
@example(route=[(875, 477, 30), (390, 2763, 30)], flash_bps=0, cap=None)
@example(route=[(839, 2986, 0), (2802, 420, 30), (525, 2791, 100)], flash_bps=0, cap=None)
# the right neighbour first, but the centre's level earns more: the left bound must refuse it
@example(route=[(264, 30, 30), (39, 480, 100)], flash_bps=0, cap=None)
# the centre's step start ties with its nearer right neighbour: the neighbour wins
@example(route=[(286, 86, 100), (114, 435, 0)], flash_bps=0, cap=None)
@example(route=[(169, 67, 0), (83, 276000, 100), (296000, 354, 100)], flash_bps=0, cap=None)
def test_the_quick_path_gives_the_full_walks_answer_and_the_brute_force_argmax(
    route: Route, flash_bps: int, cap: int | None
) -> None:
    found = exact.walk(route, flash_bps, cap, exact.SAFETY_STEPS)
    with full_walk_only():
        stepped = exact.walk(route, flash_bps, cap, exact.SAFETY_STEPS)
    assert found == stepped
    assert (found.amount_in, found.profit) == nearest_maximiser(route, flash_bps, cap)


@pytest.mark.parametrize(
    "route",
    [
        [(875, 477, 30), (390, 2763, 30)],
        [(2078, 822, 30), (221, 1979, 30)],
        [(839, 2986, 0), (2802, 420, 30), (525, 2791, 100)],
    ],
)
def test_a_walk_whose_first_step_is_the_right_neighbour_is_settled_without_the_full_walk(
    route: Route,
) -> None:
    """The centre's step is wide and the next level's start is nearer the centre: the walk
    evaluates that start first and proves it at once, which the quick path now does too."""
    with full_walks_counted() as full:
        found = exact.walk(route, 0, None, exact.SAFETY_STEPS)
    assert full == []
    assert (found.proven, found.steps) == (True, 1)
    assert found.amount_in > exact.anchor(route, 0)  # the right neighbour's step start
    assert (found.amount_in, found.profit) == nearest_maximiser(route, 0, None)
