"""Exact swaps against simulated pools: the only code that writes reserves.

Noise traders, rival searchers and the executor contract all trade through here, with
the same integer math the chain uses, so every pool stays consistent (K never
decreases) and the engine's exact re-checks see what a real pair would report.
"""

from __future__ import annotations

from engine.market.amm import get_amount_out
from engine.market.model import Pool


def quote(pool: Pool, token_in: str, amount_in: int) -> int:
    """Output for selling `amount_in` of `token_in` into `pool`, not applied."""
    reserve_in, reserve_out = pool.reserves_for(token_in)
    return get_amount_out(amount_in, reserve_in, reserve_out, pool.fee_bps)


def apply(pool: Pool, token_in: str, amount_in: int, amount_out: int) -> None:
    """Book a swap's reserve changes (the pair's `swap` + `_update`), through the
    market's reserve log (engine.market.reserve_log)."""
    if token_in == pool.token0:
        pool.set_reserves(pool.reserve0 + amount_in, pool.reserve1 - amount_out)
    else:
        pool.set_reserves(pool.reserve0 - amount_out, pool.reserve1 + amount_in)


def swap(pool: Pool, token_in: str, amount_in: int) -> int:
    """Quote and apply in one step; returns the output."""
    amount_out = quote(pool, token_in, amount_in)
    apply(pool, token_in, amount_in, amount_out)
    return amount_out
