"""The `sim` venue: the embedded default market, a live chain driven by the engine's loop.

A producer task mines a block every `block_ms`; blocks reach the engine's single
consumer (`blocks()`) through the simulated providers; the venue is also the send
gate's `Broadcaster`, so orders enter its mempool and resolve when mined.

Reproducibility (`sim.lockstep`, on by default): a block is mined only when its time
has come, no earlier block is still on its way to the engine, and the engine either
waits for the next block or has an order waiting to be mined. Orders the engine spawns
while handling a block (tasks started before it asks for the next one) reach the
mempool before the chain hears that it is waiting. So the chain never races the
engine, and a seed gives the same blocks and the same trades however fast the machine
is — provided sends reach `broadcast` without awaiting anything else first (true of
the pipeline and the paper executor). With `lockstep = false` the chain keeps
wall-clock time and waits for no one: realistic timing, not reproducible.

Off the loop: a block is mined on the market's worker thread (`worker`, shared with the
pipeline's search), never on the event loop, so a kill or a `status` never waits for a
busy block. The mempool is taken on the loop just before (an order sent meanwhile goes
into the next block; a kill meanwhile cancels only what is still in the mempool, as on a
chain where the block is already being built) and receipts resolve on the loop after.
Pools are mutated only by these mining jobs: one thread runs them and the searches one
at a time, so a search never reads a pool being changed (see `engine.market.worker`).
In lockstep the chain also waits while the worker is busy: a search is part of the
engine's step, as it was when it ran on the loop, so blocks and trades stay a function
of the seed. Pool readers on the loop (executor bounds, booking prices) run in
lockstep only while no block is being mined (`status` reads only whole numbers); with
`lockstep = false` one may see a block half-applied.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from engine.config import Config, MarketSection, SimSection
from engine.market.sim.chain import Mined, Pending, Rejected, SimChain
from engine.market.sim.endpoints import ProviderSet, build_providers
from engine.market.venue import (
    CANCELLED_BY_KILL,
    VENUE_STOPPED,
    ArbOrder,
    BlockUpdate,
    Loan,
    Receipt,
)
from engine.market.worker import MarketWorker
from engine.providers.selector import ProviderStatus

RETRY_BACKOFF_MS = 100.0  # at the 1 s block scale: all providers failed, try again


class SimVenue:
    name = "sim"

    def __init__(
        self,
        sim: SimSection,
        market: MarketSection | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sim = sim
        self._clock = clock
        self._state = SimChain(sim, market)
        self.chain = self._state.chain_id
        self.market = self._state.market
        self.operator = self._state.world.operator
        self._providers = ProviderSet(build_providers(sim))
        self._scale = sim.block_ms / 1000  # real seconds per simulated second
        self._waiters: dict[str, asyncio.Future[Receipt]] = {}
        self._backlog: deque[Mined] = deque()
        self._changed = asyncio.Event()
        self._consumer_waiting = False
        self._delivering = False
        self._task: asyncio.Task[None] | None = None
        self._mining: asyncio.Task[None] | None = None
        self._stopped = False
        self.worker = MarketWorker("sim")
        self.worker.on_idle(self._notify)
        # What each simulated lender holds, by (lender address, token), lower case: set
        # by a scenario (a lender not listed has no cap); `inventory://` is the wallet.
        self.lender_funds: dict[tuple[str, str], int] = {}
        self._failure: BaseException | None = None

    @classmethod
    def from_config(cls, config: Config) -> SimVenue:
        """The venue the daemon runs when `market.venue = "sim"`."""
        return cls(config.sim, config.market)

    # --- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        """Publish the genesis block (every pool is news) and start mining."""
        if self._task is not None:
            return
        self._backlog.append(self._state.genesis(self._clock()))
        self._task = asyncio.create_task(self._produce(), name="sim-chain")
        self._task.add_done_callback(self._producer_done)

    async def stop(self) -> None:
        """Stop mining; orders still pending resolve as failed, `blocks()` ends."""
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._mining is not None:  # a block being mined is finished and its receipts given
            await asyncio.gather(self._mining, return_exceptions=True)
        self._drop_pending(VENUE_STOPPED)
        self.worker.close()
        self._notify()

    # --- reading -----------------------------------------------------------------------
    @property
    def providers(self) -> ProviderSet:
        """The simulated RPC endpoints, for failover and operator overrides."""
        return self._providers

    @property
    def head(self) -> int:
        """The chain's newest block, delivered to the engine or not."""
        return self._state.head

    def gas_price(self) -> int:
        return self._state.gas.price

    def provider_health(self) -> list[ProviderStatus]:
        return self._providers.health(self._state.head)

    def wallet_balances(self) -> dict[str, int]:
        return dict(self._state.balances)

    def watch_lenders(self, loans: Sequence[Loan], tokens: Sequence[str] = ()) -> None:
        return None  # the simulated lenders' funds are known without reading

    def lender_capacity(self, loan: Loan, token: str) -> int | None:
        """The wallet's balance for inventory, a lender's `lender_funds`, else no cap."""
        if loan.kind == "inventory":
            return self._state.balances.get(token, 0)
        return self.lender_funds.get((loan.lender.lower(), token.lower()))

    def status(self) -> dict[str, Any]:
        """Extra detail for status screens: what the simulated chain is doing."""
        return {
            "chain": self.chain,
            "head": self._state.head,
            "base_fee": self._state.gas.base_fee,
            "gas_price": self._state.gas.price,
            "gas_spike": self._state.gas.spiking,
            "pending": len(self._state.pending),
            "undelivered": len(self._backlog),
            "rival_front_runs": self._state.rivals.front_runs,
            "rival_outbid": self._state.rivals.outbid,
            "rival_last_bid": self._state.rivals.last_bid,
            "background_sweeps": self._state.background.sweeps,
            "lockstep": self._sim.lockstep,
        }

    async def blocks(self) -> AsyncIterator[BlockUpdate]:
        """New heads as the active provider delivers them. One consumer only."""
        while True:
            update = await self._next_update()
            if update is None:
                return
            yield update

    # --- the send gate's Broadcaster -----------------------------------------------------
    def broadcast(self, payload: Any) -> Awaitable[Receipt]:
        """Put an order in the mempool; the result resolves with its receipt once mined."""
        if not isinstance(payload, ArbOrder):
            raise TypeError(f"the sim venue broadcasts ArbOrder, not {type(payload).__name__}")
        future: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
        now = self._clock()
        if self._stopped:
            future.set_result(_unmined(payload, "", VENUE_STOPPED, now, now))
            return future
        try:
            pending = self._state.submit(payload, now)
        except Rejected as exc:
            future.set_result(_unmined(payload, "", str(exc), now, now))
            return future
        self._waiters[pending.tx_hash] = future
        self._notify()
        return future

    async def cancel_pending(self, reason: str = CANCELLED_BY_KILL) -> list[str]:
        """Drop every unmined order: failed, no gas, never applied. Returns tx hashes."""
        return self._drop_pending(reason)

    # --- internals ---------------------------------------------------------------------
    def _drop_pending(self, reason: str) -> list[str]:
        now = self._clock()
        dropped = self._state.drop_pending()
        for pending in dropped:
            self._resolve(_cancelled(pending, reason, now))
        return [pending.tx_hash for pending in dropped]

    def _resolve(self, receipt: Receipt) -> None:
        future = self._waiters.pop(receipt.tx_hash, None)
        if future is not None and not future.done():
            future.set_result(receipt)

    def _notify(self) -> None:
        """Wake whoever waits for a change (the producer or the consumer)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self) -> None:
        await self._changed.wait()

    def _idle(self) -> bool:
        """The engine has taken in every block it can get and waits for the next one."""
        if not self._consumer_waiting:
            return False
        return not self._backlog or self._providers.withholding(self._state.head)

    def _minable(self) -> bool:
        """Lockstep: never while a block is on its way to the engine (it is catching up);
        otherwise when the engine waits for a block or has an order waiting to be mined."""
        if not self._sim.lockstep:
            return True
        if self._delivering or self.worker.busy:
            return False
        return self._idle() or bool(self._state.pending)

    async def _produce(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self._sim.block_ms / 1000
        next_at = loop.time() + interval
        while not self._stopped:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            while not self._minable():
                await self._wait_change()
            # Shielded: cancelling the producer must not lose a block mined in the thread.
            self._mining = asyncio.create_task(self._mine(), name="sim-mine")
            await asyncio.shield(self._mining)
            next_at = loop.time() + interval

    async def _mine(self) -> None:
        mempool = self._state.drop_pending()
        mined = await self.worker.run(self._state.mine, self._clock(), mempool)
        self._backlog.append(mined)
        for receipt in mined.receipts:
            self._resolve(receipt)
        self._providers.probe_backups(self._state.head)
        self._notify()

    def _producer_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._failure = task.exception()
            self._notify()

    async def _next_update(self) -> BlockUpdate | None:
        settled = False
        while not self._stopped:
            if self._failure is not None:
                raise RuntimeError("the simulated chain stopped") from self._failure
            if self._backlog and not self._providers.withholding(self._state.head):
                update = await self._deliver_oldest()
                if update is not None:
                    return update
                settled = False
            elif not settled:
                # Sends the engine spawned for the last block were scheduled before this
                # point: one yield lets them all reach the mempool before the chain hears
                # that the engine is waiting, so none of them can miss the next block.
                await asyncio.sleep(0)
                settled = True
            else:
                await self._wait_for_block()
        return None

    async def _wait_for_block(self) -> None:
        self._consumer_waiting = True
        self._notify()
        try:
            await self._wait_change()
        finally:
            self._consumer_waiting = False

    async def _deliver_oldest(self) -> BlockUpdate | None:
        """While a block is on its way the chain waits (lockstep): the engine catches up."""
        self._delivering = True
        try:
            update = await self._deliver(self._backlog[0])
        finally:
            self._delivering = False
        if update is None:
            self._notify()  # a stall began or every provider failed: let the chain decide
        return update

    async def _deliver(self, mined: Mined) -> BlockUpdate | None:
        """Fetch the oldest undelivered block through the providers, by priority."""
        head, number = self._state.head, mined.block.number
        for provider in self._providers.providers:
            if provider.stalled(head):
                continue
            attempt = provider.attempt()
            provider.record(attempt, number, head)
            if attempt.outcome == "stall":
                if provider is self._providers.active:
                    return None  # silent: the consumer waits, the chain moves on
                continue
            await asyncio.sleep(attempt.latency_ms / 1000 * self._scale)
            if attempt.outcome == "ok" and not self._stopped:
                self._backlog.popleft()
                return BlockUpdate(mined.block, mined.changed_pools, self._clock(), provider.name)
        await asyncio.sleep(RETRY_BACKOFF_MS / 1000 * self._scale)
        return None


def _unmined(order: ArbOrder, tx_hash: str, reason: str, submitted: float, now: float) -> Receipt:
    """A receipt for an order that never reached a block: failed, nothing charged."""
    return Receipt(
        tx_hash=tx_hash,
        order_id=order.order_id,
        status="failed",
        revert_reason=reason,
        block_number=0,
        gas_used=0,
        gas_price=order.gas_price,
        amount_out=0,
        token_delta=0,
        submitted_at=submitted,
        mined_at=now,
    )


def _cancelled(pending: Pending, reason: str, now: float) -> Receipt:
    return _unmined(pending.order, pending.tx_hash, reason, pending.submitted_at, now)
