"""The pipeline publishes a trade only once the ledger has committed it.

In process and fast: the real pipeline on the simulated venue, the real writer and a real
ledger (SQLite and PostgreSQL). The bus checks, at the moment each `trade` event is
published, that the store has already returned from committing that trade. The engine
tests (`tests/accounting/test_durability.py`) prove the same with SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from engine import protocol
from engine.bus import Event, EventBus
from engine.ledger.records import TradeRecord
from engine.ledger.store import LedgerStore
from engine.ledger.writer import LedgerWriter
from engine.pipeline import TradingPipeline
from tests.ledger.conftest import StoreMaker
from tests.market.sim.drive import make_rig, sim_section

TRADES = 30


class CommitRecorder:
    """The real store, noting each trade id once its commit has returned."""

    def __init__(self, store: LedgerStore) -> None:
        self.store = store
        self.committed: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def record_trades(self, trades: list[TradeRecord]) -> None:
        await self.store.record_trades(trades)
        self.committed.update(t.id for t in trades)


class CheckingBus(EventBus):
    """Notes every trade event published before its row was committed."""

    def __init__(self, ledger: CommitRecorder) -> None:
        super().__init__()
        self._ledger = ledger
        self.published: list[str] = []
        self.uncommitted: list[str] = []

    def publish(self, topic: str, data: Any) -> Event:
        if topic == protocol.TOPIC_TRADE:
            self.published.append(data["id"])
            if data["id"] not in self._ledger.committed:
                self.uncommitted.append(data["id"])
        return super().publish(topic, data)


async def test_no_trade_event_is_published_before_its_row_is_committed(
    make_store: StoreMaker, tmp_path
) -> None:
    ledger = CommitRecorder(await make_store())
    bus = CheckingBus(ledger)
    rig = make_rig(sim_section(seed=13, competitor_probability=0.3), tmp_path)
    writer = LedgerWriter(ledger)  # type: ignore[arg-type]
    pipeline = TradingPipeline(rig.venue, rig.search, rig.executor, rig.lifecycle, bus, writer)
    await rig.venue.start()
    tasks = [asyncio.create_task(pipeline.run()), asyncio.create_task(writer.run())]
    try:
        for _ in range(3000):
            if len(bus.published) >= TRADES:
                break
            await asyncio.sleep(0.01)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await rig.venue.stop()
    assert len(bus.published) >= TRADES
    assert bus.uncommitted == []
