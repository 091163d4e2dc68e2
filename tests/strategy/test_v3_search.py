"""The search over markets mixing V2 pairs and V3 pools: nothing unprofitable, nothing missed."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.market.model import Block, Market, Pool, Token
from engine.market.v3.pool import swap as v3_swap
from engine.market.v3.ticks import TickTable
from engine.strategy import v3_hops
from engine.strategy.opportunity import Opportunity
from engine.strategy.search import ArbitrageSearch, SearchConfig
from tests.strategy.v3_markets import WETH, random_mixed_market, v3_pool

BLOCK = Block(number=7, timestamp=0.0, base_fee=10**9)
markets = st.integers(0, 2**64 - 1).map(random_mixed_market)


def replay(market: Market, opportunity: Opportunity) -> list[int] | None:
    """Exact amounts along the route on the market's own pools (V3: the exact swap)."""
    return v3_hops.outputs(v3_hops.legs(market, opportunity.route), opportunity.amount_in)


@settings(max_examples=300, deadline=None)
@given(market=markets, gas_price=st.sampled_from([0, 10**9, 50 * 10**9]))
def test_no_proposed_mixed_trade_has_exact_net_profit_at_or_below_zero(
    market: Market, gas_price: int
) -> None:
    search = ArbitrageSearch(market, SearchConfig(base_tokens=(WETH,), top_n=50))
    for opportunity in search.rescan(BLOCK, gas_price):
        amounts = replay(market, opportunity)
        assert amounts is not None and amounts[-1] == opportunity.amount_out
        gross = amounts[-1] - opportunity.amount_in
        assert gross - opportunity.gas_cost - opportunity.flash_fee == opportunity.net_profit > 0
        for hop in opportunity.route:
            pool = market.pools[hop.pool]
            assert (hop.kind, hop.fee_pips) == (pool.kind, pool.fee_pips)


@settings(max_examples=300, deadline=None)
@given(market=markets)
def test_every_clearly_profitable_exact_cycle_of_a_mixed_market_is_reported(
    market: Market,
) -> None:
    # Quote = WETH = the only base token, no gas: the exact optimum's profit is the net.
    search = ArbitrageSearch(market, SearchConfig(base_tokens=(WETH,), top_n=1000))
    reported = {tuple(h.pool for h in o.route): o for o in search.rescan(BLOCK, 0)}
    table = search.table
    for cycle in range(len(table)):
        route = table.route(cycle)
        best = v3_hops.walk(v3_hops.legs(market, route)).profit
        pools = tuple(h.pool for h in route)
        margin = 10**6  # 1e-12 WETH: float rounding of 1e23-unit reserves, with room
        if best > margin:
            assert pools in reported, f"missed a cycle worth {best}"
            assert reported[pools].net_profit >= best - margin


