"""The trading pipeline: blocks → search → (approval) → executor → ledger, one direction.

It is deliberately small: the venue says what changed, the search says what is worth
doing, the executor does it through the send gate and returns a booked trade. Each
step publishes what it saw on the bus. Executions run as bounded concurrent tasks so a
slow chain never stops the next block from being searched, and two executions never
touch the same pool at once (the second would trade on reserves the first is moving).

The search runs on the market's worker thread (`engine.market.worker`), never on the
event loop: a kill or a `status` is answered while a big market is being searched. The
hand-over back is synchronous: events, the guards' `review` and the executions' first
step (the send gate's check and the broadcast) follow the search's result with no await
in between, so a kill that lands during the search is seen by the gate, and a simulated
market in lockstep replays a seed exactly. The pipeline is the only one that submits
searches, and it takes the next block (which may change pools) only after the search of
the last one returned: a search never reads pools that the loop is changing.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections import deque
from typing import Any, Protocol

from engine import protocol
from engine.approval import Verdict
from engine.bus import EventBus
from engine.execution.errors import NotSent
from engine.execution.gate import GateClosed
from engine.ledger.records import TradeRecord
from engine.ledger.writer import LedgerWriter
from engine.lifecycle import Lifecycle
from engine.market.venue import BlockUpdate, HeadStatus, Venue
from engine.market.worker import MarketWorker
from engine.strategy.opportunity import Opportunity
from engine.strategy.search import ArbitrageSearch

log = logging.getLogger("arbctl.pipeline")


class Executor(Protocol):
    async def execute(self, opportunity: Opportunity) -> TradeRecord: ...


class Approver(Protocol):
    """The approval chain's seat in the pipeline (engine/approval.py): the opportunity to
    send (possibly resized), or the refusal.

    Both calls are synchronous: `decide` sits between decision and send (no await may
    come between them), and `observe_trade` lets every seat see each booked outcome."""

    def decide(self, opportunity: Opportunity) -> Verdict: ...

    def observe_trade(self, trade: TradeRecord) -> None: ...


class _ApproveAll:
    def decide(self, opportunity: Opportunity) -> Verdict:
        return Verdict(opportunity, None)

    def observe_trade(self, trade: TradeRecord) -> None:
        return None


class TradingPipeline:
    def __init__(
        self,
        venue: Venue,
        search: ArbitrageSearch,
        executor: Executor,
        lifecycle: Lifecycle,
        bus: EventBus,
        ledger: LedgerWriter,
        max_in_flight: int = 4,
        approver: Approver | None = None,
    ) -> None:
        self.venue = venue
        self._search = search
        self._executor = executor
        self._lifecycle = lifecycle
        self._bus = bus
        self._ledger = ledger
        self._approver = approver or _ApproveAll()
        self._max_in_flight = max_in_flight
        self._busy_pools: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._committing: set[asyncio.Task[None]] = set()  # booked, waiting for the ledger
        self._recent: deque[dict[str, Any]] = deque(maxlen=200)
        self.last_update: BlockUpdate | None = None
        self.blocks_seen = 0
        self.opportunities_seen = 0
        self.trades_booked = 0
        self.refused_by_gate = 0
        self.not_sent = 0  # e.g. the dry run reverted: nothing signed, nothing booked
        self.walks_cut_short = 0  # exact optimum walks the safety budget stopped (expect 0)
        self.last_decision_ms = 0.0

    # --- the loop ----------------------------------------------------------------------
    async def run(self) -> None:
        """Search every block on the market's worker thread (the venue's own, if it has
        one, so its block work and the search take turns), then hand over on the loop.

        What exists now (the market, the cycle table) lives as long as the engine: it is
        frozen out of the cyclic garbage collector, whose full pass over it would hold
        the GIL (and so the loop) for ~20 ms at 50k pools, in whichever thread ran it."""
        gc.collect()  # garbage is not frozen: it would never be freed
        gc.freeze()
        worker: MarketWorker | None = getattr(self.venue, "worker", None)
        owned = worker is None
        worker = worker or MarketWorker("search")
        try:
            async for update in self.venue.blocks():
                gas_price = self.venue.gas_price()
                found = await worker.run(self._timed_search, update, gas_price)
                self._on_block(update, found)
        finally:
            if owned:
                worker.close()

    def _timed_search(self, update: BlockUpdate, gas_price: int) -> list[Opportunity]:
        """On the worker thread: the search alone, timed."""
        started = time.perf_counter()
        cut_short = self._search.walks_cut_short
        found = self._search.on_block(update.block, update.changed_pools, gas_price)
        self.last_decision_ms = (time.perf_counter() - started) * 1000
        self.walks_cut_short += self._search.walks_cut_short - cut_short
        return found

    def _on_block(self, update: BlockUpdate, found: list[Opportunity]) -> None:
        """The hand-over, on the loop and without an await: publish, review, dispatch."""
        self.last_update = update
        self.blocks_seen += 1
        self._bus.publish(protocol.TOPIC_BLOCK, self._block_event(update, len(found)))
        for opportunity in found:
            self.opportunities_seen += 1
            data = opportunity.to_dict()
            self._recent.appendleft(data)
            self._bus.publish(protocol.TOPIC_OPPORTUNITY, data)
        if self._lifecycle.accepting_sends:
            self._dispatch(found)

    def _dispatch(self, found: list[Opportunity]) -> None:
        for opportunity in found:
            if len(self._tasks) >= self._max_in_flight:
                return
            pools = {hop.pool for hop in opportunity.route}
            if pools & self._busy_pools:
                continue
            verdict = self._approver.decide(opportunity)
            if verdict.refusal is not None:
                continue
            self._busy_pools |= pools
            task = asyncio.create_task(self._execute(verdict.opportunity, pools))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _execute(self, opportunity: Opportunity, pools: set[str]) -> None:
        try:
            trade = await self._executor.execute(opportunity)
        except NotSent as exc:
            if isinstance(exc, GateClosed):
                self.refused_by_gate += 1
            else:
                self.not_sent += 1
            log.info("opportunity %s not sent: %s", opportunity.id, exc)
            return
        except Exception:
            log.exception("executing opportunity %s failed", opportunity.id)
            return
        finally:
            self._busy_pools -= pools
        self.trades_booked += 1
        # The execution's slot is free from here; the commit is waited for apart, so a
        # slow or absent ledger never looks like work in flight on the chain.
        task = asyncio.create_task(self._publish_when_committed(trade))
        self._committing.add(task)
        task.add_done_callback(self._committing.discard)

    async def _publish_when_committed(self, trade: TradeRecord) -> None:
        """Committed first: the event, and the guard triggers that name the trade, are
        what clients see, and a crash must never lose a trade a client has seen."""
        await self._ledger.book_trade(trade)
        self._bus.publish(protocol.TOPIC_TRADE, trade.to_dict())
        self._approver.observe_trade(trade)
        log.info(
            "trade %s %s profit_quote=%d reason=%s",
            trade.id,
            trade.status,
            trade.profit_quote,
            trade.revert_reason or "-",
        )

    async def drain(self, timeout: float) -> int:
        """Wait for in-flight executions and their commits (graceful stop); returns how
        many executions were left. A trade still waiting for the ledger after that is
        flushed by the stop, unpublished."""
        deadline = time.monotonic() + timeout
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        left = max(0.0, deadline - time.monotonic())
        if self._committing and left:
            await asyncio.wait(set(self._committing), timeout=left)
        return len(self._tasks)

    # --- what the control plane reads ----------------------------------------------------
    def _block_event(self, update: BlockUpdate, found: int) -> dict[str, Any]:
        return {
            "number": update.block.number,
            "timestamp": update.block.timestamp,
            "base_fee": update.block.base_fee,
            "changed_pools": len(update.changed_pools),
            "provider": update.provider,
            "opportunities": found,
            "decision_ms": round(self.last_decision_ms, 3),
        }

    def head(self) -> HeadStatus | None:
        """The newest block, its age and its provider; None before the first block."""
        update = self.last_update
        return HeadStatus.of(update, time.time()) if update else None

    def market_status(self) -> dict[str, Any]:
        head = self.head()
        return {
            "venue": self.venue.name,
            "chain": self.venue.chain,
            "block": head.block if head else None,
            "head_age_s": round(head.age_s, 3) if head else None,
            "gas_price": self.venue.gas_price(),
            "cycles": self._search.cycle_count,
            "blocks_seen": self.blocks_seen,
            "opportunities_seen": self.opportunities_seen,
            "trades_booked": self.trades_booked,
            "not_sent": self.not_sent,
            "in_flight": len(self._tasks),
            "decision_ms": round(self.last_decision_ms, 3),
            "providers": [status.to_dict() for status in self.venue.provider_health()],
        }

    def recent_opportunities(self, limit: int) -> list[dict[str, Any]]:
        return list(self._recent)[:limit]

    def counters(self) -> dict[str, int]:
        return {
            "blocks_seen": self.blocks_seen,
            "opportunities_seen": self.opportunities_seen,
            "trades_booked": self.trades_booked,
            "refused_by_gate": self.refused_by_gate,
            "not_sent": self.not_sent,
            "walks_cut_short": self.walks_cut_short,
        }

    def restore_counters(self, saved: dict[str, Any]) -> None:
        """Counters continue across restarts (the snapshot carries them)."""
        for name in self.counters():
            value = saved.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                setattr(self, name, value)

    def units(self) -> dict[str, Any]:
        """Symbols and decimals of the native and quote tokens: clients format base units
        with these (the engine never sends money as floats)."""
        market = self.venue.market
        return {
            role: {"address": token.address, "symbol": token.symbol, "decimals": token.decimals}
            for role, address in (("native", market.native), ("quote", market.quote))
            if (token := market.tokens.get(address)) is not None
        }
