"""The capture suite on the devnet (issue 13, "Tests and figures"): real contracts.

Each scenario starts from the devnet with its built-in dislocations already traded away
(once per module), makes its dislocations with router swaps by the deployer (the engine
is not running yet), reads every pair's reserves straight from the chain, and then starts
an engine (venue, search, the daemon's approval chain with its default guards, executor,
pipeline, SQLite ledger) that trades until nothing is left. An independent greedy oracle
(tests/support/oracle.py) computes what a greedy searcher takes from the same reserves
under the same limits. The engine must realise ≥ 98 % of it, lose on no trade, and its
ledger must match the chain to the wei. Each run prints a `CAPTURE` row (see
docs/benchmarks.md for the table).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pytest

from engine.approval import build_chain
from engine.bus import EventBus
from engine.config import Config
from engine.devnet import anvil
from engine.devnet.market_spec import WETH, token_spec
from engine.devnet.world import World
from engine.guards.approver import Guards
from engine.ledger.sqlite import SqliteLedger
from engine.ledger.writer import LedgerWriter
from engine.market.evm.abi import calldata
from engine.pipeline import TradingPipeline
from engine.units import to_base_units
from tests.devnet.test_evm_trading import (
    Engine,
    Rig,
    booked,
    chain_balances,
    change,
    make_rig,
    swap,
    v2_config,
)
from tests.support.capture import Capture, Limits, gas_model, greedy_oracle, realised, trade_net
from tests.support.oracle import OPool, mid_prices

pytestmark = [pytest.mark.devnet, pytest.mark.slow]

CAPTURE_MIN = 0.98


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    swaps: tuple[tuple[str, str, str, float], ...]  # (dex, sell, buy, whole tokens sold)
    base_fee_gwei: int = 0  # set for the staging block (the next ones follow EIP-1559)


def units(symbol: str, amount: float) -> int:
    return int(amount * 10 ** token_spec(symbol).decimals)


SCENARIOS = (
    Scenario("2-pool small (WETH/USDC, 15 WETH sold)", (("uniswap", "WETH", "USDC", 15),)),
    Scenario("2-pool medium (WETH/USDC, 40 WETH sold)", (("uniswap", "WETH", "USDC", 40),)),
    Scenario(
        "2-pool beyond the price-impact limit (WETH/USDC, 150 WETH sold)",
        (("uniswap", "WETH", "USDC", 150),),
    ),
    Scenario(
        "3-hop only (USDC/DAI moved alike on both dexes)",
        (("uniswap", "DAI", "USDC", 60_000), ("sushiswap", "DAI", "USDC", 30_000)),
    ),
    Scenario(
        "below gas cost (WETH/USDC, 2.1 WETH sold, base fee 60 gwei)",
        (("uniswap", "WETH", "USDC", 2.1),),
        base_fee_gwei=60,
    ),
    Scenario(
        "two simultaneous (WETH/USDC and WBTC/WETH)",
        (("uniswap", "WETH", "USDC", 30), ("sushiswap", "WBTC", "WETH", 1.5)),
    ),
    Scenario("non-base token (LINK/WETH, 4,000 LINK sold)", (("uniswap", "LINK", "WETH", 4_000),)),
    Scenario(
        "best start is USDC (sushiswap WETH/USDC, 90,000 USDC sold)",
        (("sushiswap", "USDC", "WETH", 90_000),),
    ),
)


# --- the chain, read without the code under test ---------------------------------------------
def chain_pools(world: World) -> list[OPool]:
    data = calldata("getReserves()", ())
    calls = [("eth_call", [{"to": p.address, "data": data}, "latest"]) for p in world.pairs]
    results = anvil.rpc_batch(world.rpc_url, calls)
    fee = {d.name: d.fee_bps for d in world.dexes}
    return [
        OPool(p.address, p.token0, p.token1, int(r[2:66], 16), int(r[66:130], 16), fee[p.dex])
        for p, r in zip(world.pairs, results, strict=True)
    ]


def reference_prices(world: World) -> dict[str, Fraction]:
    """USDC base units per base unit of each token, at the devnet's reference prices."""
    usdc = token_spec("USDC")
    return {
        t.address: Fraction(token_spec(t.symbol).usd_price * 10**usdc.decimals, 10**t.decimals)
        for t in world.tokens
    }


