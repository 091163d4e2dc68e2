"""The quote-only V3 swap (`pool.quote`) against the state-updating one (`pool.swap`).

`quote` runs the same loop but skips the final `getTickAtSqrtRatio` (a quote never reads
the tick after the swap); the amounts must be the swap's to the unit on any tick layout,
either direction, exact input or output, with or without a price limit, and it must
refuse exactly where the swap refuses. `quote_exact_input`, the search's case with
`computeSwapStep` inlined, is held to the same on amounts up to past 2^256. The swap
itself is held to an independent fact: after it, the active liquidity is the sum of the
positions whose range holds the new tick, which only a correct tick crossing gives.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.market.v3 import pool as v3pool
from engine.market.v3.errors import UniswapV3Error
from engine.market.v3.tick_math import MAX_TICK, MIN_TICK, sqrt_ratio_at_tick

Position = tuple[int, int, int]  # (lower, upper, liquidity)


@st.composite
def layouts(draw: st.DrawFn) -> tuple[v3pool.V3PoolState, list[Position]]:
    spacing = draw(st.sampled_from([1, 10, 60, 200]))
    tick = draw(st.integers(-2_000, 2_000)) * spacing // 4
    state = v3pool.state_at_price(
        sqrt_ratio_at_tick(tick) + draw(st.integers(0, 10**12)),
        draw(st.sampled_from([0, 100, 500, 3000, 10_000])),
        spacing,
    )
    positions: list[Position] = []
    for _ in range(draw(st.integers(0, 8))):
        lower = draw(st.integers(-600, 600)) * spacing
        width = draw(st.integers(1, 300)) * spacing
        upper = min(lower + width, MAX_TICK // spacing * spacing)
        lower = max(lower, -(-MIN_TICK // spacing) * spacing)
        if lower >= upper:
            continue
        liquidity = draw(st.integers(1, 10**24))
        v3pool.apply_mint(state, lower, upper, liquidity)
        positions.append((lower, upper, liquidity))
    return state, positions


def _limit(zero_for_one: bool, state: v3pool.V3PoolState, ticks_away: int | None) -> int | None:
    if ticks_away is None:
        return None
    away = -ticks_away if zero_for_one else ticks_away
    tick = max(MIN_TICK + 1, min(MAX_TICK - 1, state.tick + away))
    return sqrt_ratio_at_tick(tick)


def _outcome(call: object) -> object:
    try:
        return call()  # type: ignore[operator]
    except UniswapV3Error as error:
        return type(error), str(error)


@settings(max_examples=400, deadline=None)
@given(
    layout=layouts(),
    zero_for_one=st.booleans(),
    magnitude=st.integers(0, 30),
    exact_input=st.booleans(),
    ticks_away=st.none() | st.integers(1, 20_000),
)
def test_a_quote_pays_exactly_what_the_full_swap_pays_on_any_tick_layout(
    layout: tuple[v3pool.V3PoolState, list[Position]],
    zero_for_one: bool,
    magnitude: int,
    exact_input: bool,
    ticks_away: int | None,
) -> None:
    state, _ = layout
    amount = (10**magnitude + magnitude) * (1 if exact_input else -1)
    limit = _limit(zero_for_one, state, ticks_away)

    def full() -> tuple[int, int]:
        result = v3pool.swap(state, zero_for_one, amount, limit)
        return result.amount0, result.amount1

    assert _outcome(lambda: v3pool.quote(state, zero_for_one, amount, limit)) == _outcome(full)


@settings(max_examples=400, deadline=None)
@given(
    layout=layouts(),
    zero_for_one=st.booleans(),
    amount=st.integers(1, 10**30) | st.integers(1, 1 << 260),
)
def test_the_exact_input_quote_pays_what_the_full_swap_pays_and_refuses_where_it_refuses(
    layout: tuple[v3pool.V3PoolState, list[Position]], zero_for_one: bool, amount: int
) -> None:
    state, _ = layout

    def full() -> tuple[int, int]:
        result = v3pool.swap(state, zero_for_one, amount)
        return result.amount0, result.amount1

    fast = _outcome(lambda: v3pool.quote_exact_input(state, zero_for_one, amount))
    assert fast == _outcome(full)
    half = max(1, amount // 2)  # again on the table's memoised stops, from the same tick
    assert _outcome(lambda: v3pool.quote_exact_input(state, zero_for_one, half)) == _outcome(
        lambda: v3pool.quote(state, zero_for_one, half)
    )


@settings(max_examples=200, deadline=None)
@given(layout=layouts(), zero_for_one=st.booleans(), magnitude=st.integers(0, 30))
def test_after_a_swap_the_active_liquidity_is_that_of_the_positions_holding_the_new_tick(
    layout: tuple[v3pool.V3PoolState, list[Position]], zero_for_one: bool, magnitude: int
) -> None:
    state, positions = layout
    try:
        result = v3pool.swap(state, zero_for_one, 10**magnitude + 7)
    except UniswapV3Error:
        return
    held = sum(liq for lower, upper, liq in positions if lower <= result.tick < upper)
    assert result.liquidity == held
