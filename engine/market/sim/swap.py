"""Exact swaps against simulated pools: the only code that writes reserves.

Noise traders, rival searchers and the executor contract all trade through here, with
the same integer math the chain uses, so every pool stays consistent (K never
decreases) and the engine's exact re-checks see what a real pair would report.
A V3 pool is swapped with the pool's own loop (engine.market.v3.pool, ticks crossed
included); its reserves are its token balances, moved by the same amounts. A V3 swap
the pool could not fill whole (the price would run off its last tick) or pay (its
balance) quotes 0: no trader sends it.
"""

from __future__ import annotations

from engine.market.amm import get_amount_out
from engine.market.model import Pool
from engine.market.v3.errors import UniswapV3Error
from engine.market.v3.pool import V3PoolState, apply_swap
from engine.market.v3.pool import swap as v3_swap


def quote(pool: Pool, token_in: str, amount_in: int) -> int:
    """Output for selling `amount_in` of `token_in` into `pool`, not applied."""
    reserve_in, reserve_out = pool.reserves_for(token_in)
    if pool.v3 is not None:
        return quote_v3(pool.v3, token_in == pool.token0, amount_in, reserve_out)
    return get_amount_out(amount_in, reserve_in, reserve_out, pool.fee_bps)


def quote_v3(state: V3PoolState, zero_for_one: bool, amount_in: int, balance_out: int) -> int:
    """A V3 pool's exact output; 0 if it would not take the whole input or cannot pay."""
    if amount_in <= 0:
        return 0
    try:
        result = v3_swap(state, zero_for_one, amount_in)
    except UniswapV3Error:
        return 0
    taken, paid = (
        (result.amount0, -result.amount1) if zero_for_one else (result.amount1, -result.amount0)
    )
    return paid if taken == amount_in and paid <= balance_out else 0


def move_v3(state: V3PoolState, zero_for_one: bool, amount_in: int, amount_out: int) -> None:
    """Apply an exact-input V3 swap to `state`; it must pay `amount_out` (as quoted)."""
    result = v3_swap(state, zero_for_one, amount_in)
    paid = -(result.amount1 if zero_for_one else result.amount0)
    if paid != amount_out:
        raise ValueError(f"V3 swap pays {paid}, not the {amount_out} quoted")
    apply_swap(state, result.sqrt_price_x96, result.tick, result.liquidity)


def apply(pool: Pool, token_in: str, amount_in: int, amount_out: int) -> None:
    """Book a swap's reserve changes (the pair's `swap` + `_update`, through the market's
    reserve log, engine.market.reserve_log; a V3 pool's new price, tick and liquidity as
    its `swap` leaves them)."""
    if pool.v3 is not None:
        move_v3(pool.v3, token_in == pool.token0, amount_in, amount_out)
    if token_in == pool.token0:
        pool.set_reserves(pool.reserve0 + amount_in, pool.reserve1 - amount_out)
    else:
        pool.set_reserves(pool.reserve0 - amount_out, pool.reserve1 + amount_in)


def swap(pool: Pool, token_in: str, amount_in: int) -> int:
    """Quote and apply in one step; returns the output."""
    amount_out = quote(pool, token_in, amount_in)
    apply(pool, token_in, amount_in, amount_out)
    return amount_out
