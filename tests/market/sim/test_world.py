"""The simulated world: deterministic from the seed, realistic in shape."""

from __future__ import annotations

import random
import tracemalloc

import pytest

from engine.config import MarketSection, SimSection
from engine.market.model import Token
from engine.market.sim import build_world
from engine.market.sim.world import TOKEN_PAIRS, _token_pairs


def test_same_seed_same_world() -> None:
    a, b = (
        build_world(SimSection(v3_pools=False, seed=11)),
        build_world(SimSection(v3_pools=False, seed=11)),
    )
    assert a.market == b.market
    assert a.balances == b.balances
    assert a.operator == b.operator


def test_seed_changes_prices_not_addresses() -> None:
    a, b = (
        build_world(SimSection(v3_pools=False, seed=1)),
        build_world(SimSection(v3_pools=False, seed=2)),
    )
    assert a.market.tokens == b.market.tokens
    # the base pairs are the same deployments; which token/token pairs exist is seeded
    base_pairs = 3 * (1 + 2 * 6)
    assert list(a.market.pools)[:base_pairs] == list(b.market.pools)[:base_pairs]
    reserves_a = [(p.reserve0, p.reserve1) for p in a.market.pools.values()]
    reserves_b = [(p.reserve0, p.reserve1) for p in b.market.pools.values()]
    assert reserves_a != reserves_b


def test_tokens_and_wallet() -> None:
    world = build_world(
        SimSection(v3_pools=False, tokens=6, wallet_weth="12.5", wallet_usdc="1000")
    )
    market = world.market
    native, quote = market.tokens[market.native], market.tokens[market.quote]
    assert (native.symbol, native.decimals) == ("WETH", 18)
    assert (quote.symbol, quote.decimals) == ("USDC", 6)
    assert len(market.tokens) == 8
    assert {t.decimals for t in market.tokens.values()} >= {6, 18}
    assert world.balances == {market.native: 12_500_000_000_000_000_000, market.quote: 10**9}
    for address in [*market.tokens, *market.pools, world.operator]:
        assert address.startswith("0x") and len(address) == 42
        int(address, 16)


def test_pools_cover_every_token_on_every_dex() -> None:
    sim = SimSection(v3_pools=False, tokens=4)
    market = build_world(sim).market
    fee_of = dict(zip(sim.dexes, sim.dex_fees_bps, strict=True))
    pairs = {(p.dex, frozenset((p.token0, p.token1))) for p in market.pools.values()}
    for token in market.tokens:
        for base in (market.native, market.quote):
            if token == base:
                continue
            for dex in sim.dexes:
                assert (dex, frozenset((token, base))) in pairs
    for pool in market.pools.values():
        assert pool.fee_bps == fee_of[pool.dex]
        assert pool.token0 < pool.token1  # Uniswap orders a pair's tokens by address
        assert pool.reserve0 > 0 and pool.reserve1 > 0
    token_pairs = [
        p
        for p in market.pools.values()
        if market.native not in (p.token0, p.token1) and market.quote not in (p.token0, p.token1)
    ]
    assert token_pairs


def test_native_quote_pools_are_deep_and_slightly_apart() -> None:
    market = build_world(SimSection(v3_pools=False)).market
    pools = [
        p for p in market.pools.values() if {p.token0, p.token1} == {market.native, market.quote}
    ]
    assert len(pools) == 3
    prices = []
    for pool in pools:
        weth, usdc = pool.reserves_for(market.native)
        assert 1_000 * 10**18 <= weth <= 10_000 * 10**18
        prices.append(usdc * 10**12 * 10**6 // weth)  # micro-USDC per WETH
    assert len(set(prices)) == 3
    assert max(prices) - min(prices) < max(prices) // 100  # within 1 %


@pytest.mark.parametrize(("native", "quote"), [("WMATIC", "USDT0"), ("WETH", "USDT")])
def test_custom_symbols_for_native_and_quote(native: str, quote: str) -> None:
    world = build_world(
        SimSection(v3_pools=False, tokens=12), MarketSection(native=native, quote=quote)
    )
    market = world.market
    assert market.tokens[market.native].symbol == native
    assert market.tokens[market.quote].symbol == quote
    symbols = [t.symbol for t in market.tokens.values()]
    assert len(symbols) == len(set(symbols)) == 14


def test_a_big_world_never_lists_every_token_pair() -> None:
    """3,000 tokens have 4.5M token/token pairs; three are drawn. Listing them all first
    is what made a 50k-pool world take 12-17 s and 2.4 GB."""
    tracemalloc.start()
    try:
        world = build_world(SimSection(v3_pools=False, tokens=3_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(world.market.pools) == 3 * (1 + 2 * 3_000) + 3
    assert peak < 64 * 2**20


@pytest.mark.parametrize("seed", [1, 7, 42])
@pytest.mark.parametrize("count", [2, 3, 4, 9, 40])
def test_token_pairs_are_drawn_as_from_the_full_listing(seed: int, count: int) -> None:
    """Same seed, same world as when every pair was listed and sampled."""
    extras = [Token(f"0x{i:040x}", f"T{i}", 18) for i in range(count)]
    listing = [(a, b) for i, a in enumerate(extras) for b in extras[i + 1 :]]
    expected = random.Random(seed).sample(listing, min(TOKEN_PAIRS, len(listing)))
    assert _token_pairs(extras, random.Random(seed)) == expected
