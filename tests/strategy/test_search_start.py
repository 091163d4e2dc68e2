"""A cycle through several base tokens is traded from the start that pays most in quote."""

from __future__ import annotations

from hypothesis import given, settings

from engine.market.model import Block, Market, Pool, Token
from engine.strategy import exact
from engine.strategy.search import ArbitrageSearch, SearchConfig
from tests.strategy.test_search_decisions import markets

WETH, USDC, TKN = "0xweth", "0xusdc", "0xtkn"
GWEI = 10**9
BLOCK = Block(number=9, timestamp=0.0, base_fee=GWEI)


def two_base_market() -> Market:
    """WETH at ~3,000 USDC; TKN at ~1 USDC. The cycle WETH -> TKN -> USDC -> WETH is listed
    from WETH (first base token), but TKN/USDC is shallow and priced high: starting in USDC
    and ending in USDC keeps the profit where it was made."""
    market = Market(native=WETH, quote=USDC)
    market.add_token(Token(WETH, "WETH", 18))
    market.add_token(Token(USDC, "USDC", 6))
    market.add_token(Token(TKN, "TKN", 18))
    market.add_pool(Pool("dex", "0xdeep", WETH, USDC, 10_000 * 10**18, 30_000_000 * 10**6, 30))
    market.add_pool(Pool("dex", "0xwt", WETH, TKN, 1_000 * 10**18, 3_000_000 * 10**18, 30))
    market.add_pool(Pool("dex", "0xtu", TKN, USDC, 200_000 * 10**18, 212_000 * 10**6, 30))
    return market


def start_values(search: ArbitrageSearch, market: Market, route, gas_price: int) -> dict:
    """Exact net profit in quote of each base-token start of `route` (what the test expects)."""
    values = {}
    prices = search._prices  # the same mid prices the search values profit with
    for i, hop in enumerate(route):
        if hop.token_in not in (WETH, USDC):
            continue
        hops = [*route[i:], *route[:i]]
        reserves = [(*market.pools[h.pool].reserves_for(h.token_in), 30) for h in hops]
        _, profit = exact.optimal_input(reserves)
        gas = prices.rate(WETH, hop.token_in).up(180_000 * gas_price)
        values[hop.token_in] = prices.rate(hop.token_in, USDC).down(profit - gas)
    return values


def test_a_cycle_is_traded_from_the_second_base_token_when_that_start_pays_more() -> None:
    market = two_base_market()
    search = ArbitrageSearch(market, SearchConfig(base_tokens=(WETH, USDC), max_hops=3))
    found = [o for o in search.rescan(BLOCK, GWEI) if len(o.route) == 3]
    assert found
    best = found[0]
    values = start_values(search, market, best.route, GWEI)
    assert values[USDC] > values[WETH] > 0
    assert best.token == USDC
    assert best.route[0].token_in == USDC == best.route[-1].token_out
    assert best.net_profit_quote == values[USDC]


@settings(max_examples=300, deadline=None)
@given(market=markets)
def test_no_start_of_a_reported_cycle_pays_more_than_the_one_traded(market: Market) -> None:
    config = SearchConfig(base_tokens=(WETH, USDC), top_n=50)
    search = ArbitrageSearch(market, config)
    costs = search._block_costs(0)
    for opportunity in search.rescan(BLOCK, 0):
        for i, hop in enumerate(opportunity.route):
            if hop.token_in not in (WETH, USDC) or i == 0:
                continue
            hops = [*opportunity.route[i:], *opportunity.route[:i]]
            pools = [market.pools[h.pool] for h in hops]
            reserves = [
                (*p.reserves_for(h.token_in), p.fee_bps) for p, h in zip(pools, hops, strict=True)
            ]
            _, profit = exact.optimal_input(reserves)
            rate = costs.to_quote[search.table.base_tokens.index(hop.token_in)]
            if rate is not None and profit > 0:
                assert rate.down(profit) <= opportunity.net_profit_quote
