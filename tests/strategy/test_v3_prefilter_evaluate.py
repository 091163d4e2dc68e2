"""`V3Prefilter.evaluate` (the free optimum computed once, hop capacities folded with
`fmin`) gives bit for bit what the evaluation it replaced gave: the float pre-filter's
numbers decide which cycles are re-checked exactly, so a cheaper evaluate must not move
a single bit. The reference below is that earlier evaluate, kept verbatim."""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.strategy import kernel, v3_hops
from tests.strategy.test_v3_prefilter_refresh import move, prefilter, random_pools


def reference_evaluate(
    v3: v3_hops.V3Prefilter,
    coefficients: kernel.HopCoefficients,
    sides: Sequence[v3_hops.IndexArray],
    cost_factor: float,
    cap: v3_hops.FloatArray | None,
) -> tuple[v3_hops.FloatArray, v3_hops.FloatArray]:
    a_all, b_all = coefficients.a, coefficients.b
    a = np.ones(len(sides[0]), dtype=np.float64)
    b = np.zeros(len(sides[0]), dtype=np.float64)
    input_cap = np.full(len(sides[0]), np.inf) if cap is None else cap.astype(np.float64)
    range_cap = np.full(len(sides[0]), np.inf)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for hop_sides in sides:
            side_cap = v3.cap.take(hop_sides)
            room = a - b * side_cap
            hop_cap = np.where(room > 0.0, side_cap / room, np.inf)
            np.minimum(range_cap, np.where(np.isnan(hop_cap), np.inf, hop_cap), out=range_cap)
            b += b_all.take(hop_sides) * a
            a *= a_all.take(hop_sides)
        free, _ = kernel.optimum(a, b, cost_factor, None if cap is None else input_cap)
        binds = free > range_cap
        x, gross = kernel.optimum(a, b, cost_factor, np.minimum(input_cap, range_cap))
        if binds.any():
            picked = [column[binds] for column in sides]
            hi = kernel.compose_arrays(v3.a_hi, v3.b_hi, picked)
            x_hi, gross_hi = kernel.optimum(
                *hi, cost_factor, None if cap is None else input_cap[binds]
            )
            x[binds], gross[binds] = x_hi, gross_hi
    return x, gross


def random_cycles(rng: random.Random, n_sides: int) -> list[v3_hops.IndexArray]:
    hops, count = rng.randint(2, 4), rng.randint(1, 300)
    return [
        np.array([rng.randrange(n_sides) for _ in range(count)], dtype=np.int32)
        for _ in range(hops)
    ]


def same_bits(left: v3_hops.FloatArray, right: v3_hops.FloatArray) -> bool:
    return left.tobytes() == right.tobytes()


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**64 - 1))
def test_the_evaluate_gives_the_same_bits_as_the_evaluate_it_replaced(seed: int) -> None:
    pools = random_pools(seed)
    coefficients, v3 = prefilter(pools)
    rng = random.Random(seed)
    for _ in range(3):
        sides = random_cycles(rng, 2 * len(pools) + 1)
        cap = None
        if rng.random() < 0.5:
            choices = [np.inf, 0.0, 1.0, 1e6, 1e18, 1e30]
            cap = np.array([rng.choice(choices) for _ in sides[0]], dtype=np.float64)
        for cost_factor in (1.0, 1.0009):
            got = v3.evaluate(sides, cost_factor, cap)
            want = reference_evaluate(v3, coefficients, sides, cost_factor, cap)
            assert same_bits(got[0], want[0]) and same_bits(got[1], want[1])
        moved = [i for i, p in enumerate(pools) if p.v3 and p.v3.ticks.sorted_ticks()]
        for index in rng.sample(moved, rng.randint(0, len(moved))):
            move(pools[index], rng)
        coefficients.refresh(range(len(pools)))
        v3.refresh(range(len(pools)))
