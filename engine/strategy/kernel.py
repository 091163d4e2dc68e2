"""Vectorised closed-form optimum of every cycle at once (float64 pre-filter).

A Uniswap V2 hop with fee factor γ and reserves (r, s) maps an input x to γ s x / (r + γ x),
a Möbius map; a cycle composes them into out(x) = K x / (M + N x). Dividing through by M
(the per-cycle scale that keeps numbers small) gives out(x) = a x / (1 + b x) with

    per hop:  a_i = γ s / r,   b_i = γ / r
    compose:  a <- a · a_i,    b <- b + b_i · a_before

which is the (K, M, N) recurrence over M. The numbers stay ratios of reserves, so reserves
up to 2**112 neither overflow nor lose precision. With a flash fee, cost is c·x, c = 1 + φ:

    x* = (sqrt(a / c) - 1) / b,   profitable iff a > c,   gross(x*) = c (sqrt(a/c) - 1)² / b

Per-hop coefficients are stored per pool *side* and refreshed only for pools that changed;
each cycle then costs three gathers and a dozen flops.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from engine.market.amm import FEE_DENOMINATOR
from engine.market.model import Pool

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.int32]


class HopCoefficients:
    """(a, b) of every pool side, plus one identity side (a=1, b=0) used as padding.

    Side 2p sells token0 of pool p, side 2p+1 sells token1. A pool with an empty reserve
    gets a=0 (a cycle through it can never pay back), keeping divisions finite.
    """

    def __init__(self, pools: Sequence[Pool]) -> None:
        self._pools = pools
        n_sides = 2 * len(pools) + 1
        self.a = np.zeros(n_sides, dtype=np.float64)
        self.b = np.ones(n_sides, dtype=np.float64)
        self.a[-1], self.b[-1] = 1.0, 0.0
        gammas = [(FEE_DENOMINATOR - p.fee_bps) / FEE_DENOMINATOR for p in pools]
        self._gamma = np.array(gammas, dtype=np.float64)

    def refresh_all(self) -> None:
        self.refresh(range(len(self._pools)))

    def refresh(self, pool_indices: Sequence[int]) -> None:
        """Re-read reserves of these pools from the live market objects."""
        if not len(pool_indices):
            return
        selected = [self._pools[i] for i in pool_indices]
        # numpy rounds Python ints of any size to the nearest float, like float() does
        r0 = np.array([p.reserve0 for p in selected], dtype=np.float64)
        r1 = np.array([p.reserve1 for p in selected], dtype=np.float64)
        indices = np.asarray(pool_indices, dtype=np.int64)
        gamma = self._gamma[indices]
        live = (r0 > 0) & (r1 > 0)
        safe0, safe1 = np.where(live, r0, 1.0), np.where(live, r1, 1.0)
        even, odd = 2 * indices, 2 * indices + 1
        self.a[even] = np.where(live, gamma * safe1 / safe0, 0.0)
        self.b[even] = np.where(live, gamma / safe0, 1.0)
        self.a[odd] = np.where(live, gamma * safe0 / safe1, 0.0)
        self.b[odd] = np.where(live, gamma / safe1, 1.0)


def compose(
    coefficients: HopCoefficients, sides: Sequence[IndexArray]
) -> tuple[FloatArray, FloatArray]:
    """(a, b) of each cycle's composed map; `sides[h]` holds hop h's side per cycle."""
    coeff_a, coeff_b = coefficients.a, coefficients.b
    a = coeff_a.take(sides[0])
    b = coeff_b.take(sides[0])
    for hop_sides in sides[1:]:
        b += coeff_b.take(hop_sides) * a
        a *= coeff_a.take(hop_sides)
    return a, b


def optimum(
    a: FloatArray, b: FloatArray, cost_factor: float = 1.0, cap: FloatArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """(x*, gross profit at x*) per cycle; x* = 0 and gross = 0 where no input pays back.

    `cost_factor` is 1 + flash fee rate; `cap` bounds the input per cycle (inf = no cap).
    """
    root = np.sqrt(a / cost_factor)
    root -= 1.0
    np.maximum(root, 0.0, out=root)
    x = root / b
    if cap is None:
        gross = root * x
        gross *= cost_factor
        return x, gross
    np.minimum(x, cap, out=x)
    gross = a * x / (1.0 + b * x) - cost_factor * x
    return x, gross


def evaluate(
    coefficients: HopCoefficients,
    sides: Sequence[IndexArray],
    cost_factor: float = 1.0,
    cap: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Optimal float input and gross profit (after flash fee, before gas) per cycle."""
    a, b = compose(coefficients, sides)
    return optimum(a, b, cost_factor, cap)
