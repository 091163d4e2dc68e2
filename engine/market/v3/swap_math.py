"""SwapMath.computeSwapStep: one step of a swap within a single liquidity range.

Mirrors `SwapMath.sol`: the step moves the price toward `sqrt_target` as far as the
remaining amount allows; exact input is signalled by a positive `amount_remaining`,
exact output by a negative one (the contract's int256 convention). Fees are in pips
(hundredths of a basis point: 3000 = 0.3 %), so any fork's fee tier is priced the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.market.v3.sqrt_price_math import (
    amount0_delta,
    amount1_delta,
    mul_div,
    mul_div_rounding_up,
    next_sqrt_price_from_input,
    next_sqrt_price_from_output,
)

PIPS = 1_000_000


@dataclass(frozen=True, slots=True)
class SwapStep:
    sqrt_next: int
    amount_in: int  # excluding the fee
    amount_out: int
    fee_amount: int


def compute_swap_step(
    sqrt_current: int, sqrt_target: int, liquidity: int, amount_remaining: int, fee_pips: int
) -> SwapStep:
    """`SwapMath.computeSwapStep`."""
    return SwapStep(*swap_step(sqrt_current, sqrt_target, liquidity, amount_remaining, fee_pips))


def swap_step(
    sqrt_current: int, sqrt_target: int, liquidity: int, amount_remaining: int, fee_pips: int
) -> tuple[int, int, int, int]:
    """`compute_swap_step` as a plain tuple (sqrt_next, amount_in, amount_out, fee_amount):
    the swap loop's form, which allocates no dataclass per step."""
    zero_for_one = sqrt_current >= sqrt_target
    exact_in = amount_remaining >= 0
    amount_in = amount_out = 0
    if exact_in:
        remaining_less_fee = mul_div(amount_remaining, PIPS - fee_pips, PIPS)
        if zero_for_one:
            amount_in = amount0_delta(sqrt_target, sqrt_current, liquidity, True)
        else:
            amount_in = amount1_delta(sqrt_current, sqrt_target, liquidity, True)
        if remaining_less_fee >= amount_in:
            sqrt_next = sqrt_target
        else:
            sqrt_next = next_sqrt_price_from_input(
                sqrt_current, liquidity, remaining_less_fee, zero_for_one
            )
    else:
        if zero_for_one:
            amount_out = amount1_delta(sqrt_target, sqrt_current, liquidity, False)
        else:
            amount_out = amount0_delta(sqrt_current, sqrt_target, liquidity, False)
        if -amount_remaining >= amount_out:
            sqrt_next = sqrt_target
        else:
            sqrt_next = next_sqrt_price_from_output(
                sqrt_current, liquidity, -amount_remaining, zero_for_one
            )
    reached = sqrt_target == sqrt_next
    if zero_for_one:
        if not (reached and exact_in):
            amount_in = amount0_delta(sqrt_next, sqrt_current, liquidity, True)
        if not (reached and not exact_in):
            amount_out = amount1_delta(sqrt_next, sqrt_current, liquidity, False)
    else:
        if not (reached and exact_in):
            amount_in = amount1_delta(sqrt_current, sqrt_next, liquidity, True)
        if not (reached and not exact_in):
            amount_out = amount0_delta(sqrt_current, sqrt_next, liquidity, False)
    if not exact_in and amount_out > -amount_remaining:
        amount_out = -amount_remaining
    if exact_in and sqrt_next != sqrt_target:
        fee_amount = amount_remaining - amount_in
    else:
        fee_amount = mul_div_rounding_up(amount_in, fee_pips, PIPS - fee_pips)
    return sqrt_next, amount_in, amount_out, fee_amount
