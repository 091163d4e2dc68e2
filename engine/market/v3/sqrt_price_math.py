"""SqrtPriceMath and FullMath: price moves and token deltas, rounded as the contracts do.

Every function names the Solidity function it mirrors. The rounding direction is the
whole point: amounts owed to the pool round up, amounts paid out round down, and the
price moves so the pool never loses. The uint256 overflow branches of
`getNextSqrtPriceFromAmount0RoundingUp` are kept, because the fallback formula rounds
differently from the main one.
"""

from __future__ import annotations

from engine.market.v3.errors import UniswapV3Error

Q96 = 1 << 96
UINT160_MAX = (1 << 160) - 1
UINT256_LIMIT = 1 << 256


def mul_div(a: int, b: int, denominator: int) -> int:
    """`FullMath.mulDiv`: floor(a*b/denominator), reverting if the result needs > 256 bits."""
    if denominator <= 0:
        raise UniswapV3Error("FullMath: denominator")
    result = a * b // denominator
    if result >= UINT256_LIMIT:
        raise UniswapV3Error("FullMath: overflow")
    return result


def mul_div_rounding_up(a: int, b: int, denominator: int) -> int:
    """`FullMath.mulDivRoundingUp`."""
    if denominator <= 0:
        raise UniswapV3Error("FullMath: denominator")
    result = -(-(a * b) // denominator)
    if result >= UINT256_LIMIT:
        raise UniswapV3Error("FullMath: overflow")
    return result


def div_rounding_up(x: int, y: int) -> int:
    """`UnsafeMath.divRoundingUp` (y > 0 is the caller's promise, as in Solidity)."""
    return -(-x // y)


def _to_uint160(value: int) -> int:
    if value > UINT160_MAX:
        raise UniswapV3Error("SafeCast: uint160")
    return value


def next_sqrt_price_from_amount0_rounding_up(
    sqrt_price_x96: int, liquidity: int, amount: int, add: bool
) -> int:
    """`SqrtPriceMath.getNextSqrtPriceFromAmount0RoundingUp`."""
    if amount == 0:
        return sqrt_price_x96
    numerator1 = liquidity << 96
    product = amount * sqrt_price_x96
    if add:
        if product < UINT256_LIMIT and numerator1 + product < UINT256_LIMIT:
            return mul_div_rounding_up(numerator1, sqrt_price_x96, numerator1 + product)
        return div_rounding_up(numerator1, numerator1 // sqrt_price_x96 + amount)
    if product >= UINT256_LIMIT or numerator1 <= product:
        raise UniswapV3Error("SqrtPriceMath: amount0 exceeds the liquidity")
    return _to_uint160(mul_div_rounding_up(numerator1, sqrt_price_x96, numerator1 - product))


def next_sqrt_price_from_amount1_rounding_down(
    sqrt_price_x96: int, liquidity: int, amount: int, add: bool
) -> int:
    """`SqrtPriceMath.getNextSqrtPriceFromAmount1RoundingDown`."""
    if add:
        return _to_uint160(sqrt_price_x96 + (amount << 96) // liquidity)
    quotient = div_rounding_up(amount << 96, liquidity)
    if sqrt_price_x96 <= quotient:
        raise UniswapV3Error("SqrtPriceMath: amount1 exceeds the price")
    return sqrt_price_x96 - quotient


def next_sqrt_price_from_input(
    sqrt_price_x96: int, liquidity: int, amount_in: int, zero_for_one: bool
) -> int:
    """`SqrtPriceMath.getNextSqrtPriceFromInput`."""
    if sqrt_price_x96 <= 0 or liquidity <= 0:
        raise UniswapV3Error("SqrtPriceMath: no price or liquidity")
    if zero_for_one:
        return next_sqrt_price_from_amount0_rounding_up(sqrt_price_x96, liquidity, amount_in, True)
    return next_sqrt_price_from_amount1_rounding_down(sqrt_price_x96, liquidity, amount_in, True)


def next_sqrt_price_from_output(
    sqrt_price_x96: int, liquidity: int, amount_out: int, zero_for_one: bool
) -> int:
    """`SqrtPriceMath.getNextSqrtPriceFromOutput`."""
    if sqrt_price_x96 <= 0 or liquidity <= 0:
        raise UniswapV3Error("SqrtPriceMath: no price or liquidity")
    if zero_for_one:
        return next_sqrt_price_from_amount1_rounding_down(
            sqrt_price_x96, liquidity, amount_out, False
        )
    return next_sqrt_price_from_amount0_rounding_up(sqrt_price_x96, liquidity, amount_out, False)


def amount0_delta(sqrt_a: int, sqrt_b: int, liquidity: int, round_up: bool) -> int:
    """`SqrtPriceMath.getAmount0Delta` (unsigned form)."""
    if sqrt_a > sqrt_b:
        sqrt_a, sqrt_b = sqrt_b, sqrt_a
    if sqrt_a <= 0:
        raise UniswapV3Error("SqrtPriceMath: zero price")
    numerator1 = liquidity << 96
    numerator2 = sqrt_b - sqrt_a
    if round_up:
        return div_rounding_up(mul_div_rounding_up(numerator1, numerator2, sqrt_b), sqrt_a)
    return mul_div(numerator1, numerator2, sqrt_b) // sqrt_a


def amount1_delta(sqrt_a: int, sqrt_b: int, liquidity: int, round_up: bool) -> int:
    """`SqrtPriceMath.getAmount1Delta` (unsigned form)."""
    if sqrt_a > sqrt_b:
        sqrt_a, sqrt_b = sqrt_b, sqrt_a
    if round_up:
        return mul_div_rounding_up(liquidity, sqrt_b - sqrt_a, Q96)
    return mul_div(liquidity, sqrt_b - sqrt_a, Q96)