# --- an engine as the daemon builds it ------------------------------------------------------
async def start_guarded(rig: Rig, path: Path) -> Engine:
    store = SqliteLedger(path / "ledger.sqlite3")
    await store.open()
    writer = LedgerWriter(store)
    bus = EventBus()
    guards = Guards.from_config(rig.config, bus, writer, rig.venue)
    pipeline = TradingPipeline(
        rig.venue,
        rig.search,
        rig.executor,
        rig.lifecycle,
        bus,
        writer,
        approver=build_chain(guards, None, guards.triggers, sizer=guards),
    )
    guards.attach(pipeline)
    tasks = [asyncio.create_task(pipeline.run()), asyncio.create_task(writer.run())]
    return Engine(pipeline, store, writer, tasks)


async def stop(engine: Engine, rig: Rig) -> None:
    await engine.pipeline.drain(10.0)
    for task in engine.tasks:
        task.cancel()
    await asyncio.gather(*engine.tasks, return_exceptions=True)
    await engine.store.close()
    await rig.venue.stop()


async def quiet(engine: Engine, world: World, rig: Rig) -> None:
    """Settled twice, a moment apart: a follow-up makes its own block under automine."""
    for _ in range(2):
        await engine.settled(world, rig.venue)
        await asyncio.sleep(0.3)
    await engine.settled(world, rig.venue)


def guard_limits(config: Config) -> Limits:
    guards, quote = config.guards, token_spec("USDC")
    return Limits(
        min_net_quote=to_base_units(guards.min_net_profit_quote, quote.decimals),
        max_notional_quote=to_base_units(guards.max_notional_quote, quote.decimals),
        max_price_impact_bps=guards.max_price_impact_bps,
    )


@pytest.fixture(scope="module")
def settled_devnet(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The built-in dislocations traded away once; the chain restored after the module."""
    anvil.rpc(world.rpc_url, "anvil_dropAllTransactions")
    anvil.set_automine(world.rpc_url, True)
    pristine = anvil.snapshot(world.rpc_url)

    async def settle() -> None:
        path = tmp_path_factory.mktemp("settle")
        rig = await make_rig(v2_config(world), path)
        engine = await start_guarded(rig, path)
        try:
            await quiet(engine, world, rig)
        finally:
            await stop(engine, rig)

    asyncio.run(settle())
    yield
    anvil.revert(world.rpc_url, pristine)


@pytest.fixture
def scenario_chain(world: World, settled_devnet: None) -> Iterator[None]:
    """The settled chain as it was, base fee included (a revert keeps a raised one)."""
    latest = anvil.rpc(world.rpc_url, "eth_getBlockByNumber", ["latest", False])
    snapshot = anvil.snapshot(world.rpc_url)
    yield
    anvil.revert(world.rpc_url, snapshot)
    anvil.rpc(world.rpc_url, "anvil_dropAllTransactions")
    anvil.rpc(world.rpc_url, "anvil_setNextBlockBaseFeePerGas", [latest["baseFeePerGas"]])


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name.split(" (")[0])
async def test_the_engine_captures_what_a_greedy_oracle_takes(
    world: World, scenario_chain: None, tmp_path: Path, scenario: Scenario
) -> None:
    if scenario.base_fee_gwei:
        fee = hex(scenario.base_fee_gwei * 10**9)
        anvil.rpc(world.rpc_url, "anvil_setNextBlockBaseFeePerGas", [fee])
    for dex, sell, buy, amount in scenario.swaps:
        swap(world, dex, sell, buy, units(sell, amount))
    pools = chain_pools(world)
    start = chain_balances(world, world.operator)
    config = v2_config(world)
    rig = await make_rig(config, tmp_path)
    engine = await start_guarded(rig, tmp_path)
    try:
        await quiet(engine, world, rig)
        trades = await engine.trades()
    finally:
        await stop(engine, rig)

    price = reference_prices(world)
    weth = world.token(WETH.symbol).address
    bases = [world.token(s).address for s in config.strategy.base_tokens]
    gas = gas_model(trades, rig.venue.gas_price())
    usdc = world.token("USDC").address
    oracle = greedy_oracle(pools, bases, price, gas, guard_limits(config), weth, usdc)
    if scenario.base_fee_gwei:  # below gas cost: a cycle grosses something, none nets
        seen = mid_prices(oracle.pools, weth, usdc)
        assert max(oracle.best(route, seen).gross for route in oracle.routes()) > 0
    best = oracle.run()
    engine_net = realised(trades, price, weth)
    capture = Capture(scenario.name, best, engine_net, len(trades), len(oracle.takes))
    print(capture.row(token_spec("USDC").decimals))

    assert change(start, chain_balances(world, world.operator)) == booked(trades)
    losing = [
        (t.opportunity_id, t.status, t.revert_reason, t.gas_used, t.expected_profit)
        for t in trades
        if trade_net(t, price, weth) <= 0
    ]
    assert not losing
    assert capture.ratio >= CAPTURE_MIN, capture
