"""Building the simulated world: tokens, pools and the operator's wallet.

The world is a pure function of the config and the seed, so a bug report that says
"seed 7, block 1234" can be replayed exactly. Token and pool addresses depend only on
symbols and dex names (stable across seeds, like real deployments); the seed decides
prices, depths and the small per-pool price differences the engine arbitrages.
All amounts are ints: prices are micro-dollars per whole token.

With `sim.v3_pools` every pair also gets a Uniswap V3 pool (`V3_DEX`, fee 3000) and the
native pairs a second fee tier (500): each holds several positions across tick ranges
(one wide, a few narrow around and beside the price), priced off the reference like the
pairs. They are drawn from their own seeded stream, so the V2 pairs of a seed are the same
with or without them.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field

from engine.config import MarketSection, SimSection
from engine.market.model import Market, Pool, Token
from engine.market.sim.seeds import fake_address, stream
from engine.market.v3.pool import state_at_price
from engine.market.v3.positions import mint
from engine.market.v3.tick_math import MAX_TICK, MIN_TICK
from engine.units import to_base_units

USD = 10**6  # micro-dollars per dollar: the unit of reference prices
PPM = 1_000_000

# symbol, decimals, reference price in whole dollars (jittered per seed)
CATALOG: tuple[tuple[str, int, int], ...] = (
    ("DAI", 18, 1),
    ("WBTC", 8, 60_000),
    ("LINK", 18, 15),
    ("UNI", 18, 8),
    ("AAVE", 18, 100),
    ("USDT", 6, 1),
    ("MKR", 18, 2_000),
    ("CRV", 18, 1),
    ("COMP", 18, 50),
    ("SNX", 18, 3),
    ("LDO", 18, 2),
    ("EURC", 6, 1),
)
STABLES = frozenset({"DAI", "USDT", "EURC"})
NATIVE_USD = (2_500, 3_500)  # dollars per native token, drawn per seed
NATIVE_QUOTE_DEPTH = (2_000, 5_000)  # native tokens in each native/quote pool
POOL_DEPTH_USD = (400_000, 4_000_000)  # dollars per side of the other pools
PRICE_JITTER_PPM = 1_500  # per-pool deviation from the reference price
TOKEN_PAIRS = 3  # token/token pools besides the base pairs
V3_DEX = "uniswap-v3"
V3_TIERS = {3000: 60, 500: 10}  # fee in pips -> tick spacing (the factory's defaults)
# positions of a V3 pool: (lower, upper) in spacings from the price's, share of liquidity
V3_WIDE = (-700, 700, 0.25)  # ~±34 % of the price at spacing 60
V3_NARROW_SPACINGS = (4, 40)  # width of each narrow position, drawn
V3_NARROW = 3  # narrow positions per pool, around and beside the price


@dataclass(slots=True)
class World:
    """The initial state of a simulated chain."""

    market: Market
    operator: str  # the wallet's address
    balances: dict[str, int]  # token address -> base units held by the operator
    prices: dict[str, int] = field(default_factory=dict)  # address -> micro-USD per token


def build_world(sim: SimSection, market: MarketSection | None = None) -> World:
    """Tokens, pools and wallet for `sim.seed`, from a `[sim]` that `engine.config.load`
    validated (one fee per dex, settings for every provider, exact wallet amounts)."""
    market_section = market or MarketSection()
    rng = stream(sim.seed, "world")
    tokens, prices = _tokens(sim, market_section, rng)
    built = Market(native=tokens[0].address, quote=tokens[1].address)
    for token in tokens:
        built.add_token(token)
    for pool in _pools(sim, tokens, prices, rng):
        built.add_pool(pool)
    if sim.v3_pools:
        for pool in _v3_pools(tokens, prices, stream(sim.seed, "world-v3")):
            built.add_pool(pool)
    operator = fake_address("operator", sim.seed)
    balances = {
        built.native: to_base_units(sim.wallet_weth, tokens[0].decimals),
        built.quote: to_base_units(sim.wallet_usdc, tokens[1].decimals),
    }
    return World(market=built, operator=operator, balances=balances, prices=prices)


def _tokens(
    sim: SimSection, section: MarketSection, rng: random.Random
) -> tuple[list[Token], dict[str, int]]:
    """Native first, quote second, then `sim.tokens` more from the catalog (or made up)."""
    specs = [(section.native, 18, rng.randint(*NATIVE_USD) * USD), (section.quote, 6, USD)]
    catalog = [entry for entry in CATALOG if entry[0] not in (section.native, section.quote)]
    for i in range(sim.tokens):
        specs.append(_extra_token(i, catalog, rng))
    tokens = [Token(fake_address("token", sym), sym, dec) for sym, dec, _ in specs]
    prices = {token.address: price for token, (_, _, price) in zip(tokens, specs, strict=True)}
    return tokens, prices


def _extra_token(
    index: int, catalog: list[tuple[str, int, int]], rng: random.Random
) -> tuple[str, int, int]:
    if index < len(catalog):
        symbol, decimals, dollars = catalog[index]
    else:
        symbol, decimals, dollars = f"TKN{index}", 18, rng.randint(1, 100)
    if symbol in STABLES:
        return symbol, decimals, dollars * USD
    return symbol, decimals, dollars * rng.randint(800_000, 1_200_000)


def _pools(
    sim: SimSection, tokens: list[Token], prices: dict[str, int], rng: random.Random
) -> list[Pool]:
    native, quote, extras = tokens[0], tokens[1], tokens[2:]
    pairs: list[tuple[Token, Token]] = [(native, quote)]
    for token in extras:
        pairs += [(token, native), (token, quote)]
    pools = [
        _pool(dex, fee, a, b, prices, rng, _depth_usd(a, b, prices, rng))
        for a, b in pairs
        for dex, fee in zip(sim.dexes, sim.dex_fees_bps, strict=True)
    ]
    for a, b in _token_pairs(extras, rng):
        dex_index = rng.randrange(len(sim.dexes))
        dex, fee = sim.dexes[dex_index], sim.dex_fees_bps[dex_index]
        pools.append(_pool(dex, fee, a, b, prices, rng, _depth_usd(a, b, prices, rng)))
    return pools


def _token_pairs(extras: list[Token], rng: random.Random) -> list[tuple[Token, Token]]:
    """`TOKEN_PAIRS` distinct pairs (i < j), drawn exactly as `rng.sample` would draw them
    from the list of all pairs in order, without building that list: with 8k tokens it
    holds 35M pairs (seconds and gigabytes for three draws)."""
    n = len(extras)
    count = n * (n - 1) // 2
    return [_nth_pair(extras, k) for k in rng.sample(range(count), min(TOKEN_PAIRS, count))]


def _nth_pair(extras: list[Token], k: int) -> tuple[Token, Token]:
    """The k-th pair (i < j) in row order: (0,1), (0,2), ..., (1,2), ..."""
    n = len(extras)
    # first row i whose start exceeds k, minus one; start(i) = i*n - i*(i+1)/2
    i = max(0, int(((2 * n - 1) - math.sqrt((2 * n - 1) ** 2 - 8 * k)) / 2) - 1)
    while _row_start(n, i + 1) <= k:
        i += 1
    return extras[i], extras[i + 1 + k - _row_start(n, i)]


def _row_start(n: int, i: int) -> int:
    return i * n - i * (i + 1) // 2


def _depth_usd(a: Token, b: Token, prices: dict[str, int], rng: random.Random) -> int:
    """Dollars per side: the native/quote pools hold a few thousand native tokens."""
    native, quote = itertools.islice(prices, 2)  # not list(prices): once per pool, 50k pools
    if {a.address, b.address} == {native, quote}:
        return rng.randint(*NATIVE_QUOTE_DEPTH) * prices[native] // USD
    return rng.randint(*POOL_DEPTH_USD)


def _pool(
    dex: str,
    fee_bps: int,
    a: Token,
    b: Token,
    prices: dict[str, int],
    rng: random.Random,
    depth_usd: int,
) -> Pool:
    """A pair holding `depth_usd` a side, its price off the reference by a few bps."""
    jitter = PPM + rng.randint(-PRICE_JITTER_PPM, PRICE_JITTER_PPM)
    amount_a = depth_usd * USD * 10**a.decimals // prices[a.address]
    amount_b = depth_usd * USD * 10**b.decimals * jitter // (prices[b.address] * PPM)
    token0, token1 = sorted((a, b), key=lambda t: t.address)
    reserve0, reserve1 = (amount_a, amount_b) if token0 is a else (amount_b, amount_a)
    return Pool(
        dex=dex,
        address=fake_address("pool", dex, token0.symbol, token1.symbol),
        token0=token0.address,
        token1=token1.address,
        reserve0=reserve0,
        reserve1=reserve1,
        fee_bps=fee_bps,
    )


def _v3_pools(tokens: list[Token], prices: dict[str, int], rng: random.Random) -> list[Pool]:
    """Fee 3000 on every base pair, 500 too on the native pairs."""
    native, quote, extras = tokens[0], tokens[1], tokens[2:]
    pairs: list[tuple[Token, Token]] = [(native, quote)]
    for token in extras:
        pairs += [(token, native), (token, quote)]
    pools = []
    for a, b in pairs:
        for fee in V3_TIERS if native in (a, b) else (3000,):
            pools.append(_v3_pool(fee, a, b, prices, rng, _depth_usd(a, b, prices, rng)))
    return pools


def _v3_pool(
    fee: int, a: Token, b: Token, prices: dict[str, int], rng: random.Random, depth_usd: int
) -> Pool:
    """A V3 pool whose in-range virtual reserves hold about `depth_usd` a side, its price
    off the reference by a few bps; its balances are what its positions deposited."""
    jitter = PPM + rng.randint(-PRICE_JITTER_PPM, PRICE_JITTER_PPM)
    amount_a = depth_usd * USD * 10**a.decimals // prices[a.address]
    amount_b = depth_usd * USD * 10**b.decimals * jitter // (prices[b.address] * PPM)
    token0, token1 = sorted((a, b), key=lambda t: t.address)
    amount0, amount1 = (amount_a, amount_b) if token0 is a else (amount_b, amount_a)
    sqrt_price = math.isqrt((amount1 << 192) // amount0)
    spacing = V3_TIERS[fee]
    state = state_at_price(sqrt_price, fee, spacing)
    total = math.isqrt(amount0 * amount1)  # L of virtual reserves (amount0, amount1)
    base = state.tick // spacing
    balance0 = balance1 = 0
    for lower, upper, share in _positions(base, rng):
        low = max(lower * spacing, -(-MIN_TICK // spacing) * spacing)
        high = min(upper * spacing, MAX_TICK // spacing * spacing)
        paid0, paid1 = mint(state, low, high, max(1, int(total * share)))
        balance0, balance1 = balance0 + paid0, balance1 + paid1
    return Pool(
        dex=V3_DEX,
        address=fake_address("pool", f"{V3_DEX}-{fee}", token0.symbol, token1.symbol),
        token0=token0.address,
        token1=token1.address,
        reserve0=balance0,
        reserve1=balance1,
        fee_bps=fee // 100,
        kind="v3",
        v3=state,
    )


def _positions(base: int, rng: random.Random) -> list[tuple[int, int, float]]:
    """(lower, upper, share) in spacings: one wide, `V3_NARROW` narrow ones, the first
    across the price and the others anywhere near it (so some ranges start or end beside
    the price and a big swap crosses several initialised ticks)."""
    low, high, share = V3_WIDE
    out = [(base + low, base + high, share)]
    for n in range(V3_NARROW):
        width = rng.randint(*V3_NARROW_SPACINGS)
        start = base - rng.randint(1, width - 1) if n == 0 else base + rng.randint(-50, 40)
        out.append((start, start + width, rng.uniform(0.2, 0.6)))
    return out
