"""Staged markets on the real simulated venue, traded by the real pipeline.

A staged market is the seed's world made flat: every pool at its tokens' reference
prices with the same depth, so no cycle pays; then a test dislocates the pools it names.
Noise swaps, rival searchers, gas spikes and provider faults are off in the config, and
the background arbitrageurs (which the config cannot switch off) are replaced by
`NoSweeps`, a documented test double that sweeps nothing: what moves the pools is the
staging and the engine's own trades, so what the engine leaves on the table is its own.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.bus import EventBus
from engine.config import SimSection, StrategySection
from engine.execution.gate import SendGate
from engine.execution.paper import PaperExecutor
from engine.ledger.records import TradeRecord
from engine.ledger.sqlite import SqliteLedger
from engine.ledger.writer import LedgerWriter
from engine.lifecycle import Lifecycle
from engine.market.model import Market, Pool
from engine.market.sim import SimVenue
from engine.market.sim.world import USD
from engine.market.venue import ArbOrder, Receipt
from engine.pipeline import TradingPipeline
from engine.strategy.search import ArbitrageSearch
from tests.market.sim.drive import search_for, sim_section

DEPTH_USD = 1_000_000  # per side of every staged pool
WAIT_S = 30.0


class NoSweeps:
    """Test double for the simulated background arbitrageurs: they never trade."""

    sweeps = 0

    def sweep(self, market: Market, reserved: set[str]) -> frozenset[str]:
        return frozenset()

    def note_changed(self, pools: object) -> None:
        return None


def staged_sim(**overrides: Any) -> SimSection:
    quiet: dict[str, Any] = {
        "noise_swaps_per_block": 0,
        "competitor_probability": 0.0,  # rivals off (their bidding is another branch's)
        "gas_spike_probability": 0.0,
        "providers": 1,
        "provider_latency_ms": [0.0],
        "provider_error_rate": [0.0],
        "provider_stall_probability": [0.0],
        "tokens": 2,
    }
    quiet.update(overrides)
    return sim_section(**quiet)


def flatten(market: Market, prices: dict[str, int], depth_usd: int = DEPTH_USD) -> None:
    """Every pool at its tokens' reference prices, `depth_usd` a side."""
    for pool in market.pools.values():
        pool.reserve0 = _amount(market, prices, pool.token0, depth_usd)
        pool.reserve1 = _amount(market, prices, pool.token1, depth_usd)


def _amount(market: Market, prices: dict[str, int], token: str, depth_usd: int) -> int:
    return depth_usd * USD * 10 ** market.tokens[token].decimals // prices[token]


def pool_of(market: Market, dex: str, a: str, b: str) -> Pool:
    """The `dex` pool of the pair with symbols `a` and `b`."""
    symbols = {a, b}
    for pool in market.pools.values():
        pair = {market.tokens[pool.token0].symbol, market.tokens[pool.token1].symbol}
        if pool.dex == dex and pair == symbols:
            return pool
    raise LookupError(f"no {dex} pool for {a}/{b}")


def dislocate(market: Market, pool: Pool, token: str, bps: int) -> None:
    """Move the pool's price of `token` (a symbol) by `bps`, its other side unchanged."""
    address = next(t for t, spec in market.tokens.items() if spec.symbol == token)
    if pool.token0 == address:  # price of token0 = reserve1 / reserve0
        pool.reserve0 = pool.reserve0 * 10_000 // (10_000 + bps)
    else:
        pool.reserve1 = pool.reserve1 * 10_000 // (10_000 + bps)


@dataclass
class Staged:
    """A pipeline over a staged sim venue, with what it sent and booked."""

    venue: SimVenue
    pipeline: TradingPipeline
    writer: LedgerWriter
    store: SqliteLedger
    sent: list[ArbOrder] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    start_balances: dict[str, int] = field(default_factory=dict)

    async def trades(self) -> list[TradeRecord]:
        assert await self.writer.flush()
        return sorted(await self.store.list_trades(limit=10_000), key=lambda t: t.id)

    async def run_until(self, done: Callable[[], bool], what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while not done():
            assert loop.time() < deadline, f"timed out waiting for {what}"
            await asyncio.sleep(0.001)

    async def stop(self) -> None:
        await self.pipeline.drain(10.0)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.venue.stop()
        await self.store.close()


def make_staged(
    tmp_path: Path,
    stage: Callable[[Market, dict[str, int]], None],
    strategy: StrategySection | None = None,
    plan_candidates: int | None = None,
    **sim: Any,
) -> Staged:
    venue = SimVenue(staged_sim(**sim))
    venue._state.background = NoSweeps()  # type: ignore[assignment]
    market = venue.market
    flatten(market, venue._state.world.prices)
    stage(market, venue._state.world.prices)
    bus = EventBus()
    lifecycle = Lifecycle(tmp_path, bus)
    lifecycle.started()
    executor = PaperExecutor(SendGate(lifecycle, venue), venue, session="staged")
    store = SqliteLedger(tmp_path / "ledger.sqlite3")
    writer = LedgerWriter(store)
    search = search_for(market, strategy)
    if plan_candidates is not None:
        config = dataclasses.replace(search.config, plan_candidates=plan_candidates)
        search = ArbitrageSearch(market, config)
    pipeline = TradingPipeline(venue, search, executor, lifecycle, bus, writer)
    staged = Staged(venue, pipeline, writer, store, start_balances=venue.wallet_balances())
    original = venue.broadcast

    def recording(payload: Any) -> Any:
        staged.sent.append(payload)
        return original(payload)

    venue.broadcast = recording  # type: ignore[method-assign]
    return staged


async def start(staged: Staged) -> None:
    await staged.store.open()
    await staged.venue.start()
    staged.tasks = [
        asyncio.create_task(staged.pipeline.run()),
        asyncio.create_task(staged.writer.run()),
    ]


def hold_receipts_until_searched(staged: Staged) -> None:
    """Receipts reach the executor only after the pipeline searched their block: the
    order in which a chain venue often delivers them (the block's logs before our
    receipt). The real venue's resolution, delayed; nothing else changes."""
    venue = staged.venue
    original = venue._resolve

    def later(receipt: Receipt) -> None:
        async def wait() -> None:
            while _seen(staged) < receipt.block_number:
                await asyncio.sleep(0.0005)
            original(receipt)

        if receipt.block_number:
            staged.tasks.append(asyncio.create_task(wait()))
        else:
            original(receipt)

    venue._resolve = later  # type: ignore[method-assign]


def _seen(staged: Staged) -> int:
    update = staged.pipeline.last_update
    return update.block.number if update else -1


def replace_strategy(**changes: Any) -> StrategySection:
    return dataclasses.replace(StrategySection(), **changes)
