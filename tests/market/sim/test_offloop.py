"""The event loop never waits behind the search or the simulated chain's block.

A real pipeline over the real simulated venue, with a search that blocks until the test
lets it go: the control plane must still be answered meanwhile, because the search runs
on the market's worker thread, not on the loop. The release is a threading.Event with
a generous guard timeout only so that the old, on-loop code fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from pathlib import Path

from engine.bus import EventBus
from engine.execution.gate import SendGate
from engine.execution.paper import PaperExecutor
from engine.ledger.sqlite import SqliteLedger
from engine.ledger.writer import LedgerWriter
from engine.lifecycle import Actor, Lifecycle
from engine.market.model import Block
from engine.market.sim import SimVenue
from engine.market.sim.chain import Mined, Pending, SimChain
from engine.pipeline import TradingPipeline
from engine.strategy.opportunity import Opportunity
from engine.strategy.search import ArbitrageSearch
from tests.market.sim.drive import comparable, search_for, sim_section

GUARD_S = 10.0  # only reached by code that searches on the loop


class HeldSearch(ArbitrageSearch):
    """Searches block `held` (1) only once released; records the threads it ran on."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.held = 1
        self.threads: set[int] = set()
        self.holding = threading.Event()
        self.release = threading.Event()
        self.released_in_time: bool | None = None

    def on_block(
        self, block: Block, changed_pools: Iterable[str], gas_price: int
    ) -> list[Opportunity]:
        self.threads.add(threading.get_ident())
        if block.number == self.held:
            self.holding.set()
            self.released_in_time = self.release.wait(GUARD_S)
        return super().on_block(block, changed_pools, gas_price)


def build_pipeline(tmp_path: Path, search_type: type[ArbitrageSearch]) -> TradingPipeline:
    venue = SimVenue(sim_section(seed=3))
    bus = EventBus()
    lifecycle = Lifecycle(tmp_path, bus)
    lifecycle.started()
    executor = PaperExecutor(SendGate(lifecycle, venue), venue, session="test")
    plain = search_for(venue.market)
    search = search_type(venue.market, plain._config)
    ledger = LedgerWriter(SqliteLedger(tmp_path / "ledger.sqlite3"))
    return TradingPipeline(venue, search, executor, lifecycle, bus, ledger)


async def test_status_is_answered_while_a_slow_search_runs_on_another_thread(
    tmp_path: Path,
) -> None:
    pipeline = build_pipeline(tmp_path, HeldSearch)
    search = pipeline._search
    assert isinstance(search, HeldSearch)
    await pipeline.venue.start()
    running = asyncio.create_task(pipeline.run())
    try:
        while not search.holding.is_set():
            await asyncio.sleep(0.001)
        # The search of block 1 is in progress right now; the loop answers anyway.
        status = pipeline.market_status()
        search.release.set()
        while pipeline.blocks_seen < 3:
            await asyncio.sleep(0.001)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await pipeline.venue.stop()
    assert status["block"] == 0  # the last block searched: block 1 is still being searched
    assert search.released_in_time is True
    assert threading.get_ident() not in search.threads


async def test_the_simulated_chain_mines_off_the_loop_thread(tmp_path: Path) -> None:
    threads: set[int] = set()
    original = SimChain.mine

    def recording(chain: SimChain, now: float, *pending: list[Pending]) -> Mined:
        threads.add(threading.get_ident())
        return original(chain, now, *pending)

    pipeline = build_pipeline(tmp_path, ArbitrageSearch)
    pipeline.venue._state.mine = recording.__get__(pipeline.venue._state)  # type: ignore[attr-defined]
    await pipeline.venue.start()
    running = asyncio.create_task(pipeline.run())
    try:
        while pipeline.blocks_seen < 5:
            await asyncio.sleep(0.001)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await pipeline.venue.stop()
    assert threads
    assert threading.get_ident() not in threads


async def test_same_seed_same_trades_through_the_pipeline(tmp_path: Path) -> None:
    async def trades(run: int) -> list[dict[str, object]]:
        pipeline = build_pipeline(tmp_path / str(run), ArbitrageSearch)
        writer = pipeline._ledger
        await writer.store.open()
        tasks = [asyncio.create_task(pipeline.run()), asyncio.create_task(writer.run())]
        await pipeline.venue.start()
        try:
            while pipeline.blocks_seen < 120:
                await asyncio.sleep(0.001)
            await pipeline.drain(timeout=10.0)
            assert await writer.flush()
            booked = await writer.store.list_trades(limit=10_000)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await pipeline.venue.stop()
            await writer.store.close()
        ordered = sorted(booked, key=lambda t: t.id)
        return [comparable(t) for t in ordered if t.block_number <= 110]

    (tmp_path / "1").mkdir()
    (tmp_path / "2").mkdir()
    first, second = await trades(1), await trades(2)
    assert len(first) > 5
    assert first == second


FIRST_SEND = 3  # seed 3's first block whose search sends an order


async def first_held_block(tmp_path: Path, halt: bool) -> int:
    """Orders the chain received once block FIRST_SEND's search, held on the worker, is
    released and handed over; with `halt`, the engine halts while it is held."""
    pipeline = build_pipeline(tmp_path, HeldSearch)
    search = pipeline._search
    assert isinstance(search, HeldSearch)
    search.held = FIRST_SEND
    await pipeline.venue.start()
    running = asyncio.create_task(pipeline.run())
    try:
        while not search.holding.is_set():
            await asyncio.sleep(0.001)
        if halt:  # the kill's first step, on the loop while the block is on the worker
            assert pipeline._lifecycle.enter_halt("test", Actor(uid=0, client="test"))
        search.release.set()
        while pipeline.blocks_seen < FIRST_SEND + 1:  # blocks 0 .. FIRST_SEND handed over
            await asyncio.sleep(0)
        await asyncio.sleep(0)  # the sends it spawned take their first step
        sent = pipeline.venue._state.nonce
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await pipeline.venue.stop()
    return sent


async def test_a_kill_during_a_long_block_closes_the_gate_before_the_blocks_hand_over(
    tmp_path: Path,
) -> None:
    (tmp_path / "open").mkdir()
    (tmp_path / "halted").mkdir()
    assert await first_held_block(tmp_path / "open", halt=False) > 0  # nobody halts: sent
    assert await first_held_block(tmp_path / "halted", halt=True) == 0
