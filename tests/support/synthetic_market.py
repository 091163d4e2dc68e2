"""Synthetic markets shaped like a real chain, for benchmarks and property tests.

A few base tokens (WETH, USDC, USDT, DAI) are listed against each other on every dex; many
tokens are each listed against one to three base tokens on two or three dexes with
different fees, and some against another token, so both two-pool and three-hop cycles
exist. Each pool's price carries a little noise around the token's "true" price, so some
cycles pay and most do not, as on a live chain. Deterministic for a given seed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable

from engine.market.model import Market, Pool, Token

DEXES = (("uniswap", 30), ("sushiswap", 30), ("pancake", 25), ("fraxswap", 20))
BASES = (("WETH", 18, 3000.0), ("USDC", 6, 1.0), ("USDT", 6, 1.0), ("DAI", 18, 1.0))


def address(kind: str, n: int) -> str:
    """A fake but well-formed 20-byte address; `kind` keeps tokens and pools apart."""
    return f"0x{kind}{n:0{40 - len(kind)}x}"


def synthetic_market(n_pools: int, seed: int = 1, price_noise: float = 0.002) -> Market:
    """At least `n_pools` pools (base pairs first), WETH as native and USDC as quote."""
    rng = random.Random(seed)
    market = Market()
    prices: dict[str, float] = {}
    for i, (symbol, decimals, price) in enumerate(BASES):
        market.add_token(Token(address("b", i), symbol, decimals))
        prices[address("b", i)] = price
    market.native, market.quote = address("b", 0), address("b", 1)
    bases = list(prices)
    for i, t0 in enumerate(bases):
        for t1 in bases[i + 1 :]:
            for dex in DEXES[:3]:
                _add_pool(market, rng, dex, (t0, t1), prices, price_noise)
    listed: list[str] = []
    while len(market.pools) < n_pools:
        token = address("t", len(listed))
        market.add_token(Token(token, f"T{len(listed)}", rng.choice((18, 18, 6, 8))))
        prices[token] = math.exp(rng.uniform(math.log(1e-3), math.log(1e2)))
        for base in [bases[0], *rng.sample(bases[1:], rng.choice((0, 1, 1, 2)))]:
            for dex in rng.sample(DEXES, rng.choice((2, 2, 3))):
                _add_pool(market, rng, dex, (token, base), prices, price_noise)
        if listed and rng.random() < 0.1:
            pair = (token, rng.choice(listed))
            _add_pool(market, rng, DEXES[0], pair, prices, price_noise)
        listed.append(token)
    return market


def perturb(pools: Iterable[Pool], rng: random.Random, sigma: float = 0.003) -> set[str]:
    """A swap-like move on each pool (one reserve up, the other down); returns their addresses.

    Written to the Pool objects directly, not through the market's reserve log: the search
    sees these pools only because they are reported (the path a V3 pool always takes).
    Moves accumulate: repeated calls walk prices away from each other without bound.
    """
    changed = set()
    for pool in pools:
        move = 1.0 + rng.gauss(0.0, sigma)
        pool.reserve0 = max(1, int(pool.reserve0 * move))
        pool.reserve1 = max(1, int(pool.reserve1 / move))
        changed.add(pool.address)
    return changed


class MarketMover:
    """Block-by-block reserve changes that stay around each pool's starting price.

    On a live chain other arbitrageurs close gaps as fast as swaps open them, so the share of
    mispriced cycles is stationary; an unbounded random walk would instead turn most cycles
    profitable after a few hundred blocks and benchmark an unrealistic market.
    """

    def __init__(self, market: Market, seed: int = 0, sigma: float = 0.002) -> None:
        self._pools = list(market.pools.values())
        self._anchor = {p.address: (p.reserve0, p.reserve1) for p in self._pools}
        self._rng = random.Random(seed)
        self._sigma = sigma

    def move(self, fraction: float) -> set[str]:
        """Re-draw the price of a random `fraction` of pools; returns their addresses.

        Written as a venue writes them, through the market's reserve log."""
        count = max(1, round(fraction * len(self._pools)))
        changed = set()
        for pool in self._rng.sample(self._pools, count):
            reserve0, reserve1 = self._anchor[pool.address]
            move = 1.0 + self._rng.gauss(0.0, self._sigma)
            pool.set_reserves(max(1, int(reserve0 * move)), max(1, int(reserve1 / move)))
            changed.add(pool.address)
        return changed


def _add_pool(
    market: Market,
    rng: random.Random,
    dex: tuple[str, int],
    pair: tuple[str, str],
    prices: dict[str, float],
    price_noise: float,
) -> None:
    t0, t1 = pair
    half_tvl_usd = math.exp(rng.uniform(math.log(1e4), math.log(1e7)))
    noise = 1.0 + rng.gauss(0.0, price_noise)
    reserve0 = int(half_tvl_usd / prices[t0] * 10 ** market.tokens[t0].decimals)
    reserve1 = int(half_tvl_usd / prices[t1] * noise * 10 ** market.tokens[t1].decimals)
    pool = Pool(dex[0], address("p", len(market.pools)), t0, t1, max(reserve0, 1), max(reserve1, 1))
    pool.fee_bps = dex[1]
    market.add_pool(pool)
