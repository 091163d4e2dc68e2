"""A small driver for sim tests: venue.blocks() → search.on_block → paper executor.

It plays the daemon's role with real objects (lifecycle, gate, search, executor) and
sends concurrently like the pipeline does: opportunities of one block that share no
pool are all submitted in the same loop step, then their receipts are awaited.
"""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from engine.bus import EventBus
from engine.config import SimSection, StrategySection
from engine.execution.gate import SendGate
from engine.execution.paper import PaperExecutor
from engine.ledger.records import TradeRecord
from engine.lifecycle import Lifecycle
from engine.market.model import Market
from engine.market.sim import SimVenue
from engine.market.venue import BlockUpdate
from engine.strategy.opportunity import Opportunity
from engine.strategy.search import ArbitrageSearch, SearchConfig

TIME_FIELDS = ("detected_at", "submitted_at", "mined_at")
Mode = Literal["gather", "spawn", "sequential"]


def sim_section(**overrides: Any) -> SimSection:
    """Fast blocks for tests; everything else at the shipped defaults unless overridden."""
    return dataclasses.replace(SimSection(v3_pools=False, block_ms=2), **overrides)


def search_for(market: Market, strategy: StrategySection | None = None) -> ArbitrageSearch:
    """The strategy section's search over `market` (what the daemon builds from config)."""
    strategy = strategy or StrategySection()
    by_symbol = {token.symbol: address for address, token in market.tokens.items()}
    config = SearchConfig(
        base_tokens=tuple(by_symbol[s] for s in strategy.base_tokens),
        max_hops=strategy.max_hops,
        gas_units={2: strategy.gas_units_2hop, 3: strategy.gas_units_3hop},
        flash_fee_bps=strategy.flash_fee_bps,
        top_n=strategy.top_n,
    )
    return ArbitrageSearch(market, config)


@dataclass
class Rig:
    venue: SimVenue
    lifecycle: Lifecycle
    gate: SendGate
    search: ArbitrageSearch
    executor: PaperExecutor
    trades: list[TradeRecord] = field(default_factory=list)
    updates: list[BlockUpdate] = field(default_factory=list)
    opportunities: list[Opportunity] = field(default_factory=list)
    start_balances: dict[str, int] = field(default_factory=dict)


def make_rig(
    sim: SimSection, state_dir: Path | None = None, strategy: StrategySection | None = None
) -> Rig:
    venue = SimVenue(sim)
    lifecycle = Lifecycle(state_dir or Path(tempfile.mkdtemp()), EventBus())
    lifecycle.started()
    gate = SendGate(lifecycle, venue)
    executor = PaperExecutor(gate, venue, session="test")
    rig = Rig(venue, lifecycle, gate, search_for(venue.market, strategy), executor)
    rig.start_balances = venue.wallet_balances()
    return rig


async def run(rig: Rig, last_block: int, trade: bool = True, mode: Mode = "gather") -> Rig:
    """Consume blocks up to `last_block`, trading what the search finds.

    Modes are the ways a daemon may send: "gather" submits a block's orders together and
    waits for them; "spawn" starts them as tasks and reads on, like the pipeline;
    "sequential" sends one, waits for its receipt, then the next.
    """
    spawned: list[asyncio.Task[TradeRecord]] = []
    await rig.venue.start()
    try:
        async for update in rig.venue.blocks():
            rig.updates.append(update)
            found = rig.search.on_block(update.block, update.changed_pools, rig.venue.gas_price())
            rig.opportunities += found
            if trade:
                spawned += await _send(rig, disjoint(found), mode)
            if update.block.number >= last_block:
                break
        rig.trades += await asyncio.gather(*spawned)
    finally:
        await rig.venue.stop()
    return rig


async def _send(rig: Rig, found: list[Opportunity], mode: Mode) -> list[asyncio.Task[TradeRecord]]:
    if mode == "sequential":
        for opportunity in found:
            rig.trades.append(await rig.executor.execute(opportunity))
        return []
    tasks = [asyncio.ensure_future(rig.executor.execute(o)) for o in found]
    if mode == "spawn":
        return tasks
    rig.trades += await asyncio.gather(*tasks)
    return []


def disjoint(found: list[Opportunity]) -> list[Opportunity]:
    """The best opportunities that share no pool (the pipeline's rule too)."""
    busy: set[str] = set()
    chosen = []
    for opportunity in found:
        pools = {hop.pool for hop in opportunity.route}
        if not pools & busy:
            busy |= pools
            chosen.append(opportunity)
    return chosen


def comparable(trade: TradeRecord) -> dict[str, Any]:
    """A trade without its wall-clock times: what must replay identically."""
    data = trade.to_dict()
    for name in TIME_FIELDS:
        data.pop(name)
    return data
