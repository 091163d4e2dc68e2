"""A fresh anvil with the real Uniswap V3 contracts and four pools of one pair.

The registry's `@uniswap/v3-core` factory and the periphery's position manager, router
and QuoterV2 (engine/devnet/v3.py); fee tiers 100/500/3000/10000 on an 18/6-decimal pair,
each with a full-range position, wide ones and many narrow ones near the price, so
swaps cross several initialised ticks. The fixture (conftest.py) is module-scoped:
tests that move the pools compare against a fresh read of the chain, never against a
remembered state.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3
from web3.contract import Contract

from engine.devnet import compile, v3
from engine.devnet.chain import deploy
from engine.market.v3.tick_math import MAX_TICK, MIN_TICK

SEED = 20261204
FEES = {100: 1, 500: 10, 3000: 60, 10000: 200}


@dataclass
class Chain:
    w3: Web3
    dep: v3.V3Deployment
    lp: str
    trader: str
    token0: str
    token1: str
    pools: dict[int, Contract]
    weth: str


def build(w3: Web3, root: Path) -> Chain:
    deployer, lp, trader = w3.eth.accounts[:3]
    token_code = compile.compile_contracts(root)["TestToken"]
    supply = 10**40
    a = deploy(w3, token_code, deployer, "Ether", "WETH", 18, supply)
    b = deploy(w3, token_code, deployer, "Dollar", "USD", 6, supply)
    token0, token1 = sorted((a.address, b.address), key=lambda x: int(x, 16))
    dep = v3.deploy_v3(w3, deployer, a.address, root)
    for holder in (lp, trader):
        for token in (a, b):
            token.functions.transfer(holder, supply // 4).transact({"from": deployer})
    v3.approve_all(w3, lp, [token0, token1], [dep.positions.address])
    v3.approve_all(w3, trader, [token0, token1], [dep.router.address])
    rng = random.Random(SEED)
    pools = {}
    for fee, spacing in FEES.items():
        price = _raw_price(token0 == a.address, 2000.0 * (1 + (fee % 7) / 1000))
        pool = v3.create_pool(dep, lp, token0, token1, fee, _sqrt_x96(price))
        tick = pool.functions.slot0().call()[1]
        for lower, upper in _ranges(rng, tick, spacing):
            weth, usd = 10**21, 10**12  # 1,000 WETH and 1,000,000 USD at most
            amount0, amount1 = (weth, usd) if token0 == a.address else (usd, weth)
            v3.mint_position(dep, lp, pool, lower, upper, amount0, amount1)
        pools[fee] = pool
    return Chain(w3, dep, lp, trader, token0, token1, pools, a.address)


def _raw_price(weth_is_token0: bool, usd_per_eth: float) -> float:
    """token1 per token0 in base units."""
    raw = usd_per_eth * 10**6 / 10**18
    return raw if weth_is_token0 else 1 / raw


def _sqrt_x96(price: float) -> int:
    return int(math.sqrt(price) * 2**96)


def _ranges(rng: random.Random, tick: int, spacing: int) -> list[tuple[int, int]]:
    """A full-range position, wide ones and many narrow ones near the price."""
    low = math.ceil(MIN_TICK / spacing) * spacing
    high = (MAX_TICK // spacing) * spacing
    out = [(low, high)]
    centre = (tick // spacing) * spacing
    for _ in range(14):
        width = rng.choice((1, 2, 3, 8, 40, 300)) * spacing
        offset = rng.randint(-600, 600) * spacing // max(1, spacing // 10)
        lower = max(low, centre + (offset // spacing) * spacing)
        out.append((lower, min(high, lower + width)))
    return out
