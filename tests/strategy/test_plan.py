"""The block's plan (engine/strategy/plan.py): exact effects, exact re-pricing, greedy order.

A small market with one dislocated pool shared by two cycles: the plan must price the
second cycle on the reserves the first leaves, to the unit (checked against the V2 formula
applied swap by swap, and against the exact optimum of the moved reserves), leave the
market itself untouched, and take the better cycle first.
"""

from __future__ import annotations

import itertools

from engine.market.amm import get_amount_out
from engine.market.model import Block, Market, Pool, Token
from engine.strategy import exact
from engine.strategy.opportunity import Opportunity
from engine.strategy.plan import Plan, greedy
from engine.strategy.search import ArbitrageSearch, SearchConfig

WETH, USDC = "0xweth", "0xusdc"


def market() -> Market:
    built = Market(native=WETH, quote=USDC)
    built.add_token(Token(WETH, "WETH", 18))
    built.add_token(Token(USDC, "USDC", 6))
    depth_weth, depth_usdc = 1_000 * 10**18, 3_000_000 * 10**6
    # pool "a" sells WETH 6 % dear; "b" and "c" at 3,000 (c's fee lower: the better pair)
    built.add_pool(Pool("uni", "a", WETH, USDC, depth_weth * 100 // 106, depth_usdc, 30))
    built.add_pool(Pool("sushi", "b", WETH, USDC, depth_weth, depth_usdc, 30))
    built.add_pool(Pool("pancake", "c", WETH, USDC, depth_weth, depth_usdc, 25))
    return built


def found(m: Market) -> list[Opportunity]:
    search = ArbitrageSearch(m, SearchConfig(base_tokens=(WETH, USDC), max_hops=2, top_n=10))
    search.on_block(Block(1, 0.0, 10**9), m.pools, 10**9)
    return search.candidates


def test_a_follow_up_is_priced_on_the_reserves_the_first_order_leaves_to_the_unit() -> None:
    m = market()
    before = {a: (p.reserve0, p.reserve1) for a, p in m.pools.items()}
    candidates = found(m)
    assert len(candidates) >= 2
    plan = Plan(m, 0)
    first = plan.best(candidates)
    assert first is not None
    taken = plan.take(first)
    assert taken is not None

    # the effect, swap by swap with the V2 formula
    moved = dict(before)
    amount = taken.amount_in
    for hop in taken.route:
        pool = m.pools[hop.pool]
        r0, r1 = moved[hop.pool]
        if hop.token_in == pool.token0:
            out = get_amount_out(amount, r0, r1, pool.fee_bps)
            moved[hop.pool] = (r0 + amount, r1 - out)
        else:
            out = get_amount_out(amount, r1, r0, pool.fee_bps)
            moved[hop.pool] = (r0 - out, r1 + amount)
        amount = out
    assert amount == taken.amount_out == taken.hop_outputs[-1]

    rest = [c for c in candidates if c.id != first.id]
    second = plan.best(rest)
    assert second is not None and second.follows == first.id
    path = plan.path(second.route)
    assert path == [
        (moved[h.pool][0], moved[h.pool][1], m.pools[h.pool].fee_bps)
        if h.token_in == m.pools[h.pool].token0
        else (moved[h.pool][1], moved[h.pool][0], m.pools[h.pool].fee_bps)
        for h in second.route
    ]
    assert second.amount_in == exact.walk(path, 0, None, 64).amount_in
    assert second.net_profit == second.amount_out - second.amount_in - second.gas_cost
    assert second.net_profit < next(c for c in rest if c.id == second.id).net_profit
    assert {a: (p.reserve0, p.reserve1) for a, p in m.pools.items()} == before


def test_greedy_takes_the_most_valuable_first_and_drops_what_no_longer_pays() -> None:
    m = market()
    candidates = found(m)
    planned = greedy(m, candidates, 0)
    assert planned[0].id == candidates[0].id
    values = [o.net_profit_quote for o in planned]
    assert values == sorted(values, reverse=True)
    assert all(o.net_profit > 0 for o in planned)
    assert all(later.follows == earlier.id for earlier, later in itertools.pairwise(planned))
    assert len(greedy(m, candidates, 0, limit=1)) == 1
