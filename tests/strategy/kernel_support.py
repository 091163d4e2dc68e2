"""What the kernel tests share: a small table with an empty pool and a uint112 reserve,
and random input caps (some infinite)."""

from __future__ import annotations

import numpy as np

from engine.strategy import kernel
from engine.strategy.cycles import CycleTable, build_cycle_table
from tests.support.synthetic_market import synthetic_market


def table_and_coefficients(n_pools: int, seed: int) -> tuple[CycleTable, kernel.HopCoefficients]:
    market = synthetic_market(n_pools, seed=seed, price_noise=0.01)
    bases = [t for t in market.tokens if t.startswith("0xb")]
    table = build_cycle_table(market, bases, 3)
    pools = list(table.pools)
    pools[0].reserve0 = 0  # an empty pool: a = 0 on its sides
    pools[1].reserve1 = 2**112 - 1  # the uint112 limit
    coefficients = kernel.HopCoefficients(table.pools)
    coefficients.refresh_all()
    return table, coefficients


def random_caps(rng: np.random.Generator, n: int, capped: bool) -> np.ndarray | None:
    """None when not `capped`; else a cap per cycle, 30 % of them infinite."""
    if not capped:
        return None
    cap = rng.uniform(1e3, 1e22, n)
    cap[rng.random(n) < 0.3] = np.inf
    return cap
