"""Exact Uniswap V2 constant-product math, to the unit.

These functions mirror `UniswapV2Library.sol` and the pair's `swap` invariant check
line by line, generalised from the hard-coded 0.3 % fee to a per-pool fee in basis
points so 25 bps forks (and others) are priced by the same code. Everything is a Python
int: the chain truncates at every division, and a decision made with any other rounding
can turn a "profitable" trade into a reverted one.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.market.errors import MarketError

FEE_DENOMINATOR = 10_000
DEFAULT_FEE_BPS = 30


class UniswapV2Error(MarketError, ValueError):
    """A swap the on-chain library would reject (its `require` would revert)."""


def _check_fee(fee_bps: int) -> None:
    if not 0 <= fee_bps < FEE_DENOMINATOR:
        raise ValueError(f"fee_bps must be in [0, {FEE_DENOMINATOR}), got {fee_bps}")


def get_amount_out(
    amount_in: int, reserve_in: int, reserve_out: int, fee_bps: int = DEFAULT_FEE_BPS
) -> int:
    """Output the pair pays for `amount_in`, truncated exactly like the Solidity library."""
    if amount_in <= 0:
        raise UniswapV2Error("UniswapV2Library: INSUFFICIENT_INPUT_AMOUNT")
    if reserve_in <= 0 or reserve_out <= 0:
        raise UniswapV2Error("UniswapV2Library: INSUFFICIENT_LIQUIDITY")
    _check_fee(fee_bps)
    amount_in_with_fee = amount_in * (FEE_DENOMINATOR - fee_bps)
    numerator = amount_in_with_fee * reserve_out
    denominator = reserve_in * FEE_DENOMINATOR + amount_in_with_fee
    return numerator // denominator


def get_amount_in(
    amount_out: int, reserve_in: int, reserve_out: int, fee_bps: int = DEFAULT_FEE_BPS
) -> int:
    """Input needed to receive `amount_out`; the library's `+ 1` rounds the input up."""
    if amount_out <= 0:
        raise UniswapV2Error("UniswapV2Library: INSUFFICIENT_OUTPUT_AMOUNT")
    if reserve_in <= 0 or reserve_out <= 0 or amount_out >= reserve_out:
        # Solidity would underflow (revert) on reserveOut - amountOut <= 0 as well.
        raise UniswapV2Error("UniswapV2Library: INSUFFICIENT_LIQUIDITY")
    _check_fee(fee_bps)
    numerator = reserve_in * amount_out * FEE_DENOMINATOR
    denominator = (reserve_out - amount_out) * (FEE_DENOMINATOR - fee_bps)
    return numerator // denominator + 1


def get_amounts_out(amount_in: int, path: Iterable[tuple[int, int, int]]) -> list[int]:
    """Amounts along a route of (reserve_in, reserve_out, fee_bps) hops, input first.

    Like the library's `getAmountsOut`, but the route is reserves rather than token
    addresses so the caller decides where reserves come from (live market, snapshot).
    """
    amounts = [amount_in]
    for reserve_in, reserve_out, fee_bps in path:
        amounts.append(get_amount_out(amounts[-1], reserve_in, reserve_out, fee_bps))
    return amounts


def k_check(
    balance0: int,
    balance1: int,
    amount0_in: int,
    amount1_in: int,
    reserve0: int,
    reserve1: int,
    fee_bps: int = DEFAULT_FEE_BPS,
) -> bool:
    """The pair's post-swap invariant: fee-adjusted balances must not shrink K.

    For 30 bps this is exactly `balance*1000 - amountIn*3` against `reserve0*reserve1*1000**2`,
    scaled by 10 on both sides; the simulator uses it to accept or revert a swap.
    """
    _check_fee(fee_bps)
    if amount0_in <= 0 and amount1_in <= 0:
        return False  # the pair reverts with INSUFFICIENT_INPUT_AMOUNT
    adjusted0 = balance0 * FEE_DENOMINATOR - amount0_in * fee_bps
    adjusted1 = balance1 * FEE_DENOMINATOR - amount1_in * fee_bps
    return adjusted0 * adjusted1 >= reserve0 * reserve1 * FEE_DENOMINATOR**2
