"""The devnet's market, as data: tokens, prices, pools and how far the two dexes disagree.

Kept apart from `deploy` (which needs web3) so the noise trader and tests can size
trades in base units without importing web3. Prices are whole dollars and every amount
is computed with integers, so a fresh devnet is identical to the last unit every time.
"""

from __future__ import annotations

from dataclasses import dataclass

DEADLINE = 2**64 - 1  # router deadlines: the devnet's clock is never the point
FEE_BPS = 30  # both deployments are stock Uniswap V2 (0.30 %)
DEX_NAMES = ("uniswap", "sushiswap")


@dataclass(frozen=True, slots=True)
class TokenSpec:
    symbol: str
    name: str
    decimals: int
    usd_price: int  # whole dollars per whole token: sets the pools' starting prices


@dataclass(frozen=True, slots=True)
class PairSpec:
    base: str
    quote: str
    depth_usd: int  # value of each side on "uniswap"; "sushiswap" gets half
    sushi_skew_bps: int  # how far sushiswap's price of `base` (in `quote`) sits from uniswap's


WETH = TokenSpec("WETH", "Wrapped Ether", 18, 3_000)
TEST_TOKENS = (
    TokenSpec("USDC", "USD Coin", 6, 1),
    TokenSpec("DAI", "Dai Stablecoin", 18, 1),
    TokenSpec("WBTC", "Wrapped BTC", 8, 60_000),
    TokenSpec("LINK", "ChainLink Token", 18, 15),
)
# Skews beyond the 60 bps round-trip fee give two-pair arbitrage; the rest only triangles.
PAIRS = (
    PairSpec("WETH", "USDC", 2_000_000, 90),
    PairSpec("WETH", "DAI", 1_000_000, -40),
    PairSpec("WBTC", "WETH", 1_000_000, 25),
    PairSpec("LINK", "WETH", 500_000, -120),
    PairSpec("USDC", "DAI", 1_000_000, 10),
    PairSpec("WBTC", "USDC", 1_000_000, -70),
)


@dataclass(frozen=True, slots=True)
class V3PoolSpec:
    base: str
    quote: str
    fee_pips: int  # the pool's fee tier (hundredths of a bps): 100, 500, 3000, 10000
    depth_usd: int  # value of each side put into the pool, spread over its positions
    skew_bps: int  # how far its price of `base` (in `quote`) sits from the V2 uniswap pair's


V3_DEX = "uniswap-v3"
# Two fee tiers on WETH/USDC, and V3 prices apart from V2: V2<->V3 arbitrage from block one.
V3_POOLS = (
    V3PoolSpec("WETH", "USDC", 500, 2_000_000, -60),
    V3PoolSpec("WETH", "USDC", 3000, 1_000_000, 45),
    V3PoolSpec("WBTC", "WETH", 3000, 1_000_000, -80),
    V3PoolSpec("LINK", "WETH", 10000, 500_000, 150),
    V3PoolSpec("USDC", "DAI", 100, 1_000_000, 5),
)
# Each pool's liquidity: (share of the depth, half-width of the range in ticks, or None
# for the full range). Narrow ranges near the price make swaps cross initialised ticks.
V3_POSITIONS = ((30, None), (30, 4_000), (20, 600), (10, 120), (10, 30))


def base_units(spec: TokenSpec, usd: int) -> int:
    """`usd` worth of the token in base units (integers: prices are whole dollars)."""
    return usd * 10**spec.decimals // spec.usd_price


def token_spec(symbol: str) -> TokenSpec:
    return next(spec for spec in (WETH, *TEST_TOKENS) if spec.symbol == symbol)


# Flash-loan lenders: what each is funded with, in dollars per token it lends.
LENDER_FUNDS_USD = 5_000_000
BALANCER_TOKENS = ("WETH", "USDC", "DAI", "WBTC", "LINK")
AAVE_TOKENS = ("WETH", "USDC")
