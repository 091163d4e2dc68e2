"""TickMath: the contract's bounds, and the inverse defined as the greatest tick ≤ price."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.market.v3.errors import UniswapV3Error
from engine.market.v3.tick_math import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    sqrt_ratio_at_tick,
    tick_at_sqrt_ratio,
)


def test_the_extreme_ticks_give_the_contracts_min_and_max_ratio() -> None:
    assert sqrt_ratio_at_tick(MIN_TICK) == MIN_SQRT_RATIO
    assert sqrt_ratio_at_tick(MAX_TICK) == MAX_SQRT_RATIO
    assert sqrt_ratio_at_tick(0) == 1 << 96


def test_ticks_beyond_the_range_revert_with_the_contracts_reason() -> None:
    with pytest.raises(UniswapV3Error, match="T"):
        sqrt_ratio_at_tick(MAX_TICK + 1)
    with pytest.raises(UniswapV3Error, match="R"):
        tick_at_sqrt_ratio(MAX_SQRT_RATIO)


@given(st.integers(MIN_TICK, MAX_TICK - 1))
def test_the_inverse_is_the_greatest_tick_whose_ratio_is_not_above_the_price(tick: int) -> None:
    ratio = sqrt_ratio_at_tick(tick)
    assert ratio < sqrt_ratio_at_tick(tick + 1)
    assert tick_at_sqrt_ratio(ratio) == tick
    assert tick_at_sqrt_ratio(sqrt_ratio_at_tick(tick + 1) - 1) == tick
