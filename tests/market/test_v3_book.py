"""The evm venue's V3 book: logs as the chain writes them, applied to the market's pools.

Logs are encoded with eth_abi exactly as a UniswapV3Pool emits them (indexed arguments
in topics, the rest ABI-encoded in data); the state they are applied to is built with
the exact V3 math, so every expectation is the contract's own bookkeeping.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode

from engine.market.evm import v3_pools
from engine.market.evm.v3_book import V3Book, V3Changes, V3Words, _missing
from engine.market.evm.v3_pools import V3PoolInfo
from engine.market.model import Market, Pool, Token
from engine.market.v3 import pool as v3pool
from engine.market.v3.tick_math import sqrt_ratio_at_tick
from engine.market.v3.ticks import TickInfo, TicksNotLoaded, TickTable
from engine.strategy import v3_hops

T0 = "0x" + "11" * 20
T1 = "0x" + "22" * 20
POOL = "0x" + "33" * 20
SPACING = 10


def _topic_int(value: int) -> str:
    return "0x" + (value % (1 << 256)).to_bytes(32, "big").hex()


def _log(topics: list[str], types: list[str], values: list[Any], index: int = 0) -> dict[str, Any]:
    return {
        "address": POOL.lower(),
        "topics": topics,
        "data": "0x" + encode(types, values).hex(),
        "blockNumber": "0x10",
        "logIndex": hex(index),
        "removed": False,
    }


def swap_log(amount0: int, amount1: int, tick: int, liquidity: int, index: int = 0) -> dict:
    sqrt_price = sqrt_ratio_at_tick(tick)
    return _log(
        [v3_pools.SWAP_TOPIC, _topic_int(1), _topic_int(2)],
        ["int256", "int256", "uint160", "uint128", "int24"],
        [amount0, amount1, sqrt_price, liquidity, tick],
        index,
    )


def mint_log(lower: int, upper: int, amount: int, paid: tuple[int, int], index: int = 0) -> dict:
    return _log(
        [v3_pools.MINT_TOPIC, _topic_int(7), _topic_int(lower), _topic_int(upper)],
        ["address", "uint128", "uint256", "uint256"],
        ["0x" + "44" * 20, amount, *paid],
        index,
    )


def burn_log(lower: int, upper: int, amount: int, index: int = 0) -> dict:
    return _log(
        [v3_pools.BURN_TOPIC, _topic_int(7), _topic_int(lower), _topic_int(upper)],
        ["uint128", "uint256", "uint256"],
        [amount, 0, 0],
        index,
    )


def collect_log(amounts: tuple[int, int], index: int = 0) -> dict:
    return _log(
        [v3_pools.COLLECT_TOPIC, _topic_int(7), _topic_int(-100), _topic_int(100)],
        ["address", "uint128", "uint128"],
        ["0x" + "44" * 20, *amounts],
        index,
    )


def market_with_pool(liquidity: int = 10**18, radius: int = 1) -> tuple[Market, V3Book]:
    market = Market()
    market.add_token(Token(T0, "AAA", 18))
    market.add_token(Token(T1, "BBB", 18))
    table = TickTable(SPACING, words=(-radius, radius))
    table.update(-100, liquidity, upper=False)
    table.update(100, liquidity, upper=True)
    state = v3pool.V3PoolState(sqrt_ratio_at_tick(0), 0, liquidity, 500, table)
    market.add_pool(Pool("uniswap-v3", POOL, T0, T1, 5 * 10**18, 5 * 10**18, 5, "v3", state))
    info = V3PoolInfo(POOL, T0, T1, 500, SPACING, "uniswap-v3")
    return market, V3Book(market, [info], radius)


def state_of(market: Market) -> v3pool.V3PoolState:
    state = market.pools[POOL].v3
    assert state is not None
    return state


def test_a_swap_log_sets_price_tick_liquidity_and_moves_the_balances_by_its_amounts() -> None:
    market, book = market_with_pool()
    changed = book.apply(V3Changes([swap_log(10**17, -99 * 10**15, -20, 10**18)]))
    state, pool = state_of(market), market.pools[POOL]
    assert changed == {POOL}
    assert (state.tick, state.sqrt_price_x96, state.liquidity) == (
        -20,
        sqrt_ratio_at_tick(-20),
        10**18,
    )
    assert (pool.reserve0, pool.reserve1) == (5 * 10**18 + 10**17, 5 * 10**18 - 99 * 10**15)


def test_mint_and_burn_move_the_ticks_and_the_active_liquidity_the_way_the_pool_does() -> None:
    market, book = market_with_pool()
    book.apply(V3Changes([mint_log(-50, 50, 7, (3, 4)), burn_log(-100, 100, 2, index=1)]))
    state = state_of(market)
    assert state.ticks.info[-50] == TickInfo(7, 7)
    assert state.ticks.info[50] == TickInfo(7, -7)
    assert state.ticks.info[-100] == TickInfo(10**18 - 2, 10**18 - 2)
    assert state.liquidity == 10**18 + 7 - 2
    assert (market.pools[POOL].reserve0, market.pools[POOL].reserve1) == (
        5 * 10**18 + 3,
        5 * 10**18 + 4,
    )


def test_a_mint_whose_end_lies_outside_the_loaded_words_leaves_that_end_to_the_chain() -> None:
    market, book = market_with_pool(radius=0)  # word 0: ticks [0, 2560)
    book.apply(V3Changes([mint_log(-50_000, 50, 9, (0, 0))]))
    state = state_of(market)
    assert -50_000 not in state.ticks.info, "an unloaded word is read whole, never guessed"
    assert state.ticks.info[50] == TickInfo(9, -9)
    assert state.liquidity == 10**18 + 9


def test_collect_takes_tokens_out_of_the_balances_without_touching_the_price() -> None:
    market, book = market_with_pool()
    before = state_of(market).sqrt_price_x96
    assert book.apply(V3Changes([collect_log((5, 6))])) == {POOL}
    assert (market.pools[POOL].reserve0, market.pools[POOL].reserve1) == (
        5 * 10**18 - 5,
        5 * 10**18 - 6,
    )
    assert state_of(market).sqrt_price_x96 == before


def test_logs_of_other_contracts_and_removed_logs_change_nothing() -> None:
    market, book = market_with_pool()
    foreign = swap_log(1, -1, -20, 1)
    foreign["address"] = "0x" + "99" * 20
    removed = swap_log(1, -1, -30, 1)
    removed["removed"] = True
    assert book.ours([foreign]) == []
    assert book.apply(V3Changes([foreign, removed])) == set()
    assert state_of(market).tick == 0


def test_a_price_that_leaves_the_radius_asks_for_the_words_next_to_the_window() -> None:
    _market, book = market_with_pool(radius=1)  # words -1..1 loaded
    far = -2 * 256 * SPACING - 5  # in word -3
    logs = book.ours([swap_log(1, -1, far, 10**18)])
    assert book.words_to_load(logs) == {POOL: (-4, -3, -2)}
    assert book.words_to_load(book.ours([swap_log(1, -1, 5, 10**18)])) == {}


def test_fetched_words_are_installed_after_the_logs_and_replace_what_the_window_held() -> None:
    market, book = market_with_pool(radius=1)
    tick = -2 * 256 * SPACING - 5
    chain_ticks = {-2 * 256 * SPACING - 100: TickInfo(11, 11)}
    changes = V3Changes([swap_log(1, -1, tick, 10**18)], {POOL: V3Words((-4, -3, -2), chain_ticks)})
    book.apply(changes)
    table = state_of(market).ticks
    assert table.words == (-4, 1)
    assert table.info[-2 * 256 * SPACING - 100] == TickInfo(11, 11)
    assert table.info[-100] == TickInfo(10**18, 10**18), "the words already loaded are kept"


def test_a_price_that_jumped_far_gets_a_fresh_window_not_a_gap_claimed_as_loaded() -> None:
    table = TickTable(SPACING, words=(-1, 1))
    wanted = _missing(table, 200 * 256 * SPACING, 1)
    assert wanted == (199, 200, 201)
    market, book = market_with_pool(radius=1)
    book.apply(V3Changes([], {POOL: V3Words(wanted, {})}))
    assert state_of(market).ticks.words == (199, 201)
    assert state_of(market).ticks.info == {}


def test_a_full_re_read_replaces_the_state_in_place_for_the_search_that_holds_the_pool() -> None:
    market, book = market_with_pool()
    state = state_of(market)
    fresh = v3pool.V3PoolState(sqrt_ratio_at_tick(40), 40, 3, 500, TickTable(SPACING, words=(0, 0)))
    from engine.market.evm.v3_book import V3Snapshot

    assert book.apply(V3Changes(snapshot=V3Snapshot(9, {POOL: fresh}, {POOL: (1, 2)}))) == {POOL}
    assert state_of(market) is state
    assert (state.tick, state.liquidity, state.ticks.words) == (40, 3, (0, 0))
    assert (market.pools[POOL].reserve0, market.pools[POOL].reserve1) == (1, 2)


def test_a_walk_into_an_unloaded_word_asks_the_book_for_it_and_the_next_step_loads_it() -> None:
    """On demand: the exact re-check of a route stops at the loaded words (the walk pays
    nothing past them), and the word it reached is fetched with the next chain step, logs
    of that pool or not, so the next re-check sizes the route on the chain's ticks."""
    market, book = market_with_pool(radius=1)  # words -1..1; liquidity only in [-100, 100)
    state = state_of(market)
    leg = v3_hops.V3Leg(state, True, 5 * 10**18)
    assert v3_hops.leg_output(leg, 10**21) == 0  # walks down past word -1: not priced

    assert book.words_to_load([]) == {POOL: (-2,)}
    chain_ticks = {-2 * 256 * SPACING + 30: TickInfo(7, 7)}
    book.apply(V3Changes([], {POOL: V3Words((-2,), chain_ticks)}))
    assert state.ticks.words == (-2, 1)
    assert state.ticks.info[-2 * 256 * SPACING + 30] == TickInfo(7, 7)
    assert book.words_to_load([]) == {}, "asked once, loaded once"


def test_a_word_asked_for_beyond_the_widest_window_is_not_loaded() -> None:
    market, book = market_with_pool(radius=1)
    table = state_of(market).ticks
    with pytest.raises(TicksNotLoaded):
        table.next_initialized_within_word(-100 * 256 * SPACING, lte=True)
    assert book.words_to_load([]) == {}  # the price is not there: a window that wide is not kept
