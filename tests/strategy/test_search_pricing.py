"""Costs and values of an opportunity: gas, flash fee, quote conversion, caps and ids."""

from __future__ import annotations

import json

from engine.market.model import Block, Market, Pool, Token
from engine.strategy.search import ArbitrageSearch, SearchConfig

WETH, USDC, TKN, ISLAND = "0xweth", "0xusdc", "0xtkn", "0xisland"
GWEI = 10**9
GAS_WEI_2_HOPS = 130_000 * 30 * GWEI  # 3.9e15 wei for a two-pool cycle at 30 gwei
BLOCK = Block(number=42, timestamp=0.0, base_fee=30 * GWEI)


def market(*, with_tkn_weth: bool = True) -> Market:
    """WETH at 3000 USDC (deep pool) / 3001 (shallow pool); TKN mispriced 5 % across dexes."""
    m = Market(native=WETH, quote=USDC)
    for address, decimals in ((WETH, 18), (USDC, 6), (TKN, 18), (ISLAND, 18)):
        m.add_token(Token(address, address[2:].upper(), decimals))
    m.add_pool(Pool("uni", "0xdeep", WETH, USDC, 1000 * 10**18, 3_000_000 * 10**6))
    m.add_pool(Pool("sushi", "0xshallow", WETH, USDC, 10 * 10**18, 30_010 * 10**6))
    if with_tkn_weth:
        m.add_pool(Pool("uni", "0xtw1", TKN, WETH, 10**24, 10**21))
        m.add_pool(Pool("sushi", "0xtw2", TKN, WETH, 105 * 10**22, 10**21, fee_bps=25))
    m.add_pool(Pool("uni", "0xtu1", TKN, USDC, 10**24, 3 * 10**12))
    m.add_pool(Pool("sushi", "0xtu2", TKN, USDC, 105 * 10**22, 31 * 10**11))
    return m


def rescan(m: Market, gas_price: int = 30 * GWEI, **config: object) -> list:
    config.setdefault("max_hops", 2)
    return ArbitrageSearch(m, SearchConfig(**config)).rescan(BLOCK, gas_price)


def test_gas_in_the_native_token_is_units_times_price() -> None:
    found = rescan(market(), base_tokens=(WETH,))
    assert found and all(o.gas_cost == GAS_WEI_2_HOPS for o in found)
    assert all(o.gas_units == 130_000 and o.gas_price == 30 * GWEI for o in found)


def test_three_hop_routes_are_charged_their_own_gas_units() -> None:
    found = rescan(market(), base_tokens=(WETH,), max_hops=3, top_n=100)
    three = [o for o in found if len(o.route) == 3]
    assert three and all(o.gas_cost == 180_000 * 30 * GWEI for o in three)


def test_gas_is_converted_at_the_deepest_direct_pools_mid_price() -> None:
    # deep pool: 3.9e15 wei * 3e12 / 1e21 = 11_700_000 (11.70 USDC); the shallow one
    # (3001 USDC/WETH) would give 11_703_900
    found = rescan(market(), base_tokens=(USDC,))
    assert found and all(o.gas_cost == 11_700_000 for o in found)


def test_gas_is_converted_through_a_hub_token_when_no_direct_pool_exists() -> None:
    # WETH -> USDC at the deep pool (3e12 / 1e21), USDC -> TKN at the deeper TKN/USDC
    # pool by USDC depth (0xtu2: 1.05e24 TKN / 3.1e12 USDC), rounded up
    found = rescan(market(with_tkn_weth=False), base_tokens=(TKN,))
    expected = -(-GAS_WEI_2_HOPS * 3 * 10**12 * 105 * 10**22 // (10**21 * 31 * 10**11))
    assert found and all(o.gas_cost == expected for o in found)


def test_a_cycle_whose_token_cannot_pay_for_gas_is_skipped() -> None:
    m = market()
    m.pools.clear()  # TKN and ISLAND trade only with each other: no path from WETH
    m.quote = ISLAND  # so the quote side is priceable; only gas is not
    m.add_pool(Pool("uni", "0xi1", ISLAND, TKN, 10**24, 10**24))
    m.add_pool(Pool("sushi", "0xi2", ISLAND, TKN, 10**24, 2 * 10**24))
    assert rescan(m, base_tokens=(ISLAND,)) == []
    assert rescan(m, gas_price=0, base_tokens=(ISLAND,)) != []


def test_a_cycle_whose_profit_cannot_be_valued_in_the_quote_token_is_skipped() -> None:
    m = market()
    m.quote = ISLAND  # no pool holds it
    assert rescan(m, base_tokens=(WETH,)) == []


def test_net_profit_is_gross_minus_gas_minus_flash_fee() -> None:
    for o in rescan(market(), base_tokens=(WETH,), flash_fee_bps=9):
        assert o.gross_profit == o.amount_out - o.amount_in
        assert o.flash_fee == -(-o.amount_in * 9 // 10_000)
        assert o.net_profit == o.gross_profit - o.gas_cost - o.flash_fee > 0


def test_a_flash_fee_shrinks_the_trade() -> None:
    free = {o.id: o for o in rescan(market(), base_tokens=(WETH,))}
    charged = {o.id: o for o in rescan(market(), base_tokens=(WETH,), flash_fee_bps=9)}
    assert free.keys() == charged.keys()
    assert all(charged[k].amount_in < free[k].amount_in for k in free)


def test_net_profit_in_quote_is_rounded_down_at_the_deep_pools_price() -> None:
    for o in rescan(market(), base_tokens=(WETH,)):
        assert o.net_profit_quote == o.net_profit * 3 * 10**12 // 10**21


def test_input_never_exceeds_the_configured_cap() -> None:
    cap = 10**18
    uncapped = rescan(market(), base_tokens=(WETH,))
    assert any(o.amount_in > cap for o in uncapped)
    capped = rescan(market(), base_tokens=(WETH,), max_amount_in={WETH: cap})
    assert capped and all(o.amount_in <= cap for o in capped)


def test_free_gas_needs_no_native_token() -> None:
    m = market()
    m.native = ""
    found = rescan(m, gas_price=0, base_tokens=(WETH,))
    assert found and all(o.gas_cost == 0 for o in found)


def test_max_hops_two_reports_only_two_pool_routes() -> None:
    found = rescan(market(), base_tokens=(WETH, USDC), max_hops=2, top_n=100)
    assert found and all(len(o.route) == 2 for o in found)


def test_ids_are_block_number_and_cycle_and_repeat_across_instances() -> None:
    first = rescan(market(), base_tokens=(WETH,))
    second = rescan(market(), base_tokens=(WETH,))
    assert [o.id for o in first] == [o.id for o in second]
    assert all(o.id.startswith("42-") for o in first)


def test_event_form_keeps_integers_exact_through_json() -> None:
    opportunity = rescan(market(), base_tokens=(WETH,))[0]
    event = json.loads(json.dumps(opportunity.to_dict()))
    assert event["amount_in"] == opportunity.amount_in
    assert isinstance(event["net_profit"], int)
    assert event["route"][0] == {
        "pool": opportunity.route[0].pool,
        "token_in": opportunity.route[0].token_in,
        "token_out": opportunity.route[0].token_out,
        "kind": "v2",
        "fee_pips": opportunity.route[0].fee_pips,
    }
