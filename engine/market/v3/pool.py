"""One V3 pool's state and its `swap` loop, exact to the unit.

`swap` is `UniswapV3Pool.swap` without the token transfers: the same loop over
`compute_swap_step`, the same tick crossing with `liquidityNet` (negated when moving
down), the same tick bookkeeping after a partial step. It is a pure function of the
state: it returns the amounts and the state after the swap, and never mutates the pool,
so the search can price many candidate sizes against one snapshot. `quote` is the same
loop without the final `getTickAtSqrtRatio` (only the state after the swap needs it), and
`quote_exact_input` the search's case (exact input, default limit) with `computeSwapStep`
inlined; both return the swap's amounts to the unit (`tests/market/v3/test_quote.py`, and
the QuoterV2 comparison on the real contracts).

State changes come from the chain: `Swap` logs carry the new price, tick and liquidity;
`Mint`/`Burn` logs move `liquidityNet` at their ticks (and the active liquidity when the
range holds the current tick), which is what `apply_mint`/`apply_burn` do.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.market.v3.errors import UniswapV3Error
from engine.market.v3.sqrt_price_math import Q96, UINT160_MAX
from engine.market.v3.sqrt_price_math import UINT256_LIMIT as _UINT256_LIMIT
from engine.market.v3.swap_math import PIPS, swap_step
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
    return SwapResult(*_run(state, zero_for_one, amount_specified, sqrt_price_limit_x96, True))


def quote(
    state: V3PoolState,
    zero_for_one: bool,
    amount_specified: int,
    sqrt_price_limit_x96: int | None = None,
) -> tuple[int, int]:
    """`swap`'s (amount0, amount1) alone, what a quoter returns: the same loop, without
    the final `getTickAtSqrtRatio` that only the state after the swap needs (a float
    estimate and two or more exact `getSqrtRatioAtTick` per call, ~20 % of a short swap)."""
    result = _run(state, zero_for_one, amount_specified, sqrt_price_limit_x96, False)
    return result[0], result[1]


def _run(
    state: V3PoolState,
    zero_for_one: bool,
    amount_specified: int,
    sqrt_price_limit_x96: int | None,
    final_tick: bool,
) -> tuple[int, int, int, int, int, int]:
    """The swap loop: (amount0, amount1, sqrt price, tick, liquidity, ticks crossed).

    With `final_tick` False the tick after a partial last step is not recomputed (the
    returned tick is then stale); it still is whenever the loop goes on from there, so
    every step and amount is the contract's either way."""
    if amount_specified == 0:
        raise UniswapV3Error("AS")
    fee_pips = state.fee_pips
    if not 0 <= fee_pips < PIPS:
        raise UniswapV3Error(f"fee must be in [0, {PIPS}) pips, got {fee_pips}")
    limit = default_limit(zero_for_one) if sqrt_price_limit_x96 is None else sqrt_price_limit_x96
    _check_limit(state.sqrt_price_x96, limit, zero_for_one)
    exact_input = amount_specified > 0
    remaining, calculated = amount_specified, 0
    sqrt_price, tick, liquidity = state.sqrt_price_x96, state.tick, state.liquidity
    next_tick = state.ticks.next_initialized_within_word
    crossed = 0
    for _ in range(MAX_STEPS):
        if remaining == 0 or sqrt_price == limit:
            break
        start = sqrt_price
        tick_next, initialized = next_tick(tick, zero_for_one)
        if tick_next < MIN_TICK:
            tick_next = MIN_TICK
        elif tick_next > MAX_TICK:
            tick_next = MAX_TICK
        sqrt_next = sqrt_ratio_at_tick(tick_next)
        beyond = sqrt_next < limit if zero_for_one else sqrt_next > limit
        sqrt_price, step_in, step_out, step_fee = swap_step(
            sqrt_price, limit if beyond else sqrt_next, liquidity, remaining, fee_pips
        )
        if exact_input:
            remaining -= step_in + step_fee
            calculated -= step_out
        else:
            remaining += step_out
            calculated += step_in + step_fee
        if sqrt_price == sqrt_next:
            if initialized:
                net = state.ticks.liquidity_net(tick_next)
                liquidity = _add_delta(liquidity, -net if zero_for_one else net)
                crossed += 1
            tick = tick_next - 1 if zero_for_one else tick_next
        elif sqrt_price != start and (final_tick or (remaining != 0 and sqrt_price != limit)):
            tick = tick_at_sqrt_ratio(sqrt_price)
    else:
        raise UniswapV3Error(f"swap did not finish within {MAX_STEPS} steps")
    if zero_for_one == exact_input:
        amount0, amount1 = amount_specified - remaining, calculated
    else:
        amount0, amount1 = calculated, amount_specified - remaining
    return amount0, amount1, sqrt_price, tick, liquidity, crossed


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
    amount0, amount1 = quote_exact_input(state, zero_for_one, amount_in)
    return -(amount1 if zero_for_one else amount0)


def amount_in(state: V3PoolState, zero_for_one: bool, amount_out_wanted: int) -> int:
    """Input needed for an exact output (QuoterV2.quoteExactOutputSingle)."""
    amount0, amount1 = quote(state, zero_for_one, -amount_out_wanted)
    return amount0 if zero_for_one else amount1


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