def test_two_fee_tiers_of_one_pair_are_two_pools_and_their_spread_is_traded() -> None:
    market = Market(native=WETH, quote=WETH)
    market.add_token(Token(WETH, "WETH", 18))
    market.add_token(Token("0xusd", "USD", 18))
    wide = [(-60_000, 60_000, 10**22)]
    cheap = v3_pool("0xlow", WETH, "0xusd", 2**96, 500, 10, wide)
    dear = v3_pool("0xhigh", WETH, "0xusd", 2**96 * 102 // 100, 3000, 60, wide)
    v2 = Pool("univ2", "0xv2", WETH, "0xusd", 10**22, 10**22 * 101 // 100, 30)
    for pool in (cheap, dear, v2):
        market.add_pool(pool)
    search = ArbitrageSearch(market, SearchConfig(base_tokens=(WETH,), top_n=10))
    found = search.rescan(BLOCK, 10**9)
    routes = {tuple(h.pool for h in o.route) for o in found}
    assert ("0xlow", "0xhigh") in routes or ("0xhigh", "0xlow") in routes
    kinds = {h.kind for o in found for h in o.route}
    assert kinds == {"v2", "v3"} or kinds == {"v3"}
    fees = {h.fee_pips for o in found for h in o.route if h.kind == "v3"}
    assert fees == {500, 3000}


def test_a_cycle_whose_optimum_lies_past_the_next_tick_is_found_and_priced_across_it() -> None:
    """The in-range cap binds (thin liquidity at the price, deep just past it): the
    optimistic bound keeps the cycle, the exact re-check prices the crossing."""
    market = Market(native=WETH, quote=WETH)
    market.add_token(Token(WETH, "WETH", 18))
    market.add_token(Token("0xusd", "USD", 18))
    # price 1.0 in a thin range [-10, 10); deep liquidity below it
    layout = [(-10, 10, 10**17), (-2_000, -10, 10**23)]
    market.add_pool(v3_pool("0xv3", WETH, "0xusd", 2**96, 500, 10, layout))
    market.add_pool(Pool("univ2", "0xv2", WETH, "0xusd", 10**22, 10**22 * 97 // 100, 30))
    found = ArbitrageSearch(market, SearchConfig(base_tokens=(WETH,))).rescan(BLOCK, 10**9)
    assert found, "the cycle through the V3 pool's deep range was dropped"
    best = found[0]
    v3 = market.pools["0xv3"].v3
    assert v3 is not None
    legs = v3_hops.legs(market, best.route)
    v3_leg = next(leg for leg in legs if isinstance(leg, v3_hops.V3Leg))
    amounts = v3_hops.outputs(legs, best.amount_in)
    assert amounts is not None and amounts[-1] == best.amount_out
    assert v3_leg.state is v3  # priced on the live state, which the search never moves


def test_a_route_is_never_priced_through_an_unloaded_tick_word() -> None:
    """The follower loads the bitmap words near the price; past them the pool's ticks
    are unknown, not empty. A cycle whose optimum lies far past the window (deep
    liquidity 3,000-6,000 ticks below the price, the window ending at -2,560) is sized
    within the loaded words only: what it claims is what the real pool, every tick
    known, pays for that input, and the swap never leaves the window."""
    layout = [(-10, 10, 10**17), (-6_000, -3_000, 10**23), (-20_000, 20_000, 10**20)]
    truth = v3_pool("0xv3", WETH, "0xusd", 2**96, 500, 10, layout)
    assert truth.v3 is not None
    window = (-1, 0)  # bitmap words: ticks -2,560 .. 2,550 at spacing 10
    loaded = truth.v3.copy()
    known = {
        t: info
        for t, info in truth.v3.ticks.info.items()
        if window[0] <= (t // 10) >> 8 <= window[1]
    }
    loaded.ticks = TickTable(10, known, window)
    market = Market(native=WETH, quote=WETH)
    market.add_token(Token(WETH, "WETH", 18))
    market.add_token(Token("0xusd", "USD", 18))
    market.add_pool(dataclasses.replace(truth, v3=loaded))
    # WETH at 0.6 USD on the pair: selling WETH into the V3 pool pays down to ~tick -5,100
    market.add_pool(Pool("univ2", "0xv2", WETH, "0xusd", 10**24, 6 * 10**23, 30))

    found = ArbitrageSearch(market, SearchConfig(base_tokens=(WETH,))).rescan(BLOCK, 10**9)

    through = [o for o in found if "0xv3" in {h.pool for h in o.route}]
    assert through, "the in-window part of the dislocation still pays"
    for opportunity in through:
        real = Market(native=WETH, quote=WETH)
        real.tokens = market.tokens
        real.add_pool(truth)
        real.add_pool(market.pools["0xv2"])
        amounts = v3_hops.outputs(v3_hops.legs(real, opportunity.route), opportunity.amount_in)
        assert amounts is not None and amounts[-1] == opportunity.amount_out
        hop = next(h for h in opportunity.route if h.pool == "0xv3")
        index = [h.pool for h in opportunity.route].index("0xv3")
        amount_in = [opportunity.amount_in, *amounts][index]
        moved = v3_swap(truth.v3.copy(), hop.token_in == truth.token0, amount_in)
        assert (moved.tick // 10) >> 8 >= window[0], "priced past the loaded words"
