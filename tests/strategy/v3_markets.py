"""Random V3 pools and mixed V2/V3 markets for the search's property tests and benchmarks."""

from __future__ import annotations

import math
import random

from engine.market.model import Market, Pool, Token
from engine.market.v3.pool import state_at_price
from engine.market.v3.positions import mint
from engine.market.v3.tick_math import sqrt_ratio_at_tick

WETH = "0xweth"
FEES = (100, 500, 3000, 10000)


def v3_pool(
    address: str,
    token0: str,
    token1: str,
    sqrt_price_x96: int,
    fee_pips: int,
    spacing: int,
    positions: list[tuple[int, int, int]],
) -> Pool:
    """A V3 pool at the price with these (lower, upper, liquidity) positions; its
    balances are what the positions deposited."""
    state = state_at_price(sqrt_price_x96, fee_pips, spacing)
    balance0 = balance1 = 0
    for lower, upper, liquidity in positions:
        amount0, amount1 = mint(state, lower, upper, liquidity)
        balance0, balance1 = balance0 + amount0, balance1 + amount1
    return Pool(
        "univ3", address, token0, token1, balance0, balance1, fee_pips // 100, kind="v3", v3=state
    )


def random_layout(
    rng: random.Random, centre: int, log_liquidity: tuple[float, float], background: bool
) -> tuple[int, int, list[tuple[int, int, int]]]:
    """(sqrt price, spacing, positions): 1-5 positions around `centre`, some not covering
    the price (gaps and one-sided ranges), at least one covering it; with `background`, one
    more thin position ±20,000 ticks wide, so no swap of the test's sizes runs off the
    last tick (without it, gaps next to the price are empty)."""
    spacing = rng.choice([1, 10, 60])
    tick = centre + rng.randint(-3 * spacing, 3 * spacing)
    low, high = sqrt_ratio_at_tick(tick), sqrt_ratio_at_tick(tick + 1)
    sqrt_price = rng.randint(low, high - 1)
    base = tick // spacing * spacing
    positions = []
    for n in range(rng.randint(1, 5)):
        width = spacing * rng.randint(1, 40)
        if n == 0:
            lower = base - spacing * rng.randint(0, 20)
            upper = max(lower + width, base + spacing)
        else:
            lower = base + spacing * rng.randint(-60, 60)
            upper = lower + width
        liquidity = int(10 ** rng.uniform(*log_liquidity))
        positions.append((lower, upper, max(1, liquidity)))
    if background:
        reach = 20_000 // spacing * spacing
        positions.append((base - reach, base + reach, int(10 ** log_liquidity[0])))
    return sqrt_price, spacing, positions


def random_mixed_market(seed: int) -> Market:
    """WETH and 1-2 other 18-decimal tokens priced near 1 WETH; 2-6 pools, V2 and V3 (two
    fee tiers on some pairs), each dislocated by up to ~±3 % (a few hundred ticks)."""
    rng = random.Random(seed)
    market = Market(native=WETH, quote=WETH)
    market.add_token(Token(WETH, "WETH", 18))
    tokens = [WETH]
    for i in range(rng.randint(1, 2)):
        address = f"0xt{i}"
        market.add_token(Token(address, f"T{i}", 18))
        tokens.append(address)
    for n in range(rng.randint(2, 6)):
        t0, t1 = sorted(rng.sample(tokens, 2))
        skew = rng.randint(-300, 300)
        if rng.random() < 0.5:
            depth = 10 ** rng.uniform(19.0, 23.0)
            r0 = int(depth)
            r1 = int(depth * 1.0001**skew)
            market.add_pool(Pool("univ2", f"0xp{n}", t0, t1, r0, r1, rng.choice([25, 30])))
            continue
        sqrt_price, spacing, positions = random_layout(rng, skew, (19.0, 23.0), rng.random() < 0.8)
        fee = rng.choice(FEES)
        market.add_pool(v3_pool(f"0xp{n}", t0, t1, sqrt_price, fee, spacing, positions))
    return market


SPACING = {3000: 60, 500: 10}


def to_v3(pool: Pool, rng: random.Random) -> Pool:
    """The V2 pair as a V3 pool at its price: a wide position (±700 spacings) and three
    narrow ones around and beside the price, in-range virtual reserves near the pair's."""
    fee = 3000 if pool.fee_bps >= 30 else 500
    spacing = SPACING[fee]
    state = state_at_price(math.isqrt((pool.reserve1 << 192) // pool.reserve0), fee, spacing)
    total = math.isqrt(pool.reserve0 * pool.reserve1)
    base = state.tick // spacing
    positions = [(base - 700, base + 700, 0.3)]
    for n in range(3):
        width = rng.randint(4, 40)
        start = base - rng.randint(1, width - 1) if n == 0 else base + rng.randint(-50, 40)
        positions.append((start, start + width, rng.uniform(0.2, 0.6)))
    b0 = b1 = 0
    for lower, upper, share in positions:
        a0, a1 = mint(state, lower * spacing, upper * spacing, max(1, int(total * share)))
        b0, b1 = b0 + a0, b1 + a1
    return Pool(
        pool.dex + "-v3", pool.address, pool.token0, pool.token1, b0, b1, fee // 100, "v3", state
    )


def mixed(market: Market, share: float, seed: int) -> Market:
    """A copy of `market` with every (1/share)-th pool turned into a V3 pool (`to_v3`)."""
    rng = random.Random(seed)
    out = Market(dict(market.tokens), {}, market.native, market.quote)
    step = max(1, round(1 / share)) if share > 0 else 0
    for i, pool in enumerate(market.pools.values()):
        copy = Pool(
            pool.dex,
            pool.address,
            pool.token0,
            pool.token1,
            pool.reserve0,
            pool.reserve1,
            pool.fee_bps,
        )
        out.add_pool(to_v3(copy, rng) if step and i % step == 0 else copy)
    return out
