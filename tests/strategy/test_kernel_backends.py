"""The compiled kernel (numba, an optional extra) returns the numpy kernel's numbers, bit for bit.

Skipped where numba is not installed: numpy is then the only backend and there is
nothing to compare.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.strategy import kernel
from tests.strategy.kernel_support import random_caps, table_and_coefficients

kernel_jit = pytest.importorskip("engine.strategy.kernel_jit")


@pytest.mark.parametrize("flash_factor", [1.0, 1.0009])
@pytest.mark.parametrize("capped", [False, True])
def test_numba_and_numpy_give_bit_identical_gross_profits(
    flash_factor: float, capped: bool
) -> None:
    table, coefficients = table_and_coefficients(600, seed=11)
    rng = np.random.default_rng(5)
    n = len(table)
    cap = random_caps(rng, n, capped)
    subset = np.sort(rng.choice(n, n // 3, replace=False)).astype(np.int64)
    for cycles in (None, subset):
        columns = table.sides if cycles is None else table.sides.take(cycles, axis=1)
        cap_of = None if cap is None else (cap if cycles is None else cap.take(cycles))
        _, expected = kernel.evaluate(coefficients, list(columns), flash_factor, cap_of)
        got = kernel_jit.gross_profit(
            coefficients.a, coefficients.b, table.sides, cycles, flash_factor, cap
        )
        assert np.array_equal(got.view(np.int64), expected.view(np.int64))


def test_the_compiled_kernel_is_used_only_when_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kernel, "_COMPILED", [])
    monkeypatch.delenv("ARBCTL_KERNEL", raising=False)
    assert kernel.backend() == "numpy"
    monkeypatch.setattr(kernel, "_COMPILED", [])
    monkeypatch.setenv("ARBCTL_KERNEL", "numba")
    assert kernel.backend() == "numba"
