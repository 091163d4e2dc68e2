"""Following the chain: new heads in, per-block reserve changes out.

Heads come from an `eth_subscribe("newHeads")` websocket where the provider offers one
(a ws:// URL, or the http URL's ws:// twin, which anvil, geth and most hosted providers
serve), else from polling `eth_getBlockByNumber("latest")` every `evm.poll_interval_ms`.
A websocket is also checked against a poll whenever it has been quiet for a while, so a
missed notification delays a block by seconds, never forever.

For each head one batch fetches the block's `Sync` logs (and the V3 pools' Swap, Mint,
Burn, Collect and Flash logs: engine/market/evm/v3_book.py), the fee history, and the
per-block reads others register (`BlockReads`: the lenders' capacities, pinned to the
head; a failed read of theirs never fails the step). The batch goes over the websocket
that brought the head, while heads come by one: on anvil a websocket round trip is ~0.1
ms shorter than an HTTP POST's, and costs the client ~0.1 ms less CPU (docs/bench-evm.md);
a dead socket fails the step like a dead endpoint, and the resubscription reconnects. Sync
carries a pair's new reserves, so the last Sync per pool is its state after the block;
no `getReserves` per pool per block. A head that skips blocks fetches the logs of the
whole range (after checking our last block is still canonical); a reorg, or a gap longer
than `MAX_GAP`, re-reads every pool's reserves at the new head.

Provider failures never escape: they are recorded in the provider's health, logged
once per outage, and retried with backoff; while the chain cannot be read no block is
delivered, so nothing new is traded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from engine.market.evm import abi
from engine.market.evm.endpoints import ActiveProvider, ProviderSet
from engine.market.evm.fees import FeePolicy, fee_history_call
from engine.market.evm.pools import PoolBook, read_reserves
from engine.market.evm.rpc import (
    Call,
    Endpoint,
    NodeRpcError,
    ProviderUnavailable,
    RpcClient,
    WsTransport,
)
from engine.market.evm.v3_book import V3Book, V3Changes
from engine.market.evm.v3_pools import LOG_TOPICS as V3_TOPICS

log = logging.getLogger("arbctl.evm")

MAX_GAP = 64  # blocks; longer gaps re-read all reserves instead of fetching the logs
QUIET_CHECK_S = 5.0  # a websocket quiet this long is checked against a poll
MAX_BACKOFF_S = 5.0
EWMA_WEIGHT = 0.2
MAX_ARRIVAL_S = 60.0  # a head "older" than this is a clock problem, not a latency

HeadMode = Literal["ws", "poll"]


@dataclass(frozen=True, slots=True)
class Head:
    number: int
    hash: str
    parent_hash: str
    timestamp: int
    base_fee: int
    received_at: float  # time.time() when the engine learnt of it
    received_perf: float  # time.perf_counter() at the same moment, for intervals


def parse_head(raw: dict[str, Any]) -> Head:
    return Head(
        number=int(raw["number"], 16),
        hash=str(raw["hash"]),
        parent_hash=str(raw.get("parentHash", "")),
        timestamp=int(raw.get("timestamp", "0x0"), 16),
        base_fee=int(raw.get("baseFeePerGas") or "0x0", 16),
        received_at=time.time(),
        received_perf=time.perf_counter(),
    )


class BlockReads(Protocol):
    """Calls to make at every head, in the follower's own batch (engine/market/evm/lenders.py)."""

    def calls(self, block: int) -> list[Call]: ...

    def apply(self, block: int, results: Sequence[Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class ChainStep:
    """What one head changed: reserves by pool (all pools when `full`), and the V3
    pools' logs and tick words (or their full re-read)."""

    head: Head
    reserves: dict[str, tuple[int, int]]
    full: bool
    provider: str
    v3: V3Changes | None = None


@dataclass(slots=True)
class FollowerStats:
    """How heads arrive. Arrival latency is "received − block timestamp": exact to the
    second only (timestamps are whole seconds), and meaningless when the node's clock is
    off, as on an anvil that was `evm_revert`ed (its clock keeps the snapshot's offset).
    Samples outside [0, MAX_ARRIVAL_S] are left out of the average; the last raw offset
    is kept (`clock_offset_s`) to tell a slow feed from a skewed clock."""

    mode: HeadMode = "poll"
    heads: int = 0
    arrivals: int = 0
    arrival_ms_ewma: float = 0.0
    clock_offset_s: float = 0.0  # last head's received - timestamp, unfiltered
    fetch_ms_ewma: float = 0.0  # head received -> its logs and fees fetched
    reloads: int = 0  # full reserve re-reads (reorg, long gap)
    outage_since: float = 0.0  # 0 while the chain is readable

    def observe(self, head: Head, fetched_perf: float) -> None:
        self.clock_offset_s = head.received_at - head.timestamp
        fetch = (fetched_perf - head.received_perf) * 1000
        self.fetch_ms_ewma = _ewma(self.fetch_ms_ewma, fetch, self.heads)
        self.heads += 1
        if -1.0 <= self.clock_offset_s <= MAX_ARRIVAL_S:
            arrival = max(0.0, self.clock_offset_s) * 1000
            self.arrival_ms_ewma = _ewma(self.arrival_ms_ewma, arrival, self.arrivals)
            self.arrivals += 1


def _ewma(average: float, sample: float, count: int) -> float:
    return sample if count == 0 else average + EWMA_WEIGHT * (sample - average)


class BlockFollower:
    """Turns heads into `ChainStep`s handed to `on_step`, in chain order, from a start head on."""

    def __init__(
        self,
        providers: ProviderSet,
        book: PoolBook,
        fees: FeePolicy,
        poll_interval: float,
        on_head: Callable[[Head], None],
        on_step: Callable[[ChainStep], None],
        reads: BlockReads | None = None,
        v3: V3Book | None = None,
    ) -> None:
        self._providers = providers
        self._reads = reads
        self._book = book
        self._v3 = v3 if v3 is not None and len(v3) else None
        # one log query per block: the V2 Syncs and, with V3 pools, their events too
        self._topics: list[Any] = [[abi.SYNC_TOPIC, *V3_TOPICS]] if self._v3 else [abi.SYNC_TOPIC]
        self._fees = fees
        self._poll_interval = poll_interval
        self._on_head = on_head
        self._on_step = on_step
        self.stats = FollowerStats()
        self._last: Head | None = None
        self._ws_usable: bool | None = None  # None: not tried yet
        self._ws: WsTransport | None = None
        self._ws_client: RpcClient | None = None  # the heads' websocket, while subscribed

    @property
    def last(self) -> Head | None:
        return self._last

    def websocket_client(self, endpoint: Endpoint) -> RpcClient | None:
        """The heads' websocket while subscribed to `endpoint` (the active provider's,
        as the caller sees it), for reads on the path to a send; None otherwise (polling,
        or a failover the subscription has not followed yet)."""
        client = self._ws_client
        if client is None or client.endpoint.label != endpoint.label:
            return None
        return client

    async def run(self, start: Head) -> None:
        """Follow from `start` (already reflected in the market) until cancelled."""
        self._last = start
        backoff = self._poll_interval
        while True:
            try:
                async for head in self._heads():
                    await self._follow(head)
                    backoff = self._poll_interval
                    self._recovered()
            except (ProviderUnavailable, NodeRpcError) as exc:
                self._failed(exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def close(self) -> None:
        self._ws_client = None
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    # --- heads -----------------------------------------------------------------------
    async def _heads(self) -> AsyncIterator[Head]:
        provider = self._providers.active
        if self._ws_usable is not False:
            subscription = await self._subscribe(provider)
            if subscription is not None:
                async for head in self._subscribed(provider, subscription):
                    yield head
                return
        async for head in self._polled(provider):
            yield head

    async def _subscribe(self, provider: ActiveProvider) -> asyncio.Queue[Any] | None:
        """A newHeads subscription, or None when this provider has no websocket."""
        endpoint = provider.endpoint
        if self._ws is None:
            self._ws = WsTransport(endpoint)
        client = RpcClient(endpoint, provider.health, self._ws, provider.client.timeout)
        try:
            subscription = await client.call("eth_subscribe", ["newHeads"])
        except (ProviderUnavailable, NodeRpcError) as exc:
            if self._ws_usable or endpoint.is_websocket:
                raise  # it worked before (or is all there is): an outage, retry
            self._ws_usable = False
            log.info("%s: no websocket subscription (%s); polling heads", endpoint.label, exc)
            return None
        if not self._ws_usable:
            log.info("%s: following new heads by websocket subscription", endpoint.label)
        self._ws_usable = True
        self.stats.mode = "ws"
        self._ws_client = client
        return self._ws.subscription(str(subscription))

    async def _subscribed(
        self, provider: ActiveProvider, queue: asyncio.Queue[Any]
    ) -> AsyncIterator[Head]:
        subscribed_to = provider.endpoint.label
        while True:
            if self._providers.active.endpoint.label != subscribed_to:
                # Failover moved every other request; the head subscription must follow,
                # or heads keep coming from (or stop with) the endpoint we left.
                log.info("heads: leaving %s after failover", subscribed_to)
                await self.close()
                self._ws_usable = None
                return
            try:
                raw = await asyncio.wait_for(queue.get(), QUIET_CHECK_S)
            except TimeoutError:
                head = await self._latest(provider.client)
                if self._last is None or head.hash != self._last.hash:
                    yield head
                continue
            if raw is None:
                raise ProviderUnavailable(f"{provider.endpoint.label}: websocket closed")
            yield parse_head(raw)

    async def _polled(self, provider: ActiveProvider) -> AsyncIterator[Head]:
        self.stats.mode = "poll"
        self._ws_client = None
        while True:
            head = await self._latest(provider.client)
            if self._last is None or head.hash != self._last.hash:
                yield head
            await asyncio.sleep(self._poll_interval)

    async def _latest(self, client: RpcClient) -> Head:
        raw = await client.call("eth_getBlockByNumber", ["latest", False])
        if not isinstance(raw, dict):
            raise ProviderUnavailable(f"{client.endpoint.label}: no latest block")
        return parse_head(raw)

    # --- steps -----------------------------------------------------------------------
    async def _follow(self, head: Head) -> None:
        last = self._last
        assert last is not None
        if head.hash == last.hash:
            return  # the ws and the quiet-check poll both saw it
        provider = self._providers.active
        provider.health.record_head(head.number)
        self._on_head(head)
        client = self._ws_client or provider.client
        reserves, full, v3 = await self._changes(client, last, head)
        self.stats.observe(head, time.perf_counter())
        self._last = head
        self._on_step(ChainStep(head, reserves, full, provider.name, v3))

    async def _changes(
        self, client: RpcClient, last: Head, head: Head
    ) -> tuple[dict[str, tuple[int, int]], bool, V3Changes | None]:
        """Reserve updates from `last` to `head`, whether they are a full re-read, and
        the V3 pools' changes."""
        follows = head.number == last.number + 1 and head.parent_hash == last.hash
        if follows:
            logs_filter: dict[str, Any] = {"blockHash": head.hash, "topics": self._topics}
        elif last.number < head.number <= last.number + MAX_GAP:
            logs_filter = {
                "fromBlock": hex(last.number + 1),
                "toBlock": hex(head.number),
                "topics": self._topics,
            }
        else:
            return await self._reload(client, head)
        calls: list[Call] = [("eth_getLogs", [logs_filter]), fee_history_call(head.number)]
        if not follows:  # is the block we stand on still part of the chain?
            calls.append(("eth_getBlockByNumber", [hex(last.number), False]))
        extra = self._reads.calls(head.number) if self._reads else []
        answers = await client.batch([*calls, *extra])
        results: list[Any] = []
        for result in answers[: len(calls)]:
            if isinstance(result, NodeRpcError):
                raise result
            results.append(result)
        if self._reads is not None:
            self._reads.apply(head.number, answers[len(calls) :])
        self._fees.update(results[1])
        if not follows and (results[2] or {}).get("hash") != last.hash:
            return await self._reload(client, head)
        return (
            self._book.sync_updates(results[0]),
            False,
            await self._v3_changes(client, results[0], head),
        )

    async def _v3_changes(
        self, client: RpcClient, logs: list[dict[str, Any]], head: Head
    ) -> V3Changes | None:
        """Our V3 pools' logs, and the tick words their new prices need or a walk asked
        for, read at `head`."""
        if self._v3 is None:
            return None
        ours = self._v3.ours(logs)
        wanted = self._v3.words_to_load(ours)
        if not ours and not wanted:
            return None
        words = await self._v3.fetch(client, wanted, head.number) if wanted else {}
        return V3Changes(ours, words)

    async def _reload(
        self, client: RpcClient, head: Head
    ) -> tuple[dict[str, tuple[int, int]], bool, V3Changes | None]:
        log.info("re-reading all reserves at block %d (reorg or long gap)", head.number)
        self.stats.reloads += 1
        history = await client.call(*fee_history_call(head.number))
        self._fees.update(history)
        if self._reads is not None:
            extra = self._reads.calls(head.number)
            self._reads.apply(head.number, await client.batch(extra))
        reserves = await read_reserves(client, self._book.addresses, head.number)
        if self._v3 is None:
            return reserves, True, None
        return reserves, True, V3Changes(snapshot=await self._v3.read(client, head.number))

    # --- outages ---------------------------------------------------------------------
    def _failed(self, exc: Exception) -> None:
        if not self.stats.outage_since:
            self.stats.outage_since = time.time()
            log.error(
                "cannot follow the chain: %s; retrying (no new blocks, so nothing new is "
                "traded, until it answers again)",
                exc,
            )

    def _recovered(self) -> None:
        if self.stats.outage_since:
            down = time.time() - self.stats.outage_since
            self.stats.outage_since = 0.0
            last = self._last.number if self._last else -1
            log.warning("following the chain again at block %d after %.1f s", last, down)
