"""Cycle enumeration: which cycles exist, once each, in both directions, indexed by pool."""

from __future__ import annotations

import itertools

from engine.market.model import Market, Pool, Token
from engine.strategy.cycles import CycleTable, build_cycle_table

WETH, USDC, TKN, OTHER = "0xweth", "0xusdc", "0xtkn", "0xother"
E18 = 10**18


def market_with(*pairs: tuple[str, str, str]) -> Market:
    """Pools named by address over (token0, token1); reserves are irrelevant to enumeration."""
    market = Market(native=WETH, quote=USDC)
    for address in (WETH, USDC, TKN, OTHER):
        market.add_token(Token(address, address[2:].upper(), 18))
    for address, token0, token1 in pairs:
        market.add_pool(Pool("dex", address, token0, token1, E18, E18))
    return market


def routes(table: CycleTable) -> set[tuple[tuple[str, str], ...]]:
    return {tuple((h.pool, h.token_in) for h in table.route(c)) for c in range(len(table))}


def test_same_pair_on_two_dexes_gives_a_two_pool_cycle_each_way() -> None:
    table = build_cycle_table(market_with(("p1", WETH, TKN), ("p2", WETH, TKN)), [WETH], 3)
    assert routes(table) == {
        (("p1", WETH), ("p2", TKN)),
        (("p2", WETH), ("p1", TKN)),
    }


def test_a_single_pool_pair_has_no_cycle() -> None:
    table = build_cycle_table(market_with(("p1", WETH, TKN)), [WETH], 3)
    assert len(table) == 0


def test_a_triangle_gives_a_three_hop_cycle_in_each_direction() -> None:
    market = market_with(("a", WETH, TKN), ("b", TKN, USDC), ("c", USDC, WETH))
    table = build_cycle_table(market, [WETH], 3)
    assert routes(table) == {
        (("a", WETH), ("b", TKN), ("c", USDC)),
        (("c", WETH), ("b", USDC), ("a", TKN)),
    }


def test_a_cycle_through_two_base_tokens_is_listed_once_from_the_first_base() -> None:
    market = market_with(("a", WETH, TKN), ("b", TKN, USDC), ("c", USDC, WETH))
    table = build_cycle_table(market, [WETH, USDC], 3)
    assert len(table) == 2
    assert {table.base_tokens[t] for t in table.token} == {WETH}


def test_base_token_order_decides_which_token_a_cycle_trades_in() -> None:
    market = market_with(("a", WETH, TKN), ("b", TKN, USDC), ("c", USDC, WETH))
    table = build_cycle_table(market, [USDC, WETH], 3)
    assert {table.base_tokens[t] for t in table.token} == {USDC}


def test_cycles_that_touch_no_base_token_are_not_listed() -> None:
    market = market_with(("a", TKN, OTHER), ("b", TKN, OTHER), ("c", WETH, USDC))
    table = build_cycle_table(market, [WETH], 3)
    assert len(table) == 0


def test_max_hops_two_lists_only_two_pool_cycles() -> None:
    market = market_with(("a", WETH, TKN), ("b", TKN, USDC), ("c", USDC, WETH), ("d", WETH, TKN))
    table = build_cycle_table(market, [WETH], 2)
    assert set(table.hops.tolist()) == {2}
    assert len(table) == 2


def test_every_route_is_a_closed_chain_from_its_token() -> None:
    market = market_with(
        ("a", WETH, TKN), ("b", TKN, USDC), ("c", USDC, WETH), ("d", WETH, TKN), ("e", USDC, TKN)
    )
    table = build_cycle_table(market, [WETH, USDC], 3)
    for cycle in range(len(table)):
        route = table.route(cycle)
        token = table.base_tokens[int(table.token[cycle])]
        assert route[0].token_in == token and route[-1].token_out == token
        assert all(a.token_out == b.token_in for a, b in itertools.pairwise(route))


def test_cycles_touching_a_pool_are_exactly_those_routed_through_it() -> None:
    market = market_with(
        ("a", WETH, TKN), ("b", TKN, USDC), ("c", USDC, WETH), ("d", WETH, TKN), ("e", USDC, TKN)
    )
    table = build_cycle_table(market, [WETH, USDC], 3)
    for address, index in table.pool_index.items():
        through = {c for c in range(len(table)) if address in {h.pool for h in table.route(c)}}
        assert set(table.cycles_touching([index]).tolist()) == through


def test_keys_differ_by_direction_and_repeat_across_builds() -> None:
    market = market_with(("a", WETH, TKN), ("b", TKN, USDC), ("c", USDC, WETH))
    first = build_cycle_table(market, [WETH], 3)
    again = build_cycle_table(market, [WETH], 3)
    keys = {first.key(c) for c in range(len(first))}
    assert len(keys) == 2
    assert keys == {again.key(c) for c in range(len(again))}


def test_unknown_base_tokens_are_ignored() -> None:
    table = build_cycle_table(market_with(("p1", WETH, TKN), ("p2", WETH, TKN)), ["0xnope"], 3)
    assert len(table) == 0 and table.base_tokens == ()