def quote_exact_input(state: V3PoolState, zero_for_one: bool, amount_in: int) -> tuple[int, int]:
    """`quote(state, zero_for_one, amount_in)` for an exact input (> 0) at the default
    limit, the search's one question, with `computeSwapStep` and the SqrtPriceMath it
    calls inlined for that case: the same integer operations in the same order (so the
    same amounts and the same refusals), without a call or a tuple per step."""
    if amount_in <= 0:
        return quote(state, zero_for_one, amount_in)
    fee_pips = state.fee_pips
    if not 0 <= fee_pips < PIPS:
        raise UniswapV3Error(f"fee must be in [0, {PIPS}) pips, got {fee_pips}")
    limit = default_limit(zero_for_one)
    sqrt_price, tick, liquidity = state.sqrt_price_x96, state.tick, state.liquidity
    _check_limit(sqrt_price, limit, zero_for_one)
    step = state.ticks.step  # the walk's stops, memoised on the table
    remaining, paid = amount_in, 0
    keep = PIPS - fee_pips
    for _ in range(MAX_STEPS):
        if remaining == 0 or sqrt_price == limit:
            break
        tick_next, initialized, sqrt_next, net = step(tick, zero_for_one)
        if zero_for_one:
            target = limit if sqrt_next < limit else sqrt_next
            step_in, step_out, sqrt_price = _step_down(
                sqrt_price, target, liquidity, remaining, keep
            )
        else:
            target = limit if sqrt_next > limit else sqrt_next
            step_in, step_out, sqrt_price = _step_up(sqrt_price, target, liquidity, remaining, keep)
        paid += step_out
        if sqrt_price != target:  # partial: the fee is the rest of the input, nothing remains
            remaining = 0
            break
        fee = -(-(step_in * fee_pips) // keep)
        if fee >= _UINT256_LIMIT:
            raise UniswapV3Error("FullMath: overflow")
        remaining -= step_in + fee
        if sqrt_price == sqrt_next:
            if initialized:
                liquidity = _add_delta(liquidity, -net if zero_for_one else net)
            tick = tick_next - 1 if zero_for_one else tick_next
        # else the target was the limit: the loop ends there, the tick is not needed
    else:
        raise UniswapV3Error(f"swap did not finish within {MAX_STEPS} steps")
    taken = amount_in - remaining
    return (taken, -paid) if zero_for_one else (-paid, taken)


def _step_down(
    current: int, target: int, liquidity: int, remaining: int, keep: int
) -> tuple[int, int, int]:
    """`computeSwapStep` for an exact input of token0 (price down, target <= current):
    (amount_in without the fee, amount_out, sqrt price after)."""
    less_fee = remaining * keep // PIPS
    if less_fee >= _UINT256_LIMIT:
        raise UniswapV3Error("FullMath: overflow")
    numerator1 = liquidity << 96
    most = _mul_div_up(numerator1, current - target, current)
    most = -(-most // target)  # getAmount0Delta(target, current, L, up)
    if less_fee >= most:
        sqrt_next = target
    else:
        sqrt_next = _price_after_amount0(current, liquidity, numerator1, less_fee)
    if sqrt_next == target:
        amount_in = most
    else:
        if sqrt_next <= 0:
            raise UniswapV3Error("SqrtPriceMath: zero price")
        amount_in = -(-_mul_div_up(numerator1, current - sqrt_next, current) // sqrt_next)
    amount_out = liquidity * (current - sqrt_next) // Q96
    if amount_out >= _UINT256_LIMIT:
        raise UniswapV3Error("FullMath: overflow")
    return amount_in, amount_out, sqrt_next


def _price_after_amount0(current: int, liquidity: int, numerator1: int, amount: int) -> int:
    """`getNextSqrtPriceFromInput` for token0 (`getNextSqrtPriceFromAmount0RoundingUp`, add)."""
    if current <= 0 or liquidity <= 0:
        raise UniswapV3Error("SqrtPriceMath: no price or liquidity")
    if amount == 0:
        return current
    product = amount * current
    if product < _UINT256_LIMIT and numerator1 + product < _UINT256_LIMIT:
        return _mul_div_up(numerator1, current, numerator1 + product)
    return -(-numerator1 // (numerator1 // current + amount))


def _step_up(
    current: int, target: int, liquidity: int, remaining: int, keep: int
) -> tuple[int, int, int]:
    """`computeSwapStep` for an exact input of token1 (price up, target >= current)."""
    less_fee = remaining * keep // PIPS
    if less_fee >= _UINT256_LIMIT:
        raise UniswapV3Error("FullMath: overflow")
    most = _mul_div_up(liquidity, target - current, Q96)  # getAmount1Delta(.., up)
    if less_fee >= most:
        sqrt_next = target
    else:
        if current <= 0 or liquidity <= 0:
            raise UniswapV3Error("SqrtPriceMath: no price or liquidity")
        sqrt_next = current + (less_fee << 96) // liquidity
        if sqrt_next > UINT160_MAX:
            raise UniswapV3Error("SafeCast: uint160")
    amount_in = most if sqrt_next == target else _mul_div_up(liquidity, sqrt_next - current, Q96)
    if current <= 0:
        raise UniswapV3Error("SqrtPriceMath: zero price")
    amount_out = (liquidity << 96) * (sqrt_next - current) // sqrt_next
    if amount_out >= _UINT256_LIMIT:
        raise UniswapV3Error("FullMath: overflow")
    return amount_in, amount_out // current, sqrt_next


def _mul_div_up(a: int, b: int, denominator: int) -> int:
    """`FullMath.mulDivRoundingUp` for a denominator known positive."""
    result = -(-(a * b) // denominator)
    if result >= _UINT256_LIMIT:
        raise UniswapV3Error("FullMath: overflow")
    return result
