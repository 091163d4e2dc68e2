"""Properties of every decision over random markets: nothing unprofitable, nothing missed."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.market.amm import get_amounts_out
from engine.market.model import Block, Market, Pool, Token
from engine.strategy import exact
from engine.strategy import search as search_module
from engine.strategy.opportunity import Opportunity
from engine.strategy.search import ArbitrageSearch, SearchConfig

WETH, USDC = "0xweth", "0xusdc"
GWEI = 10**9
BLOCK = Block(number=7, timestamp=0.0, base_fee=GWEI)


def random_market(seed: int) -> Market:
    """3-5 tokens around 'true' USD prices, 3-10 pools, each mispriced by up to ±5 %.

    Drawn from a seeded RNG rather than from hypothesis primitives: a market is ~40 draws,
    and at thousands of examples hypothesis's own bookkeeping would dominate the run.
    """
    rng = random.Random(seed)
    market = Market(native=WETH, quote=USDC)
    market.add_token(Token(WETH, "WETH", 18))
    market.add_token(Token(USDC, "USDC", 6))
    prices = {WETH: 3000.0, USDC: 1.0}
    for i in range(rng.randint(1, 3)):
        address = f"0xt{i}"
        market.add_token(Token(address, f"T{i}", rng.choice([6, 8, 18])))
        prices[address] = 10 ** rng.uniform(-3.0, 3.0)
    tokens = list(prices)
    for n in range(rng.randint(3, 10)):
        t0, t1 = rng.sample(tokens, 2)
        half_tvl = 10 ** rng.uniform(2.0, 8.0)
        skew = 1 + rng.uniform(-0.05, 0.05)
        r0 = max(1, int(half_tvl / prices[t0] * 10 ** market.tokens[t0].decimals))
        r1 = max(1, int(half_tvl / prices[t1] * skew * 10 ** market.tokens[t1].decimals))
        fee = rng.choice([0, 20, 25, 30, 100])
        market.add_pool(Pool("dex", f"0xp{n}", t0, t1, r0, r1, fee))
    return market


markets = st.integers(0, 2**64 - 1).map(random_market)


def replay(market: Market, opportunity: Opportunity) -> list[int]:
    """Exact amounts along the route, read straight from the pools."""
    path = []
    for hop in opportunity.route:
        pool = market.pools[hop.pool]
        path.append((*pool.reserves_for(hop.token_in), pool.fee_bps))
    return get_amounts_out(opportunity.amount_in, path)


search_settings = st.fixed_dictionaries(
    {
        "gas_price": st.sampled_from([0, 1 * GWEI, 30 * GWEI, 500 * GWEI]),
        "flash_fee_bps": st.sampled_from([0, 5, 9]),
        "top_n": st.sampled_from([1, 3, 10]),
        "bases": st.sampled_from([(WETH,), (WETH, USDC), (USDC, WETH, "0xt0")]),
    }
)


@settings(max_examples=2000, deadline=None)
@given(market=markets, knobs=search_settings)
def test_no_proposed_trade_has_exact_net_profit_at_or_below_zero(
    market: Market, knobs: dict
) -> None:
    config = SearchConfig(
        base_tokens=knobs["bases"], flash_fee_bps=knobs["flash_fee_bps"], top_n=knobs["top_n"]
    )
    for opportunity in ArbitrageSearch(market, config).rescan(BLOCK, knobs["gas_price"]):
        amounts = replay(market, opportunity)
        assert amounts[-1] == opportunity.amount_out
        gross = amounts[-1] - opportunity.amount_in
        flash = -(-opportunity.amount_in * knobs["flash_fee_bps"] // 10_000)
        assert opportunity.flash_fee == flash and opportunity.gas_cost >= 0
        assert gross - opportunity.gas_cost - flash == opportunity.net_profit > 0


@settings(max_examples=300, deadline=None)
@given(market=markets, knobs=search_settings)
def test_results_are_ranked_by_quote_profit_and_capped_at_top_n(
    market: Market, knobs: dict
) -> None:
    config = SearchConfig(base_tokens=knobs["bases"], top_n=knobs["top_n"])
    found = ArbitrageSearch(market, config).rescan(BLOCK, knobs["gas_price"])
    assert len(found) <= knobs["top_n"]
    values = [o.net_profit_quote for o in found]
    assert values == sorted(values, reverse=True)
    assert len({o.id for o in found}) == len(found)


@settings(max_examples=300, deadline=None)
@given(market=markets)
def test_every_reported_route_closes_on_its_token(market: Market) -> None:
    config = SearchConfig(base_tokens=(WETH, USDC), top_n=50)
    for opportunity in ArbitrageSearch(market, config).rescan(BLOCK, 0):
        route = opportunity.route
        assert route[0].token_in == opportunity.token == route[-1].token_out
        assert all(a.token_out == b.token_in for a, b in itertools.pairwise(route))
        assert len({hop.pool for hop in route}) == len(route)


@settings(max_examples=300, deadline=None)
@given(market=markets)
def test_every_cycle_the_oracle_finds_clearly_profitable_is_reported(market: Market) -> None:
    # Quote = WETH = the only base token, and no gas: the oracle's profit is the net profit.
    market.quote = WETH
    search = ArbitrageSearch(market, SearchConfig(base_tokens=(WETH,), top_n=1000))
    reported = {tuple(h.pool for h in o.route): o for o in search.rescan(BLOCK, 0)}
    table = search.table
    for cycle in range(len(table)):
        route = table.reserves(cycle)
        _, best = exact.optimal_input(route)
        pools = tuple(h.pool for h in table.route(cycle))
        margin = rounding_margin(route)
        if best > margin:
            assert pools in reported
            assert reported[pools].net_profit >= best - margin


def rounding_margin(route: exact.Route) -> int:
    """Units lost to per-hop truncation, scaled through the rest of the route, doubled.

    An int, so comparing it with 18-decimal amounts does not round through a float.
    """
    bound, downstream = 1.0, 1.0
    for r_in, r_out, fee in reversed(route):
        bound += downstream
        downstream *= (10_000 - fee) / 10_000 * r_out / r_in
    return math.ceil(2 * bound)


def test_a_walk_the_safety_budget_stops_is_counted_not_silent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The budget never binds on the benchmark markets; if it ever does, it shows."""
    market = Market(native=WETH, quote=WETH)
    market.add_token(Token(WETH, "WETH", 18))
    market.add_token(Token(USDC, "USDC", 6))
    # the 2-hop route the old 64-step walk could not prove, as a WETH/USDC/WETH cycle
    market.add_pool(Pool("a", "0xp0", WETH, USDC, 12215, 19435, 30))
    market.add_pool(Pool("b", "0xp1", USDC, WETH, 22542, 31010, 25))
    search = ArbitrageSearch(market, SearchConfig(base_tokens=(WETH,)))
    search.rescan(BLOCK, 0)
    assert search.walks_cut_short == 0
    monkeypatch.setattr(search_module, "_MAX_WALK_STEPS", 1)
    search.rescan(BLOCK, 0)
    assert search.walks_cut_short >= 1
