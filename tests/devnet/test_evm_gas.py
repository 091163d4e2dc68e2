"""Gas learnt on the real contracts, and the priority-fee bid as the chain sees it.

The engine's parts (venue, search, executor, pipeline, SQLite ledger) run in-process
against the session's anvil with the real Uniswap V2 pairs and the project's executor,
inside `clean_chain`. What the chain charged is read back with the devnet's own JSON-RPC
helpers (receipts, transactions, blocks), never through the code under test.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from engine import protocol
from engine.approval import build_chain
from engine.bus import EventBus
from engine.config import Config
from engine.daemon import build_executor, build_gas_model, build_search, build_venue
from engine.devnet import anvil
from engine.devnet.world import World
from engine.execution.evm import EvmExecutor
from engine.execution.gate import SendGate
from engine.guards.approver import Guards
from engine.ledger.sqlite import SqliteLedger
from engine.ledger.writer import LedgerWriter
from engine.lifecycle import Lifecycle
from engine.market.evm.venue import NATIVE_ASSET, EvmVenue
from engine.pipeline import TradingPipeline
from engine.strategy.gas_model import GasModel, RouteShape, route_shape
from engine.strategy.opportunity import Hop
from tests.devnet.test_evm_trading import Rig as TradingRig
from tests.devnet.test_evm_trading import (
    booked,
    chain_balances,
    change,
    first_opportunities,
    head,
    swap,
    until,
    v2_config,
)

pytestmark = pytest.mark.devnet

# Noise trades that knock pools out of line, each on its own pair and dex: after each,
# the engine trades what it finds (2-pool cycles and triangles alike).
SWAPS = (
    ("uniswap", "DAI", "WETH", 30_000 * 10**18),
    ("sushiswap", "USDC", "DAI", 20_000 * 10**6),
    ("uniswap", "WETH", "USDC", 10 * 10**18),
    ("sushiswap", "DAI", "WETH", 15_000 * 10**18),
    ("uniswap", "USDC", "WBTC", 40_000 * 10**6),
    ("sushiswap", "WETH", "LINK", 5 * 10**18),
    ("uniswap", "LINK", "WETH", 2_000 * 10**18),
    ("sushiswap", "WBTC", "USDC", 30_000_000),
    ("uniswap", "DAI", "USDC", 25_000 * 10**18),
    ("sushiswap", "USDC", "WETH", 30_000 * 10**6),
    ("uniswap", "WETH", "DAI", 8 * 10**18),
    ("sushiswap", "LINK", "WETH", 1_500 * 10**18),
)


def receipt(world: World, tx_hash: str) -> dict[str, Any]:
    found = anvil.rpc(world.rpc_url, "eth_getTransactionReceipt", [tx_hash])
    assert isinstance(found, dict)
    return found


def transaction(world: World, tx_hash: str) -> dict[str, Any]:
    found = anvil.rpc(world.rpc_url, "eth_getTransactionByHash", [tx_hash])
    assert isinstance(found, dict)
    return found


def base_fee_of(world: World, block: int) -> int:
    found = anvil.rpc(world.rpc_url, "eth_getBlockByNumber", [hex(block), False])
    return int(found["baseFeePerGas"], 16)


async def make_rig(config: Config, state: Path, gas: GasModel) -> TradingRig:
    venue = build_venue(config)
    assert isinstance(venue, EvmVenue)
    await venue.start()
    lifecycle = Lifecycle(state, EventBus())
    lifecycle.started()
    gate = SendGate(lifecycle, venue)
    executor = build_executor(config, gate, venue, gas)
    assert isinstance(executor, EvmExecutor)
    search = build_search(config, venue, gas)
    return TradingRig(config, venue, search, executor, gate, lifecycle)


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[SqliteLedger]:
    store = SqliteLedger(tmp_path / "ledger.sqlite3")
    await store.open()
    yield store
    await store.close()


class Running:
    """The pipeline and the SQLite ledger around a rig, as tasks, with a bus that keeps
    every opportunity (what the search charged each one)."""

    def __init__(self, world: World, rig: TradingRig, ledger: SqliteLedger) -> None:
        self.world, self.rig = world, rig
        self.bus = EventBus(ring_size=100_000)
        self.writer = LedgerWriter(ledger)
        self.pipeline = TradingPipeline(
            rig.venue, rig.search, rig.executor, rig.lifecycle, self.bus, self.writer
        )
        self.tasks = [
            asyncio.create_task(self.pipeline.run()),
            asyncio.create_task(self.writer.run()),
        ]

    async def settled(self, after: int) -> None:
        def quiet() -> bool:
            seen = self.pipeline.last_update
            return (
                seen is not None
                and seen.block.number >= max(after, head(self.world))
                and self.pipeline.market_status()["in_flight"] == 0
                and self.rig.venue.status()["pending"] == 0
            )

        await until(quiet, "the engine to settle", timeout=60)

    async def stop(self) -> None:
        await self.pipeline.drain(10.0)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.rig.venue.stop()

    def charged(self) -> dict[str, int]:
        events = self.bus.recent([protocol.TOPIC_OPPORTUNITY], 0, 100_000)
        return {e.data["id"]: e.data["gas_units"] for e in events}


def mean_error(pairs: list[tuple[int, int]]) -> float:
    return sum(abs(estimate - used) / used for estimate, used in pairs) / len(pairs)


def bias(pairs: list[tuple[int, int]]) -> float:
    """Mean signed error: negative when the estimate charges less gas than was used."""
    return sum((estimate - used) / used for estimate, used in pairs) / len(pairs)


async def test_the_gas_model_converges_to_the_gas_the_contracts_use(
    world: World, clean_chain: None, tmp_path: Path, ledger: SqliteLedger
) -> None:
    config = v2_config(world)
    gas = build_gas_model(config)
    running = Running(world, await make_rig(config, tmp_path, gas), ledger)
    try:
        await running.settled(0)  # the devnet's built-in dislocations go first
        for _ in range(2):
            for dex, sell, buy, amount in SWAPS:
                await running.settled(swap(world, dex, sell, buy, amount))
    finally:
        await running.stop()
    assert await running.writer.flush()
    trades = [t for t in await ledger.list_trades(limit=10_000) if t.status == "success"]
    charged = running.charged()
    # per shape, oldest first: (gas the search charged, gas the chain says it used)
    seen: dict[RouteShape, list[tuple[int, int]]] = defaultdict(list)
    for trade in sorted(trades, key=lambda t: (t.block_number, t.nonce or 0)):
        route = [Hop(h["pool"], h["token_in"], h["token_out"]) for h in trade.route]
        shape = route_shape(route, running.rig.venue.market.pools)
        assert shape is not None
        used = int(receipt(world, trade.tx_hash)["gasUsed"], 16)
        assert used == trade.gas_used
        seen[shape].append((charged[trade.opportunity_id], used))

    learnt: dict[int, list[tuple[int, int]]] = defaultdict(list)  # after 4 receipts a shape
    prior: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for shape, pairs in seen.items():
        learnt[shape.hops] += pairs[4:]
        prior[shape.hops] += [(gas.prior_for(shape.hops), used) for _, used in pairs[4:]]
    assert learnt[2] and learnt[3], f"both route lengths should trade: {dict(seen)}"
    for hops in (2, 3):
        # measured: ~3 % (2-hop) and ~6-7 % (3-hop); the static prior 20 % and 10 %, and
        # always short (it charges less gas than the trades use)
        assert mean_error(learnt[hops]) < 0.08, (hops, learnt[hops])
        assert mean_error(prior[hops]) > mean_error(learnt[hops])
        assert abs(bias(learnt[hops])) < -bias(prior[hops])
    for row in gas.table():
        used = sorted(u for _, u in seen[row.shape])
        if len(used) >= 8:  # the estimate is within what the chain charged for the shape
            # (not within a few % of this test's own median: the model's ring also holds the
            # start-up trades' receipts, and one-off first-trade storage writes make the
            # distribution two-humped, so a median can sit on either hump)
            assert used[0] <= row.estimate <= used[-1], (row, used)
            assert row.source == "receipts"


async def test_the_bid_is_the_transactions_priority_fee_and_the_ledger_books_its_real_gas(
    world: World, clean_chain: None, tmp_path: Path, ledger: SqliteLedger
) -> None:
    config = v2_config(world)
    config.strategy = dataclasses.replace(config.strategy, priority_fee_share_bps=5_000)
    config.guards = dataclasses.replace(
        config.guards, max_gas_price_gwei=10_000.0, disabled=["max_head_age"]
    )
    gas = build_gas_model(config)
    rig = await make_rig(config, tmp_path, gas)
    try:
        writer = LedgerWriter(ledger)
        guards = Guards.from_config(config, EventBus(), writer, rig.venue, gas)
        chain = build_chain(guards, None, guards.triggers, sizer=guards, bidder=guards)
        found = (await first_opportunities(rig))[0]
        verdict = chain.decide(found)
        assert verdict.refusal is None, verdict.refusal
        bid = verdict.opportunity
        fees = rig.venue.fee_bid()
        start = chain_balances(world, world.operator)
        trade = await rig.executor.execute(bid)
    finally:
        await rig.venue.stop()

    # the engine's bid: half the expected profit (WETH-priced gas at the base fee) per gas
    assert bid.priority_fee > fees.priority_fee  # more than the venue's own tip
    sent = transaction(world, trade.tx_hash)
    mined = receipt(world, trade.tx_hash)
    assert int(sent["maxPriorityFeePerGas"], 16) == bid.priority_fee
    assert int(sent["maxFeePerGas"], 16) == 2 * fees.base_fee + bid.priority_fee
    base = base_fee_of(world, trade.block_number)
    effective = int(mined["effectiveGasPrice"], 16)
    assert effective == base + bid.priority_fee
    assert trade.status == "success"
    assert trade.gas_price == effective
    assert trade.gas_cost_wei == int(mined["gasUsed"], 16) * effective
    assert change(start, chain_balances(world, world.operator)) == booked([trade])
    assert change(start, chain_balances(world, world.operator))[NATIVE_ASSET] < 0
