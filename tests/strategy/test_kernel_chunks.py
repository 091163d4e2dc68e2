"""The numpy kernel walks the table in chunks and gives the one-pass numbers, bit for bit.

The reference is `kernel.evaluate` over the whole table (or the whole subset) at once: a
chunk changes where the buffers live, not the operations a cycle gets, so any chunk size,
including ones that divide neither the table nor the subset, must agree to the last bit
(with and without input caps, with and without a flash fee, an empty pool and a reserve
at the uint112 limit in the table).
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.strategy import kernel
from engine.strategy.cycles import CycleTable, build_cycle_table
from tests.strategy.kernel_support import random_caps, table_and_coefficients
from tests.support.synthetic_market import synthetic_market


def one_pass(
    coefficients: kernel.HopCoefficients,
    table: CycleTable,
    cycles: np.ndarray | None,
    flash_factor: float,
    cap: np.ndarray | None,
) -> np.ndarray:
    columns = table.sides if cycles is None else table.sides.take(cycles, axis=1)
    cap_of = cap if cap is None or cycles is None else cap.take(cycles)
    _, gross = kernel.evaluate(coefficients, list(columns), flash_factor, cap_of)
    return gross


@pytest.mark.parametrize("flash_factor", [1.0, 1.0009])
@pytest.mark.parametrize("capped", [False, True])
def test_a_chunked_kernel_gives_the_one_pass_profits_bit_for_bit(
    flash_factor: float, capped: bool
) -> None:
    table, coefficients = table_and_coefficients(500, seed=13)
    rng = np.random.default_rng(8)
    n = len(table)
    cap = random_caps(rng, n, capped)
    for size in (1, 7, int(rng.integers(2, n // 3)), n - 1, n, n + 5):
        subset = np.sort(rng.choice(n, int(rng.integers(1, n)), replace=False)).astype(np.int64)
        for cycles in (None, subset):
            expected = one_pass(coefficients, table, cycles, flash_factor, cap)
            got = kernel.chunked_gross_profit(
                coefficients, table.sides, cycles, flash_factor, cap, size
            )
            assert np.array_equal(got.view(np.int64), expected.view(np.int64)), size


def test_the_numpy_kernel_of_no_cycles_is_empty() -> None:
    table, coefficients = table_and_coefficients(60, seed=2)
    empty = np.empty(0, dtype=np.int64)
    got = kernel.chunked_gross_profit(coefficients, table.sides, empty, 1.0, None, 16)
    assert got.shape == (0,)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_a_pool_taking_its_whole_input_as_fee_gives_the_one_pass_numbers_too() -> None:
    """gamma = 0 makes a = b = 0: the one-pass formula divides 0 by 0 (nan), which a
    shortcut reading "a <= c means a gross of 0" would miss."""
    market = synthetic_market(80, seed=4, price_noise=0.01)
    first = next(iter(market.pools.values()))
    first.fee_bps = 10_000
    bases = [t for t in market.tokens if t.startswith("0xb")]
    table = build_cycle_table(market, bases, 3)
    coefficients = kernel.HopCoefficients(table.pools)
    coefficients.refresh_all()
    expected = one_pass(coefficients, table, None, 1.0, None)
    assert np.isnan(expected).any()
    got = kernel.chunked_gross_profit(coefficients, table.sides, None, 1.0, None, 64)
    assert np.array_equal(got.view(np.int64), expected.view(np.int64))
