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


def base_units(spec: TokenSpec, usd: int) -> int:
    """`usd` worth of the token in base units (integers: prices are whole dollars)."""
    return usd * 10**spec.decimals // spec.usd_price


def token_spec(symbol: str) -> TokenSpec:
    return next(spec for spec in (WETH, *TEST_TOKENS) if spec.symbol == symbol)
