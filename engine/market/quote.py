"""A pool's exact output and its marginal price, whatever its kind.

The one place that dispatches on `Pool.kind` for code outside the search (the
executor's per-hop minimums, the price-impact guard): a V2 pair is priced by
`engine.market.amm` on its reserves and its fee in bps, a V3 pool by its exact `swap`
(`engine.market.v3.pool`) on its state. A V3 pool's reserves are its token balances,
never a price: its mid price is the pool's `sqrtPriceX96`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from engine.market.amm import FEE_DENOMINATOR, get_amount_out
from engine.market.model import Pool
from engine.market.v3 import pool as v3pool
from engine.market.v3.swap_math import PIPS

Q192 = 1 << 192


def amount_out(pool: Pool, token_in: str, amount_in: int) -> int:
    """What `pool` pays for `amount_in` of `token_in`, to the unit (the contract's math)."""
    if pool.v3 is not None:
        return v3pool.amount_out(pool.v3, token_in == pool.token0, amount_in)
    reserve_in, reserve_out = pool.reserves_for(token_in)
    return get_amount_out(amount_in, reserve_in, reserve_out, pool.fee_bps)


def amounts_along(
    pools: Mapping[str, Pool], hops: Iterable[tuple[str, str]], amount_in: int
) -> list[int]:
    """Amounts along (pool address, token in) hops, the input first."""
    amounts = [amount_in]
    for address, token_in in hops:
        amounts.append(amount_out(pools[address], token_in, amounts[-1]))
    return amounts


def marginal_after_fee(pool: Pool, token_in: str) -> tuple[int, int]:
    """(num, den): output per unit of input at the pool's current price, after its fee,
    for an infinitesimal trade. V2: reserve_out·(D − fee) / (reserve_in·D); V3: the price
    sqrtP²/2¹⁹² (token1 per token0, inverted for the other way) times (1e6 − fee)/1e6."""
    if pool.v3 is not None:
        price = pool.v3.sqrt_price_x96**2
        keep = PIPS - pool.v3.fee_pips
        if token_in == pool.token0:
            return price * keep, Q192 * PIPS
        pool.other(token_in)  # raises for a token not in the pool
        return Q192 * keep, price * PIPS
    reserve_in, reserve_out = pool.reserves_for(token_in)
    return reserve_out * (FEE_DENOMINATOR - pool.fee_bps), reserve_in * FEE_DENOMINATOR
