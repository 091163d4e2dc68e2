"""The float pre-filter compiled with numba: one loop per cycle instead of a dozen passes.

Optional (`pip install arbctl[fast]`, then ARBCTL_KERNEL=numba):
`engine.strategy.kernel.gross_profit` uses it when asked for and importable, numpy
otherwise. The loop does the numpy kernel's
operations in the same order with IEEE semantics (no fastmath, so no fused multiply-add
or reassociation; numpy's error model, so a division by zero gives inf or nan as in
numpy instead of raising), so both backends return bit-identical profits
(tests/strategy/test_kernel_backends.py). Compiled code is cached next to this module
(`cache=True`); the first call in a fresh checkout compiles for about a second.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

_F = TypeVar("_F", bound=Callable[..., Any])


def _jit(function: _F) -> _F:
    """numba's njit, typed (numba ships no type information: without this, mypy sees an
    untyped decorator where numba is not installed)."""
    return cast(_F, numba.njit(cache=True, nogil=True, error_model="numpy")(function))


FloatArray = npt.NDArray[np.float64]


@_jit
def _cycle_gross(
    coeff_a: FloatArray,
    coeff_b: FloatArray,
    s0: int,
    s1: int,
    s2: int,
    c: float,
    capped: bool,
    cap: float,
) -> float:
    a = coeff_a[s0]
    b = coeff_b[s0]
    b += coeff_b[s1] * a
    a *= coeff_a[s1]
    b += coeff_b[s2] * a
    a *= coeff_a[s2]
    root = math.sqrt(a / c)
    root -= 1.0
    root = max(root, 0.0)
    x = root / b
    if not capped:  # as numpy: with a cap array, uncapped cycles take the capped formula
        gross: float = root * x
        return gross * c
    x = min(x, cap)
    return float(a * x / (1.0 + b * x) - c * x)


@_jit
def _gross_of(
    coeff_a: FloatArray,
    coeff_b: FloatArray,
    sides: npt.NDArray[np.int32],
    cycles: npt.NDArray[np.int64],
    c: float,
    caps: FloatArray,
    capped: bool,
) -> FloatArray:
    out = np.empty(len(cycles), dtype=np.float64)
    for i in range(len(cycles)):
        k = cycles[i]
        cap = caps[k] if capped else math.inf
        out[i] = _cycle_gross(
            coeff_a, coeff_b, sides[0, k], sides[1, k], sides[2, k], c, capped, cap
        )
    return out


@_jit
def _gross_all(
    coeff_a: FloatArray,
    coeff_b: FloatArray,
    sides: npt.NDArray[np.int32],
    c: float,
    caps: FloatArray,
    capped: bool,
) -> FloatArray:
    n = sides.shape[1]
    out = np.empty(n, dtype=np.float64)
    for k in range(n):
        cap = caps[k] if capped else math.inf
        out[k] = _cycle_gross(
            coeff_a, coeff_b, sides[0, k], sides[1, k], sides[2, k], c, capped, cap
        )
    return out


_NO_CAP = np.empty(0, dtype=np.float64)


def gross_profit(
    coeff_a: FloatArray,
    coeff_b: FloatArray,
    sides: npt.NDArray[np.int32],
    cycles: npt.NDArray[np.int64] | None,
    cost_factor: float,
    cap: FloatArray | None,
) -> FloatArray:
    """`engine.strategy.kernel.gross_profit`, compiled (same arguments, same numbers)."""
    caps = _NO_CAP if cap is None else cap
    if cycles is None:
        result: FloatArray = _gross_all(coeff_a, coeff_b, sides, cost_factor, caps, cap is not None)
    else:
        result = _gross_of(coeff_a, coeff_b, sides, cycles, cost_factor, caps, cap is not None)
    return result
