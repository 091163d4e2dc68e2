"""Uniswap V3 (and forks): exact concentrated-liquidity math, apart from pool state.

`tick_math`, `sqrt_price_math` and `swap_math` mirror the v3-core libraries of the same
names line by line in Python ints; `pool` holds one pool's state (price, tick, active
liquidity, initialised ticks) and runs the pool's `swap` loop over it, including the
stop at every tick-bitmap word boundary, because each step rounds on its own and a step
boundary moved by one tick changes the result by a unit.
"""
