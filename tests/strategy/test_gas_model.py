"""Gas learnt per route shape: the search charges what the chain charged, not the prior."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.ledger.records import TradeRecord
from engine.ledger.sqlite import SqliteLedger
from engine.market.model import Block, Market, Pool, Token
from engine.strategy.gas_model import GasModel, RouteShape, restore, route_shape, upper_quantile
from engine.strategy.search import ArbitrageSearch, SearchConfig

WETH, USDC, TKN = "0xweth", "0xusdc", "0xtkn"
GWEI = 10**9
BLOCK = Block(number=42, timestamp=0.0, base_fee=30 * GWEI)
PRIOR = {2: 130_000, 3: 180_000}


def market() -> Market:
    """TKN mispriced across two dexes against WETH: 2-pool cycles uni+sushi."""
    m = Market(native=WETH, quote=USDC)
    for address, decimals in ((WETH, 18), (USDC, 6), (TKN, 18)):
        m.add_token(Token(address, address[2:].upper(), decimals))
    m.add_pool(Pool("uni", "0xdeep", WETH, USDC, 1000 * 10**18, 3_000_000 * 10**6))
    m.add_pool(Pool("uni", "0xtw1", TKN, WETH, 10**24, 10**21))
    m.add_pool(Pool("sushi", "0xtw2", TKN, WETH, 105 * 10**22, 10**21, fee_bps=25))
    return m


def two_hop_shape(m: Market) -> RouteShape:
    return RouteShape.of([m.pools["0xtw1"], m.pools["0xtw2"]])


def search(m: Market, model: GasModel | None = None) -> ArbitrageSearch:
    config = SearchConfig(base_tokens=(WETH,), max_hops=2, gas_units=PRIOR)
    return ArbitrageSearch(m, config, model)


def test_a_shape_lists_its_legs_sorted_so_every_rotation_is_the_same_shape() -> None:
    m = market()
    a = RouteShape.of([m.pools["0xtw1"], m.pools["0xtw2"]])
    b = RouteShape.of([m.pools["0xtw2"], m.pools["0xtw1"]])
    assert a == b == RouteShape(2, ("v2", "v2"), ("sushi", "uni"))
    assert a.label == "2-hop v2 sushi+uni"


def test_an_unobserved_shape_is_charged_the_prior() -> None:
    model = GasModel(PRIOR)
    assert model.estimate(two_hop_shape(market())) == 130_000
    assert model.source(two_hop_shape(market())) == "prior"


def test_receipts_replace_the_prior_with_a_quantile_of_what_was_used() -> None:
    model = GasModel(PRIOR, window=64, quantile_pct=90)
    shape = two_hop_shape(market())
    for used in range(170_000, 180_000, 100):  # 100 receipts, the ring keeps the last 64
        model.observe_receipt(shape, used)
    kept = list(range(170_000, 180_000, 100))[-64:]
    assert model.estimate(shape) == upper_quantile(kept, 90)
    assert 178_000 < model.estimate(shape) < 180_000
    row = model.table()[0]
    assert (row.source, row.receipts, row.prior, row.last_used) == (
        "receipts",
        64,
        130_000,
        179_900,
    )


def test_a_tokens_one_off_first_trade_does_not_stick_to_the_estimate() -> None:
    # the devnet's first 2-hop trade paid 263k (a zero-to-nonzero balance write), the
    # following ones 155k-164k
    model = GasModel(PRIOR)
    shape = two_hop_shape(market())
    for used in (263_249, 156_070, 155_652, 161_854, 155_564):
        model.observe_receipt(shape, used)
    assert model.estimate(shape) == 156_070


def test_an_odd_receipt_does_not_move_the_estimate() -> None:
    model = GasModel(PRIOR)
    shape = two_hop_shape(market())
    for _ in range(30):
        model.observe_receipt(shape, 170_000)
    model.observe_receipt(shape, 900_000)
    assert model.estimate(shape) == 170_000


def test_a_dry_run_estimate_counts_until_the_first_receipt() -> None:
    model = GasModel(PRIOR)
    shape = two_hop_shape(market())
    model.observe_estimate(shape, 150_000)
    assert (model.estimate(shape), model.source(shape)) == (150_000, "estimate_gas")
    model.observe_receipt(shape, 171_000)
    assert (model.estimate(shape), model.source(shape)) == (171_000, "receipts")


def test_the_number_of_shapes_kept_is_bounded() -> None:
    model = GasModel(PRIOR, max_shapes=2)
    shapes = [RouteShape(2, ("v2", "v2"), (f"d{i}", "x")) for i in range(3)]
    for shape in shapes:
        model.observe_receipt(shape, 200_000)
    assert [row.shape for row in model.table()] == sorted(shapes[1:])
    assert model.estimate(shapes[0]) == 130_000


def test_a_bad_prior_is_refused() -> None:
    with pytest.raises(ValueError):
        GasModel({2: 0})


def test_after_receipts_of_180k_on_two_hop_routes_the_search_charges_180k() -> None:
    m = market()
    model = GasModel(PRIOR)
    for _ in range(10):
        model.observe_receipt(two_hop_shape(m), 180_000)
    found = search(m, model).rescan(BLOCK, 30 * GWEI)
    assert found
    assert all(o.gas_units == 180_000 and o.gas_cost == 180_000 * 30 * GWEI for o in found)
    assert search(m).rescan(BLOCK, 30 * GWEI)[0].gas_units == 130_000  # the prior alone


def test_a_marginal_opportunity_that_loses_at_the_true_gas_is_no_longer_proposed() -> None:
    m = market()
    (free,) = search(m).rescan(BLOCK, 0)
    # a gas price at which the cycle pays 130k gas but not 180k
    gas_price = free.gross_profit // 150_000
    assert free.gross_profit - 130_000 * gas_price > 0 > free.gross_profit - 180_000 * gas_price
    assert [o.id for o in search(m).rescan(BLOCK, gas_price)] == [free.id]
    model = GasModel(PRIOR)
    for _ in range(10):
        model.observe_receipt(two_hop_shape(m), 180_000)
    assert search(m, model).rescan(BLOCK, gas_price) == []


def test_the_search_reads_the_model_afresh_every_block() -> None:
    m = market()
    model = GasModel(PRIOR)
    s = search(m, model)
    assert s.rescan(BLOCK, 30 * GWEI)[0].gas_units == 130_000
    model.observe_receipt(two_hop_shape(m), 175_000)
    assert s.on_block(BLOCK, set(), 30 * GWEI)[0].gas_units == 175_000


def test_every_cycle_has_the_shape_of_its_pools() -> None:
    m = market()
    m.add_pool(Pool("sushi", "0xtw3", TKN, WETH, 11 * 10**23, 10**21))
    m.add_pool(Pool("uni", "0xtu", TKN, USDC, 10**24, 3 * 10**12))
    s = ArbitrageSearch(m, SearchConfig(base_tokens=(WETH, USDC), max_hops=3))
    table = s.table
    for cycle in range(len(table)):
        expected = route_shape(table.route(cycle), m.pools)
        assert s.shapes[int(s._shape_of[cycle])] == expected


# --- durability: the ledger's receipts are the model's memory -----------------------------
def _trade(n: int, route: list[tuple[str, str, str]], gas_used: int, **fields: Any) -> TradeRecord:
    values: dict[str, Any] = {
        "id": f"t-{n}",
        "opportunity_id": f"o-{n}",
        "venue": "sim",
        "route": [{"pool": p, "token_in": a, "token_out": b} for p, a, b in route],
        "token": WETH,
        "token_symbol": "WETH",
        "amount_in": 10**18,
        "amount_out": 10**18 + 10**16,
        "status": "success",
        "revert_reason": "",
        "gas_used": gas_used,
        "gas_price": 20 * GWEI,
        "gas_cost_wei": gas_used * 20 * GWEI,
        "flash_fee": 0,
        "profit_token": 10**16,
        "profit_native": 10**16 - gas_used * 20 * GWEI,
        "profit_quote": 1_000_000,
        "expected_profit": 10**16,
        "block_number": 100 + n,
        "tx_hash": f"0x{n:064x}",
        "detected_at": 1_700_000_000.0 + n,
        "submitted_at": 1_700_000_000.0 + n,
        "mined_at": 1_700_000_000.0 + n,
    }
    values.update(fields)
    return TradeRecord(**values)


async def test_a_restarted_engine_relearns_gas_from_the_ledgers_receipts(tmp_path: Path) -> None:
    m = market()
    route = [("0xtw1", WETH, TKN), ("0xtw2", TKN, WETH)]
    store = SqliteLedger(tmp_path / "ledger.sqlite3")
    await store.open()
    try:
        trades = [_trade(n, route, 170_000 + n) for n in range(5)]
        trades += [
            _trade(10, route, 50_000, status="reverted"),  # a revert: not the route's cost
            _trade(11, route, 999_000, venue="evm"),  # another venue's pools
            _trade(12, [("0xgone", WETH, TKN), ("0xtw2", TKN, WETH)], 999_000),  # unknown pool
        ]
        await store.record_trades(trades)
        model = GasModel(PRIOR)
        assert await restore(model, store, "sim", m.pools) == 5
    finally:
        await store.close()
    (row,) = model.table()
    assert (row.shape, row.receipts, row.source) == (two_hop_shape(m), 5, "receipts")
    assert model.estimate(two_hop_shape(m)) == 170_002
    assert row.last_used == 170_004  # oldest first: the newest is the last observed


def test_the_prior_adds_what_the_active_lenders_path_costs_over_the_first_pairs_flash_swap() -> (
    None
):
    from engine.strategy.gas_model import LENDER_GAS_OVERHEAD

    active = ["first-hop"]
    model = GasModel(PRIOR, active_lender=lambda: active[0])
    shape = two_hop_shape(market())
    assert model.estimate(shape) == PRIOR[2]
    active[0] = "aave-v3"
    assert model.estimate(shape) == PRIOR[2] + LENDER_GAS_OVERHEAD["aave-v3"]
    assert model.prior_for(3, "balancer-v2") == PRIOR[3] + LENDER_GAS_OVERHEAD["balancer-v2"]
    assert model.prior_for(2, "a lender nobody measured") == PRIOR[2]
    # the measured order: inventory < balancer < uniswap-v3 flash < aave
    order = ["first-hop", "inventory", "balancer-v2", "uniswap-v3", "aave-v3"]
    assert sorted(order, key=LENDER_GAS_OVERHEAD.__getitem__) == order


def test_receipts_are_kept_per_lender_so_a_failover_charges_the_new_lenders_figures() -> None:
    active = ["balancer-v2"]
    model = GasModel(PRIOR, active_lender=lambda: active[0])
    shape = two_hop_shape(market())
    for _ in range(3):
        model.observe_receipt(shape, 250_000)
    assert model.estimate(shape) == 250_000 and model.source(shape) == "receipts"
    active[0] = "aave-v3"  # the Vault was drained: the failover moved to Aave
    assert model.source(shape) == "prior"
    assert model.estimate(shape) == model.prior_for(2, "aave-v3")
    model.observe_receipt(shape, 340_000)
    assert model.estimate(shape) == 340_000
    assert model.estimate(shape, "balancer-v2") == 250_000
    assert {(row.lender, row.estimate) for row in model.table()} == {
        ("balancer-v2", 250_000),
        ("aave-v3", 340_000),
    }
