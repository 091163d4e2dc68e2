"""Noise traders: other people's swaps, which are what open arbitrage in the first place.

Each block a fixed number of swaps hit random pools in random directions. Sizes are a
Pareto-distributed fraction of the input reserve: mostly small, occasionally a whale
that moves one dex's price well past the others' — the dislocations the engine takes.
Sizes are capped so no single trade drains a pool.
"""

from __future__ import annotations

import random

from engine.market.model import Market
from engine.market.sim import swap

PPM = 1_000_000
BASE_SIZE_PPM = 500  # a typical trade sells 0.05 % of the input reserve
MAX_SIZE_PPM = 50_000  # never more than 5 % of the reserve in one trade


class NoiseTraders:
    def __init__(self, swaps_per_block: int, tail_alpha: float, rng: random.Random) -> None:
        if tail_alpha <= 0:
            raise ValueError("sim.noise_tail_alpha must be > 0")
        self._count = swaps_per_block
        self._alpha = tail_alpha
        self._rng = rng
        self._addresses: list[str] = []  # the market's pools, in order, listed once

    def trade(self, market: Market) -> set[str]:
        """Apply this block's swaps; returns the pools they changed."""
        if len(self._addresses) != len(market.pools):
            self._addresses = list(market.pools)
        addresses = self._addresses
        changed: set[str] = set()
        if not addresses:
            return changed
        for _ in range(self._count):
            pool = market.pools[self._rng.choice(addresses)]
            token_in = pool.token0 if self._rng.random() < 0.5 else pool.token1
            amount_in = self._size(pool.reserves_for(token_in)[0])
            amount_out = swap.quote(pool, token_in, amount_in)
            if amount_out > 0:
                swap.apply(pool, token_in, amount_in, amount_out)
                changed.add(pool.address)
        return changed

    def _size(self, reserve_in: int) -> int:
        """Heavy-tailed fraction of the reserve, in ppm; at least one base unit."""
        ppm = min(MAX_SIZE_PPM, int(BASE_SIZE_PPM * self._rng.paretovariate(self._alpha)))
        return max(1, reserve_in * ppm // PPM)
