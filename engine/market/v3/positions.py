"""What a position owes the pool when it is minted: `UniswapV3Pool._modifyPosition`'s amounts.

Below the range a position is all token0, above it all token1, and across the current
price both, each rounded up (the pool never under-collects). Builders of pools (the
simulated market, tests) use it to keep a V3 pool's token balances equal to what its
positions deposited, which is what the pool can pay out at most.
"""

from __future__ import annotations

from engine.market.v3.pool import V3PoolState, apply_mint
from engine.market.v3.sqrt_price_math import amount0_delta, amount1_delta
from engine.market.v3.tick_math import sqrt_ratio_at_tick


def mint_amounts(state: V3PoolState, lower: int, upper: int, liquidity: int) -> tuple[int, int]:
    """(amount0, amount1) a mint of `liquidity` over [lower, upper) pays at the state's price."""
    sqrt_lower, sqrt_upper = sqrt_ratio_at_tick(lower), sqrt_ratio_at_tick(upper)
    if state.tick < lower:
        return amount0_delta(sqrt_lower, sqrt_upper, liquidity, True), 0
    if state.tick < upper:
        price = state.sqrt_price_x96
        return (
            amount0_delta(price, sqrt_upper, liquidity, True),
            amount1_delta(sqrt_lower, price, liquidity, True),
        )
    return 0, amount1_delta(sqrt_lower, sqrt_upper, liquidity, True)


def mint(state: V3PoolState, lower: int, upper: int, liquidity: int) -> tuple[int, int]:
    """Add the position to the state (in place) and return what it deposits."""
    amounts = mint_amounts(state, lower, upper, liquidity)
    apply_mint(state, lower, upper, liquidity)
    return amounts
