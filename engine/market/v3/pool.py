"""One V3 pool's state and its `swap` loop, exact to the unit.

`swap` is `UniswapV3Pool.swap` without the token transfers: the same loop over
`compute_swap_step`, the same tick crossing with `liquidityNet` (negated when moving
down), the same tick bookkeeping after a partial step. It is a pure function of the
state: it returns the amounts and the state after the swap, and never mutates the pool,
so the search can price many candidate sizes against one snapshot.

State changes come from the chain: `Swap` logs carry the new price, tick and liquidity;
`Mint`/`Burn` logs move `liquidityNet` at their ticks (and the active liquidity when the
range holds the current tick), which is what `apply_mint`/`apply_burn` do.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.market.v3.errors import UniswapV3Error
from engine.market.v3.swap_math import PIPS, compute_swap_step
from engine.market.v3.tick_math import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    sqrt_ratio_at_tick,
    tick_at_sqrt_ratio,
)
from engine.market.v3.ticks import TickTable

MAX_STEPS = 8_192  # a full sweep of the tick range at spacing 1 is ~6,932 word stops


@dataclass(slots=True)
class V3PoolState:
    """What a swap reads: price, tick, active liquidity, fee and the initialised ticks."""

    sqrt_price_x96: int
    tick: int
    liquidity: int
    fee_pips: int
    ticks: TickTable

    def copy(self) -> V3PoolState:
        return V3PoolState(
            self.sqrt_price_x96, self.tick, self.liquidity, self.fee_pips, self.ticks.copy()
        )


@dataclass(frozen=True, slots=True)
class SwapResult:
    """Signed amounts from the pool's view (positive: the pool receives), and the state after."""

    amount0: int
    amount1: int
    sqrt_price_x96: int
    tick: int
    liquidity: int
    ticks_crossed: int


def default_limit(zero_for_one: bool) -> int:
    """The loosest price limit the pool accepts (what routers and quoters use for 0)."""
    return MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1


def swap(
    state: V3PoolState,
    zero_for_one: bool,
    amount_specified: int,
    sqrt_price_limit_x96: int | None = None,
) -> SwapResult:
    """`UniswapV3Pool.swap`: exact input when `amount_specified` > 0, exact output when < 0."""
    if amount_specified == 0:
        raise UniswapV3Error("AS")
    if not 0 <= state.fee_pips < PIPS:
        raise UniswapV3Error(f"fee must be in [0, {PIPS}) pips, got {state.fee_pips}")
    limit = default_limit(zero_for_one) if sqrt_price_limit_x96 is None else sqrt_price_limit_x96
    _check_limit(state.sqrt_price_x96, limit, zero_for_one)
    exact_input = amount_specified > 0
    remaining, calculated = amount_specified, 0
    sqrt_price, tick, liquidity = state.sqrt_price_x96, state.tick, state.liquidity
    crossed = 0
    for _ in range(MAX_STEPS):
        if remaining == 0 or sqrt_price == limit:
            break
        start = sqrt_price
        tick_next, initialized = state.ticks.next_initialized_within_word(tick, zero_for_one)
        tick_next = max(MIN_TICK, min(MAX_TICK, tick_next))
        sqrt_next = sqrt_ratio_at_tick(tick_next)
        beyond = sqrt_next < limit if zero_for_one else sqrt_next > limit
        step = compute_swap_step(
            sqrt_price, limit if beyond else sqrt_next, liquidity, remaining, state.fee_pips
        )
        sqrt_price = step.sqrt_next
        if exact_input:
            remaining -= step.amount_in + step.fee_amount
            calculated -= step.amount_out
        else:
            remaining += step.amount_out
            calculated += step.amount_in + step.fee_amount
        if sqrt_price == sqrt_next:
            if initialized:
                net = state.ticks.liquidity_net(tick_next)
                liquidity = _add_delta(liquidity, -net if zero_for_one else net)
                crossed += 1
            tick = tick_next - 1 if zero_for_one else tick_next
        elif sqrt_price != start:
            tick = tick_at_sqrt_ratio(sqrt_price)
    else:
        raise UniswapV3Error(f"swap did not finish within {MAX_STEPS} steps")
    if zero_for_one == exact_input:
        amount0, amount1 = amount_specified - remaining, calculated
    else:
        amount0, amount1 = calculated, amount_specified - remaining
    return SwapResult(amount0, amount1, sqrt_price, tick, liquidity, crossed)


def _check_limit(sqrt_price: int, limit: int, zero_for_one: bool) -> None:
    if zero_for_one:
        ok = MIN_SQRT_RATIO < limit < sqrt_price
    else:
        ok = sqrt_price < limit < MAX_SQRT_RATIO
    if not ok:
        raise UniswapV3Error("SPL")


def _add_delta(liquidity: int, delta: int) -> int:
    result = liquidity + delta
    if result < 0:
        raise UniswapV3Error("LS" if delta < 0 else "LA")
    return result


def amount_out(state: V3PoolState, zero_for_one: bool, amount_in: int) -> int:
    """Output for an exact input (what QuoterV2.quoteExactInputSingle returns)."""
    result = swap(state, zero_for_one, amount_in)
    return -(result.amount1 if zero_for_one else result.amount0)


def amount_in(state: V3PoolState, zero_for_one: bool, amount_out_wanted: int) -> int:
    """Input needed for an exact output (QuoterV2.quoteExactOutputSingle)."""
    result = swap(state, zero_for_one, -amount_out_wanted)
    return result.amount0 if zero_for_one else result.amount1


def apply_swap(state: V3PoolState, sqrt_price_x96: int, tick: int, liquidity: int) -> None:
    """A `Swap` log: the pool's new price, tick and active liquidity, as the log says."""
    state.sqrt_price_x96, state.tick, state.liquidity = sqrt_price_x96, tick, liquidity


def apply_mint(state: V3PoolState, tick_lower: int, tick_upper: int, amount: int) -> None:
    """A `Mint` log: `amount` of liquidity added over [tick_lower, tick_upper)."""
    _modify_position(state, tick_lower, tick_upper, amount)


def apply_burn(state: V3PoolState, tick_lower: int, tick_upper: int, amount: int) -> None:
    """A `Burn` log: `amount` of liquidity removed over [tick_lower, tick_upper)."""
    _modify_position(state, tick_lower, tick_upper, -amount)


def _modify_position(state: V3PoolState, lower: int, upper: int, delta: int) -> None:
    if not (MIN_TICK <= lower < upper <= MAX_TICK):
        raise UniswapV3Error("TLU" if lower >= upper else "TLM" if lower < MIN_TICK else "TUM")
    if delta == 0:
        return
    state.ticks.update(lower, delta, upper=False)
    state.ticks.update(upper, delta, upper=True)
    if lower <= state.tick < upper:
        state.liquidity = _add_delta(state.liquidity, delta)


def state_at_price(sqrt_price_x96: int, fee_pips: int, spacing: int) -> V3PoolState:
    """A freshly initialised pool (`initialize`): no liquidity, tick from the price."""
    return V3PoolState(
        sqrt_price_x96, tick_at_sqrt_ratio(sqrt_price_x96), 0, fee_pips, TickTable(spacing)
    )
