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

The numpy backend walks the cycles in chunks of `_CHUNK` (a few hundred kB of scratch per
buffer, so every pass over a chunk stays in the core's L2) into buffers allocated once per
call, with `out=` ufuncs, instead of a dozen whole-table temporaries (8 MB each at 1M
cycles, each written to and read back from memory). Every cycle gets the same IEEE
operations in the same order whatever its chunk, so the numbers are bit-identical to one
pass over the whole table (`compose` + `optimum`, which `v3_hops` and the tests keep using)
and to the compiled backend.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from engine.market.amm import FEE_DENOMINATOR
from engine.market.model import Pool

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.int32]
_Compiled = Callable[
    [FloatArray, FloatArray, IndexArray, npt.NDArray[np.int64] | None, float, FloatArray | None],
    FloatArray,
]


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
        # every side's b > 0 (a fee under 100 %): a <= c then means a gross of exactly 0
        self.positive_b = bool(np.all(self._gamma > 0.0))

    def refresh_all(self) -> None:
        self.refresh(range(len(self._pools)))

    def refresh(self, pool_indices: Sequence[int] | npt.NDArray[np.int64]) -> None:
        """Re-read reserves of these pools from the live market objects.

        Reading two Python ints per pool is the floor (~100 ns a pool); the rest is a few
        whole-array operations, not per-pool work.
        """
        if not len(pool_indices):
            return
        pools = self._pools
        listed = pool_indices.tolist() if isinstance(pool_indices, np.ndarray) else pool_indices
        selected = [pools[i] for i in listed]
        # numpy rounds Python ints of any size to the nearest float, like float() does
        r0 = np.array([p.reserve0 for p in selected], dtype=np.float64)
        r1 = np.array([p.reserve1 for p in selected], dtype=np.float64)
        self.set_reserves(np.asarray(pool_indices, dtype=np.int64), r0, r1)

    def set_reserves(self, indices: npt.NDArray[np.int64], r0: FloatArray, r1: FloatArray) -> None:
        """These pools' coefficients from their float reserves (distinct indices; `r0`
        and `r1` are overwritten): what a venue wrote through the reserve log, or what
        `refresh` read from the objects."""
        gamma = self._gamma[indices]
        dead = (r0 <= 0) | (r1 <= 0)
        if dead.any():
            r0[dead], r1[dead] = 1.0, 1.0
        a_even, b_even = gamma * r1 / r0, gamma / r0
        a_odd, b_odd = gamma * r0 / r1, gamma / r1
        if dead.any():
            a_even[dead], b_even[dead], a_odd[dead], b_odd[dead] = 0.0, 1.0, 0.0, 1.0
        even = 2 * indices
        self.a[even], self.b[even] = a_even, b_even
        even += 1
        self.a[even], self.b[even] = a_odd, b_odd


def compose(
    coefficients: HopCoefficients, sides: Sequence[IndexArray]
) -> tuple[FloatArray, FloatArray]:
    """(a, b) of each cycle's composed map; `sides[h]` holds hop h's side per cycle."""
    return compose_arrays(coefficients.a, coefficients.b, sides)


def compose_arrays(
    coeff_a: FloatArray, coeff_b: FloatArray, sides: Sequence[IndexArray]
) -> tuple[FloatArray, FloatArray]:
    """`compose` on bare coefficient columns (the V3 pre-filter's range-capped ones too)."""
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


def gross_profit(
    coefficients: HopCoefficients,
    sides: IndexArray,
    cycles: npt.NDArray[np.int64] | None,
    cost_factor: float = 1.0,
    cap: FloatArray | None = None,
) -> FloatArray:
    """Gross profit at the float optimum of `cycles` (None: every cycle) of `sides`.

    `sides` is the table's (hops, n_cycles) array. The compiled backend
    (`engine.strategy.kernel_jit`, when numba is installed) fuses the gathers and the
    closed form into one loop and returns bit-identical numbers.
    """
    compiled = _compiled()
    if compiled is not None:
        return compiled(coefficients.a, coefficients.b, sides, cycles, cost_factor, cap)
    return chunked_gross_profit(coefficients, sides, cycles, cost_factor, cap, _CHUNK)


# Cycles per chunk of the numpy backend: 32k cycles keep its five float buffers (1.3 MB)
# and the chunk's sides near the core (measured at 100k pools: 8k-128k all within 15 %,
# 32k best; the whole table at once is 35 % slower).
_CHUNK = 32_768


