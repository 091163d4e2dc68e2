"""A block's plan over V3 pools: follow-ups priced on the exact state earlier orders leave."""

from __future__ import annotations

from engine.market.model import Block, Market, Pool, Token
from engine.market.v3.pool import apply_swap, swap
from engine.strategy import v3_hops
from engine.strategy.plan import Plan, greedy
from engine.strategy.search import ArbitrageSearch, SearchConfig
from tests.strategy.v3_markets import WETH, v3_pool

BLOCK = Block(number=3, timestamp=0.0, base_fee=10**9)


def market() -> Market:
    out = Market(native=WETH, quote=WETH)
    out.add_token(Token(WETH, "WETH", 18))
    out.add_token(Token("0xusd", "USD", 18))
    layout = [(-600, 600, 10**21), (-60, 60, 10**22)]
    out.add_pool(v3_pool("0xv3", WETH, "0xusd", 2**96 * 103 // 100, 500, 10, layout))
    out.add_pool(Pool("univ2", "0xa", WETH, "0xusd", 10**21, 10**21, 30))
    out.add_pool(Pool("univ2", "0xb", WETH, "0xusd", 2 * 10**21, 2 * 10**21, 30))
    return out


def test_a_follow_up_through_a_v3_pool_is_priced_on_the_state_the_first_order_leaves() -> None:
    live = market()
    search = ArbitrageSearch(live, SearchConfig(base_tokens=(WETH,), top_n=10))
    found = search.rescan(BLOCK, 10**9)
    through_v3 = [o for o in found if any(h.kind == "v3" for h in o.route)]
    assert len(through_v3) >= 2
    first, second = through_v3[0], through_v3[1]
    before = live.pools["0xv3"].v3
    assert before is not None
    snapshot = before.copy()
    plan = Plan(live, flash_fee_bps=0)
    taken = plan.take(first)
    assert taken is not None
    # the market's own state is untouched; the plan's copy moved by the exact swap
    assert (before.sqrt_price_x96, before.tick) == (snapshot.sqrt_price_x96, snapshot.tick)
    moved = snapshot.copy()
    amount = first.amount_in
    for hop, out in zip(first.route, taken.hop_outputs, strict=True):
        if hop.pool == "0xv3":
            result = swap(moved, hop.token_in == live.pools[hop.pool].token0, amount)
            apply_swap(moved, result.sqrt_price_x96, result.tick, result.liquidity)
        amount = out
    follow = plan.reprice(second, second.amount_in)
    if follow is not None:
        legs: list[v3_hops.Leg] = []
        for hop in second.route:
            if hop.pool == "0xv3":
                zero_for_one = hop.token_in == live.pools[hop.pool].token0
                legs.append(v3_hops.V3Leg(moved, zero_for_one, 10**30))
            else:
                legs.append(plan.path([hop])[0])  # V2 pairs: the plan's own reserves
        assert tuple(v3_hops.outputs(legs, second.amount_in) or ()) == follow.hop_outputs
    assert follow is None or follow.net_profit < second.net_profit
    assert plan._v3["0xv3"].sqrt_price_x96 == moved.sqrt_price_x96


def test_greedy_plans_over_v3_pools_never_keep_an_order_that_no_longer_pays() -> None:
    live = market()
    search = ArbitrageSearch(live, SearchConfig(base_tokens=(WETH,), top_n=10))
    search.rescan(BLOCK, 10**9)
    taken = greedy(live, search.candidates, flash_fee_bps=0)
    assert taken and all(o.net_profit > 0 for o in taken)
    pools = [h.pool for o in taken for h in o.route]
    assert "0xv3" in pools
