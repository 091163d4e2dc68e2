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

Follow-ups (issue 13.2). A block's opportunities that share pools are planned one after
another on the exact reserves each leaves behind (`engine.strategy.plan`): greedily the
best by exact net value, through the approval chain, its effect applied to a copy of
the reserves, the rest re-priced there, until nothing pays or the in-flight limit is
reached. The plan leaves in one go through the send gate (`send_plan`: consecutive
nonces on a chain, the most valuable first), and every order is settled and booked on
its own. When our own trade's receipt arrives after the block that mined it was already
searched (that search saw its pools busy and dropped what it found there), the pools
are released and the market is searched again at once, on the worker like any search,
without waiting for another block.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
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
from engine.providers.selector import ProviderStatus
from engine.strategy.opportunity import Opportunity
from engine.strategy.plan import Plan, greedy
from engine.strategy.search import ArbitrageSearch

log = logging.getLogger("arbctl.pipeline")


class Executor(Protocol):
    async def execute(self, opportunity: Opportunity) -> TradeRecord: ...

    async def send_plan(self, opportunities: Sequence[Opportunity]) -> list[Awaitable[TradeRecord]]:
        """Send every order through the gate in one step, in order; one awaitable per
        order (its booked trade). Raises NotSent when nothing was sent."""
        ...


class Approver(Protocol):
    """The approval chain's seat in the pipeline (engine/approval.py): the opportunity to
    send (possibly resized), or the refusal.

    Both calls are synchronous: `decide` sits between decision and send (no await may
    come between them), and `observe_trade` lets every seat see each booked outcome."""

    def decide(self, opportunity: Opportunity) -> Verdict: ...

    def observe_trade(self, trade: TradeRecord) -> None: ...

    def observe_not_sent(self, opportunity_id: str, reason: str) -> None: ...