def chunked_gross_profit(
    coefficients: HopCoefficients,
    sides: IndexArray,
    cycles: npt.NDArray[np.int64] | None,
    cost_factor: float,
    cap: FloatArray | None,
    chunk: int,
) -> FloatArray:
    """`gross_profit` with numpy, `chunk` cycles at a time (bit-identical for any chunk)."""
    n = sides.shape[1] if cycles is None else len(cycles)
    gross = np.empty(n, dtype=np.float64)
    scratch = _Scratch(min(n, chunk))
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        if cycles is None:
            columns = sides[:, start:stop]
            capped = None if cap is None else cap[start:stop]
        else:
            picked = cycles[start:stop]
            columns = sides.take(picked, axis=1)
            capped = None if cap is None else cap.take(picked)
        scratch.gross(coefficients, columns, cost_factor, capped, gross[start:stop])
    return gross


class _Scratch:
    """One chunk's buffers: the composed `a` of each cycle, a temporary, the side indices.

    A cycle whose composed `a` is at most the cost factor cannot pay back any input: its
    root `sqrt(a / c) - 1` is at most 0, so `optimum` gives x = 0 and a gross of exactly
    0.0, provided its b > 0 (b is at least the first hop's b, which is > 0 unless a pool
    takes its whole input as fee: `HopCoefficients.positive_b`) and its cap is not
    negative. So a chunk composes `a` alone (half the gathers), and only its other
    cycles (a few percent of a market) go through `evaluate`, which gives them the
    one-pass numbers; a table where the shortcut does not hold takes `evaluate` whole.
    """

    def __init__(self, size: int) -> None:
        self.a = np.empty(size, dtype=np.float64)
        self.t = np.empty(size, dtype=np.float64)
        self.side = np.empty(size, dtype=np.intp)
        self.live = np.empty(size, dtype=np.bool_)

    def gross(
        self,
        coefficients: HopCoefficients,
        columns: IndexArray,
        cost_factor: float,
        cap: FloatArray | None,
        out: FloatArray,
    ) -> None:
        """The gross profit of these cycles (`columns[h]`: hop h's sides) into `out`."""
        if not coefficients.positive_b:
            out[:] = evaluate(coefficients, list(columns), cost_factor, cap)[1]
            return
        m = columns.shape[1]
        a, t, side = self.a[:m], self.t[:m], self.side[:m]
        coeff_a = coefficients.a
        for hop in range(columns.shape[0]):
            side[...] = columns[hop]  # numpy's take would convert int32 indices per call
            if hop == 0:
                coeff_a.take(side, out=a, mode="clip")
                continue
            coeff_a.take(side, out=t, mode="clip")
            a *= t  # compose()'s `a`, in its order
        # not (a <= c): a nan goes the full way too, as does a negative or nan cap
        live = np.less_equal(a, cost_factor, out=self.live[:m])
        np.logical_not(live, out=live)
        if cap is not None:
            live |= ~(cap >= 0.0)
        found = np.flatnonzero(live)
        out.fill(0.0)
        if not len(found):
            return
        capped = None if cap is None else cap.take(found)
        _, gross = evaluate(coefficients, list(columns.take(found, axis=1)), cost_factor, capped)
        out[found] = gross


_COMPILED: list[object] = []


def _compiled() -> _Compiled | None:
    """The numba backend when asked for (ARBCTL_KERNEL=numba) and installed, else None.

    Opt-in, not automatic: numba and LLVM add ~115 MB of RSS and ~1 s to the first
    search of a process (loading the compiled cache; ~4 s compiling it the first time),
    for about half the kernel stage (docs/benchmarks.md, "Scaling of the per-block
    decision"). Chosen once per process.
    """
    if not _COMPILED:
        _COMPILED.append(_load_compiled())
    found = _COMPILED[0]
    return found if callable(found) else None


def _load_compiled() -> _Compiled | None:
    if os.environ.get("ARBCTL_KERNEL", "numpy").lower() != "numba":
        return None
    return _import_compiled()


def _import_compiled() -> _Compiled | None:
    try:
        from engine.strategy import kernel_jit
    except ImportError:
        return None
    return kernel_jit.gross_profit


def backend() -> str:
    """ "numba" or "numpy": which kernel `gross_profit` runs."""
    return "numba" if _compiled() is not None else "numpy"