class _ApproveAll:
    def decide(self, opportunity: Opportunity) -> Verdict:
        return Verdict(opportunity, None)

    def observe_trade(self, trade: TradeRecord) -> None:
        return None

    def observe_not_sent(self, opportunity_id: str, reason: str) -> None:
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
        # The lenders' health rows, after the venue's RPC endpoints in `providers` of the
        # status (the daemon sets it when lenders are configured): console, triage, alerts.
        self.lender_health: Callable[[], list[ProviderStatus]] = list
        self._busy_pools: Counter[str] = Counter()  # pool -> orders in flight on it
        self._orders_in_flight = 0
        self._worker: MarketWorker | None = None
        self._submitted: BlockUpdate | None = None  # the newest block handed to a search
        self._block_searches = 0  # blocks handed to a search so far
        self._tasks: set[asyncio.Task[None]] = set()
        self._committing: set[asyncio.Task[None]] = set()  # booked, waiting for the ledger
        self._recent: deque[dict[str, Any]] = deque(maxlen=200)
        self.last_update: BlockUpdate | None = None
        self.blocks_seen = 0
        self.opportunities_seen = 0
        self.trades_booked = 0
        self.refused_by_gate = 0
        self.not_sent = 0  # e.g. the dry run reverted: nothing signed, nothing booked
        self.follow_ups = 0  # orders planned on the reserves an earlier order leaves
        self.researches = 0  # searches run on our own receipt, without a new block
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
        self._worker = worker
        try:
            async for update in self.venue.blocks():
                gas_price = self.venue.gas_price()
                busy, room = frozenset(+self._busy_pools), self._room()
                self._submitted = update
                self._block_searches += 1
                found, planned = await worker.run(
                    self._timed_search, update, gas_price, None, busy, room
                )
                self._on_block(update, found, planned)
        finally:
            self._worker = None
            if owned:
                worker.close()

    def _timed_search(
        self,
        update: BlockUpdate,
        gas_price: int,
        pools: frozenset[str] | None,
        busy: frozenset[str],
        room: int,
    ) -> tuple[list[Opportunity], list[Opportunity]]:
        """On the worker thread: the search (`pools`: a re-search's) and the greedy plan
        over its candidates that use no busy pool, timed together."""
        started = time.perf_counter()
        changed = update.changed_pools if pools is None else pools
        search = self._search
        cut_short = search.walks_cut_short
        found = search.on_block(update.block, changed, gas_price)
        self.walks_cut_short += search.walks_cut_short - cut_short
        free = [o for o in search.candidates if not _pools(o) & busy]
        config = search.config
        market = self.venue.market
        planned = greedy(market, free, config.flash_fee_bps, config.max_amount_in, room)
        self.last_decision_ms = (time.perf_counter() - started) * 1000
        return found, planned

    def _room(self) -> int:
        return max(0, self._max_in_flight - self._orders_in_flight)

    def _on_block(
        self, update: BlockUpdate, found: list[Opportunity], planned: list[Opportunity]
    ) -> None:
        """The hand-over, on the loop and without an await: publish, review, dispatch."""
        self.last_update = update
        self.blocks_seen += 1
        self._bus.publish(protocol.TOPIC_BLOCK, self._block_event(update, len(found)))
        self._publish_found(_with_plan(found, planned))
        if self._lifecycle.accepting_sends:
            self._dispatch(planned)

    def _publish_found(self, found: list[Opportunity]) -> None:
        for opportunity in found:
            self.opportunities_seen += 1
            data = opportunity.to_dict()
            self._recent.appendleft(data)
            self._bus.publish(protocol.TOPIC_OPPORTUNITY, data)

    def _dispatch(self, planned: list[Opportunity]) -> None:
        """Approve the worker's plan in order and send what passed; no await before the
        send."""
        plan = self._approved(planned)
        if not plan:
            return
        for opportunity in plan:
            self._busy_pools.update(_pools(opportunity))
        self._orders_in_flight += len(plan)
        self.follow_ups += sum(1 for o in plan if o.follows)
        self._spawn(self._send_plan(plan, self._block_searches))

    def _approved(self, planned: list[Opportunity]) -> list[Opportunity]:
        """The plan through the approval chain, order by order: each approved one taken
        at its (possibly resized) input on the reserves the ones before it leave; one
        refused leaves the rest re-priced without it. Pools that became busy since the
        plan was made are skipped."""
        config = self._search.config
        plan = Plan(self.venue.market, config.flash_fee_bps, config.max_amount_in)
        busy, room = +self._busy_pools, self._room()
        for opportunity in planned:
            if len(plan.taken) >= room:
                break
            if _pools(opportunity) & busy.keys():
                continue
            priced = plan.reprice(opportunity, opportunity.amount_in)
            if priced is None:
                continue
            verdict = self._approver.decide(priced)
            if verdict.refusal is None:
                plan.take(verdict.opportunity)
        return plan.taken

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_plan(self, plan: list[Opportunity], searches: int) -> None:
        """`searches`: how many blocks had been handed to a search when it was planned."""
        try:
            settles = await self._executor.send_plan(plan)
        except NotSent as exc:
            if isinstance(exc, GateClosed):
                self.refused_by_gate += len(plan)
            else:
                self.not_sent += len(plan)
                self._not_sent(plan[0].id, exc)  # the first order's dry run stopped the plan
            log.info("plan %s not sent: %s", ", ".join(o.id for o in plan), exc)
            self._release_all(plan, searches)
            return
        except Exception:
            log.exception("sending plan %s failed", ", ".join(o.id for o in plan))
            self._release_all(plan, searches)
            return
        for opportunity, settle in zip(plan, settles, strict=True):
            self._spawn(self._settle(opportunity, settle, searches))

    def _release_all(self, plan: list[Opportunity], searches: int) -> None:
        for opportunity in plan:
            self._release(opportunity)
        self._research_unsent({pool for o in plan for pool in _pools(o)}, searches)

    def _not_sent(self, opportunity_id: str, exc: NotSent) -> None:
        """Tell the approval chain (a lender that refused the loan fails over at once)."""
        reason = getattr(exc, "reason", None)
        self._approver.observe_not_sent(
            opportunity_id, reason if isinstance(reason, str) else str(exc)
        )

    def _release(self, opportunity: Opportunity) -> None:
        self._busy_pools.subtract(_pools(opportunity))
        self._busy_pools = +self._busy_pools  # drop pools no order uses any more
        self._orders_in_flight -= 1

    async def _settle(
        self, opportunity: Opportunity, settle: Awaitable[TradeRecord], searches: int
    ) -> None:
        try:
            trade = await settle
        except NotSent as exc:  # a follow-up its dry run dropped
            self.not_sent += 1
            self._not_sent(opportunity.id, exc)
            log.info("opportunity %s not sent: %s", opportunity.id, exc)
            self._release(opportunity)
            self._research_unsent(_pools(opportunity), searches)
            return
        except Exception:
            log.exception("executing opportunity %s failed", opportunity.id)
            self._release(opportunity)
            return
        self._release(opportunity)
        self.trades_booked += 1
        # The execution's slot is free from here; the commit is waited for apart, so a
        # slow or absent ledger never looks like work in flight on the chain.
        task = asyncio.create_task(self._publish_when_committed(trade))
        self._committing.add(task)
        task.add_done_callback(self._committing.discard)
        self._research_after(trade, _pools(opportunity))

    def _research_unsent(self, pools: set[str], searches: int) -> None:
        """Orders that never reached the chain: if a block was searched since they were
        planned (with their pools busy), search those pools again now. Only then: the
        market state that refused them would refuse them again."""
        seen = self._submitted
        if searches >= self._block_searches or seen is None or self._worker is None:
            return
        if self._lifecycle.accepting_sends:
            self._spawn(self._research(seen, frozenset(pools)))

    def _research_after(self, trade: TradeRecord, pools: set[str]) -> None:
        """Our trade was mined in a block already searched, or being searched, with its
        pools busy: search the pools it touched again now, not at the next block (the
        worker runs it after any search in progress)."""
        seen = self._submitted  # its search may still run, with these pools busy
        if not trade.block_number or seen is None or seen.block.number < trade.block_number:
            return  # the block with our trade is still to come: its search will see them
        if self._worker is None or not self._lifecycle.accepting_sends:
            return
        self._spawn(self._research(seen, frozenset(pools)))

    async def _research(self, update: BlockUpdate, pools: frozenset[str]) -> None:
        assert self._worker is not None
        gas_price = self.venue.gas_price()
        busy, room = frozenset(+self._busy_pools), self._room()
        found, planned = await self._worker.run(
            self._timed_search, update, gas_price, pools, busy, room
        )
        self.researches += 1
        self._publish_found(_with_plan(found, planned))
        if self._lifecycle.accepting_sends:
            self._dispatch(planned)

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
        while self._tasks and (left := deadline - time.monotonic()) > 0:
            # a plan's send spawns its settlements: wait until none is left
            await asyncio.wait(set(self._tasks), timeout=left)
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
            "received_at": update.received_at,  # head-to-send is measured from here
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
            "follow_ups": self.follow_ups,
            "researches": self.researches,
            "decision_ms": round(self.last_decision_ms, 3),
            "providers": [
                status.to_dict()
                for status in [*self.venue.provider_health(), *self.lender_health()]
            ],
            **_submission(self.venue),
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

    def names(self) -> dict[str, Any]:
        """Every token's symbol and decimals and every pool's dex and fee, by address:
        what a client needs to show a route as `WETH →uniswap→ USDC` and an amount in
        token units instead of hex and base units."""
        market = self.venue.market
        return {
            **self.units(),
            "tokens": {
                t.address: {"symbol": t.symbol, "decimals": t.decimals}
                for t in market.tokens.values()
            },
            "pools": {
                p.address: {"dex": p.dex, "fee_bps": p.fee_bps} for p in market.pools.values()
            },
        }


def _pools(opportunity: Opportunity) -> set[str]:
    return {hop.pool for hop in opportunity.route}


def _with_plan(found: list[Opportunity], planned: list[Opportunity]) -> list[Opportunity]:
    """What the search found, and the plan's orders beyond it (follow-ups, as planned)."""
    ids = {o.id for o in found}
    return [*found, *(o for o in planned if o.id not in ids)]


def _submission(venue: Any) -> dict[str, Any]:
    """A chain venue's submission route and what is out on it (pending bundles, private
    transactions): `status` shows them."""
    status = getattr(venue, "submission_status", None)
    return {"submission": status()} if callable(status) else {}
