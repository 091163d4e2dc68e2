"""The `evm` venue: a real EVM chain behind the same interface as the simulated one.

It is the engine's `Venue` (tokens and pools, blocks with the pools they changed, gas
price, provider health, wallet) and the send gate's `Broadcaster` (sign, send, settle,
cancel). Start-up refuses to trade on the wrong chain, with an executor contract that
is missing or owned by someone else: a clear error, and nothing signed or sent.

Parts: `providers` (which endpoint, and its health), `pools` (the market from the
factories), `v3_book` (the V3 pools: PoolCreated logs, ticks, Swap/Mint/Burn), `blocks`
(heads to reserve changes), `fees` (the EIP-1559 bid), `sender`
(signing, nonces, receipts, cancels). This module wires them and answers the engine.

Blocks are applied to the market on the market's worker thread (`worker`, which the
pipeline also searches on): jobs there run one at a time, so a search the pipeline starts
between blocks (our own receipt arrived: the pools it touched are searched again at once)
never reads a pool a block is changing. One exception keeps a hand-off off the path from
a head to a send: a block of at most `INLINE_APPLY_MAX` reserve updates, not a full
re-read, is applied on the loop when the worker has no job queued or running (the loop
is the only submitter of jobs, so none can start during that synchronous step). On a
loaded host the trip to the worker and back cost milliseconds; the few assignments
cost microseconds, and a big step still never holds the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address

from engine.config import Config, EvmSection, MarketSection, chain_routes
from engine.market.evm import abi
from engine.market.evm.blocks import BlockFollower, ChainStep, Head, parse_head
from engine.market.evm.bundles import RelayAuth
from engine.market.evm.drops import DropWatch, EventSink
from engine.market.evm.endpoints import ProviderSet
from engine.market.evm.fees import FeeBid, FeePolicy, fee_history_call
from engine.market.evm.lenders import LenderCapacities
from engine.market.evm.nonces import NonceBook
from engine.market.evm.orders import EvmOrder, TxSigner
from engine.market.evm.pools import PoolBook, configured_market, load_pools
from engine.market.evm.routes import SubmissionRoutes
from engine.market.evm.rpc import Call, NodeRpcError, ProviderUnavailable, RpcClient
from engine.market.evm.sender import TxSender
from engine.market.evm.sent import MinedTx, SentLookup
from engine.market.evm.simulation import NextBlock, StateOverrides, head_call
from engine.market.evm.v3_book import V3Book, load_v3_pools
from engine.market.model import Block, BlockRef, Market
from engine.market.venue import BlockUpdate, Loan, Receipt, VenueError
from engine.market.worker import MarketWorker
from engine.providers.selector import ProviderStatus

log = logging.getLogger("arbctl.evm")

# ERC-7528's address for the chain's native asset: the wallet's ETH in wallet_balances().
NATIVE_ASSET = "0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE"
HEAD_MEMORY = 256  # heads whose arrival time is kept, for head-to-send timing
RPC_TIMEOUT_S = 10.0
WALLET_DELAY_S = 0.2
INLINE_APPLY_MAX = 256  # reserve updates a block may carry to be applied on the loop


class EvmVenueError(VenueError):
    """The venue cannot start safely; the message says why and what to check."""


class ChainMismatch(EvmVenueError):
    """The endpoint serves another chain than `evm.chain_id`."""


@dataclass(frozen=True, slots=True)
class Simulation:
    """An `eth_call` dry run of a transaction at the latest block."""

    returned: int | None  # the call's first return word (None: it reverted)
    gas_estimate: int
    reason: str  # the revert reason when it reverted


class EvmVenue:
    name = "evm"
    gas_token = NATIVE_ASSET  # gas is paid in the chain's own asset, not in WETH

    def __init__(
        self,
        evm: EvmSection,
        market: MarketSection,
        providers: ProviderSet,
        signer: TxSigner,
        clock: Callable[[], float] = time.time,
        routes: SubmissionRoutes | None = None,
    ) -> None:
        if not evm.executor:
            raise EvmVenueError("evm.executor is not set: the address of the ArbExecutor contract")
        self._evm = evm
        self.providers = providers
        self.executor = to_checksum_address(evm.executor)
        self.chain = f"evm-{evm.chain_id}"
        self.market: Market = configured_market(evm, market.native, market.quote)
        for role, symbol in (("native", market.native), ("quote", market.quote)):
            if symbol not in {t.symbol for t in self.market.tokens.values()}:
                raise EvmVenueError(f"market.{role} {symbol!r} is not one of evm.tokens")
        self.fees = FeePolicy.from_gwei(evm.max_priority_fee_gwei)
        self._poll = evm.poll_interval_ms / 1000
        self._heads: OrderedDict[int, float] = OrderedDict()
        self._sender = TxSender(
            providers,
            signer,
            evm.chain_id,
            NonceBook(0),
            self.fees,
            self._poll,
            self._heads.get,
            clock,
            routes,
            DropWatch(providers, evm.drop_after_s),
        )
        self.routes = self._sender.routes
        self._new_head = asyncio.Event()
        self._head_seen: Head | None = None
        self._overrides_refused: set[str] = set()  # endpoints without eth_call overrides
        self._book = PoolBook(self.market)
        self.lenders = LenderCapacities(self.executor, self.market.tokens)
        self._v3: V3Book | None = None
        self._follower: BlockFollower | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._steps: asyncio.Queue[ChainStep | None] = asyncio.Queue()
        self._balances: dict[str, int] = {}
        self._balances_block: int | None = None
        self._balances_at: BlockRef | None = None  # None: the block was not pinned down
        self._head: Head | None = None
        self._wallet_due = asyncio.Event()
        self._stopped = False
        self._failure: BaseException | None = None
        self.worker = MarketWorker("evm")

    @classmethod
    def from_config(
        cls, config: Config, signer: TxSigner, relay_auth: RelayAuth | None = None
    ) -> EvmVenue:
        """The venue the daemon runs when `market.venue = "evm"`; `relay_auth` signs bundle
        relay requests (engine/execution/reputation.py), when a bundle route is configured."""
        providers = ProviderSet.from_config(config.providers, RPC_TIMEOUT_S)
        providers.expect_chain(config.evm.chain_id)  # the config says which chain, not a node
        routes = SubmissionRoutes.build(chain_routes(config), providers, relay_auth, RPC_TIMEOUT_S)
        return cls(config.evm, config.market, providers, signer, routes=routes)

    @property
    def owner(self) -> str:
        return self._sender.owner

    @property
    def client(self) -> RpcClient:
        return self.providers.active.client

    @property
    def chain_id(self) -> int:
        return self._evm.chain_id

    @property
    def poll_interval(self) -> float:
        return self._poll

    # --- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        """Check chain and contract, load the market at one block, start following.

        A failure leaves nothing open (the daemon exits without calling `stop`)."""
        try:
            head = await self._check_chain()
            _, self._v3 = await asyncio.gather(
                load_pools(self.client, self._evm, self.market, head.number),
                load_v3_pools(self.client, self._evm, self.market, head.number),
            )
            self._book = PoolBook(self.market)
            await self._load_account(head)
            await self._load_lenders(head.number)
        except BaseException:
            await self.providers.close()
            raise
        self._head = head
        self.routes.on_head(head.number)
        self._remember(head)
        self.providers.active.health.record_head(head.number)
        self._steps.put_nowait(ChainStep(head, {}, True, self.providers.active.name))
        follower = BlockFollower(
            self.providers,
            self._book,
            self.fees,
            self._poll,
            self._on_head,
            self._steps.put_nowait,
            self.lenders,
            self._v3,
        )
        self._follower = follower
        self._spawn(follower.run(head), "evm-blocks")
        self._spawn(self._wallet_loop(), "evm-wallet")
        log.info(
            "evm venue on %s at block %d: %d pools, %d tokens, operator %s, executor %s",
            self.chain,
            head.number,
            len(self.market.pools),
            len(self.market.tokens),
            self.owner,
            self.executor,
        )

    async def stop(self) -> None:
        """Stop following; orders still waiting resolve as failed; `blocks()` ends."""
        self._stopped = True
        self._sender.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._follower is not None:
            await self._follower.close()
        await self.routes.close()
        await self.providers.close()
        self.worker.close()
        self._steps.put_nowait(None)

    # --- reading -----------------------------------------------------------------------
    async def blocks(self) -> AsyncIterator[BlockUpdate]:
        """New heads, each with the pools its Syncs changed. One consumer only.

        Steps that queued up while the consumer was busy are merged into one update for
        the newest head, so the search always runs on the freshest state.
        """
        while True:
            step = await self._steps.get()
            steps = [step]
            while not self._steps.empty():
                steps.append(self._steps.get_nowait())
            if any(s is None for s in steps):
                if self._failure is not None:
                    raise RuntimeError(
                        "the evm venue stopped following the chain"
                    ) from self._failure
                return
            taken = [s for s in steps if s is not None]
            if self._small(taken) and not self.worker.busy:
                yield self._apply(taken)  # no job can start meanwhile: see the docstring
            else:
                yield await self.worker.run(self._apply, taken)

    def gas_price(self) -> int:
        return self.fees.bid().expected_price

    def watch_lenders(self, loans: Sequence[Loan], tokens: Sequence[str] = ()) -> None:
        """Read these lenders' capacities of `tokens` (default: all) every block (before
        `start`)."""
        self.lenders.watch(loans, tokens)

    def lender_capacity(self, loan: Loan, token: str) -> int | None:
        """What `loan` can lend of `token` at the last block (engine/market/evm/lenders.py);
        None: no cap known (first-hop, not watched, or the read failed)."""
        return self.lenders.capacity(loan, token)

    def fee_bid(self) -> FeeBid:
        return self.fees.bid()

    def provider_health(self) -> list[ProviderStatus]:
        return self.providers.health()

    def wallet_balances(self) -> dict[str, int]:
        """Token address (and NATIVE_ASSET) -> base units, as read at block `head`."""
        return dict(self._balances)

    @property
    def head(self) -> int | None:
        """The block `wallet_balances()` was read at (refreshed shortly after each head)."""
        return self._balances_block

    @property
    def balances_at(self) -> BlockRef | None:
        """The very block `wallet_balances()` was read at, by hash: at a height a reorg
        refilled, the number is the same and the balances are not (the reconciliation
        waits for the reorg watch to have checked this block). None when the reading
        straddled a change of that block."""
        return self._balances_at

    @property
    def last_head(self) -> Head | None:
        """The newest head the follower took (start-up's, before its first)."""
        return self._follower.last if self._follower is not None else self._head

    def status(self) -> dict[str, Any]:
        """Extra detail for status screens: what the chain and our transactions are doing."""
        bid = self.fees.bid()
        stats = self._follower.stats if self._follower else None
        sends = sorted(self._sender.stats.head_to_send_ms)
        return {
            "chain": self.chain,
            "chain_id": self._evm.chain_id,
            "provider": self.providers.active.name,
            "head": self._head.number if self._head else None,
            "heads": stats.mode if stats else None,
            "avg_ws_latency_ms": round(stats.arrival_ms_ewma, 3) if stats else None,
            "chain_clock_offset_s": round(stats.clock_offset_s, 3) if stats else None,
            "head_fetch_ms": round(stats.fetch_ms_ewma, 3) if stats else None,
            "reserve_reloads": stats.reloads if stats else 0,
            "chain_unreadable_since": stats.outage_since if stats else 0.0,
            "base_fee": bid.base_fee,
            "priority_fee": bid.priority_fee,
            "max_fee": bid.max_fee,
            "gas_price": bid.expected_price,
            "pools": len(self.market.pools),
            "v3_pools": len(self._v3) if self._v3 else 0,
            "operator": self.owner,
            "executor": self.executor,
            "nonce": self._sender.nonces.next,
            "pending": self._sender.pending_count,
            "sent": self._sender.stats.sent,
            "refused": self._sender.stats.refused,
            "cancelled": self._sender.stats.cancelled,
            "rebroadcasts": self._sender.drops.stats.rebroadcasts,
            "rebroadcasts_refused": self._sender.drops.stats.refused_by_gate,
            "head_to_send_ms_p50": _percentile(sends, 0.5),
            "submission": self.routes.status(),
        }

    def submission_status(self) -> dict[str, Any]:
        """The active submission route and what is out on private routes (`status`)."""
        return self.routes.status()

    def head_to_send_samples(self) -> list[float]:
        """Milliseconds from a head's arrival to the send of an order found in it."""
        return list(self._sender.stats.head_to_send_ms)

    async def simulate(
        self, data: str, estimate: bool = True, state: StateOverrides | None = None
    ) -> Simulation:
        """Dry-run a call of the executor contract from the operator on the latest state,
        in the environment of the block after the engine's head (engine/market/evm/
        simulation.py),
        with `eth_estimateGas` in the same batch unless `estimate` is False. `state`:
        overrides for state the head does not show yet.

        Raises ProviderUnavailable when the provider cannot be asked.
        """
        call = {"from": self.owner, "to": self.executor, "data": data}
        head = self.last_head
        label = self.client.endpoint.label
        if head is None or label in self._overrides_refused:
            dry_run: Call = head_call(call, None, None, None)
        else:
            next_block = NextBlock.after(head, self.fees.bid().base_fee)
            dry_run = head_call(call, None, next_block, state)
        tag = dry_run[1][1]
        calls: list[Call] = [dry_run]
        if estimate:
            calls.append(("eth_estimateGas", [call, tag]))
        results: list[str] = []
        for result in await self._reader().batch(calls):
            if isinstance(result, NodeRpcError):
                if _overrides_refused(result) and len(dry_run[1]) > 2:
                    log.info("%s: no eth_call overrides (%s)", label, result.message)
                    self._overrides_refused.add(label)
                    return await self.simulate(data, estimate, state)
                return Simulation(None, 0, abi.revert_reason(result.data, result.message))
            results.append(result)
        gas = int(results[1], 16) if estimate else 0
        return Simulation(abi.word(results[0]), gas, "")

    def _reader(self) -> RpcClient:
        """Where a dry run goes: the heads' websocket while it is the active provider's
        (a shorter round trip than HTTP's, docs/bench-evm.md), else the active client."""
        follower = self._follower
        client = self.client
        hot = follower.websocket_client(client.endpoint) if follower is not None else None
        return hot or client

    async def simulate_plan(self, datas: Sequence[str]) -> list[Simulation] | None:
        """Dry-run calls of the executor contract one after another at the latest block,
        each on the state the ones before it leave (`eth_simulateV1`): a block's plan.

        None when the node does not offer `eth_simulateV1`; a call's `gas_estimate` is its
        gas used there. Raises ProviderUnavailable when the provider cannot be asked."""
        calls = [{"from": self.owner, "to": self.executor, "data": data} for data in datas]
        params = [{"blockStateCalls": [{"calls": calls}]}, "latest"]
        try:
            blocks = await self._reader().call("eth_simulateV1", params)
        except NodeRpcError as exc:
            log.info("eth_simulateV1 unavailable (%s): plans go one order at a time", exc)
            return None
        results = blocks[0]["calls"] if isinstance(blocks, list) and blocks else []
        return [_simulated(result) for result in results]

    # --- the send gate's Broadcaster -----------------------------------------------------
    def broadcast(self, payload: Any) -> Awaitable[Receipt]:
        """Sign now (same loop step as the gate's check); the awaitable sends and settles."""
        if not isinstance(payload, EvmOrder):
            raise TypeError(f"the evm venue broadcasts EvmOrder, not {type(payload).__name__}")
        return self._sender.submit(payload)

    async def cancel_pending(self) -> list[str]:
        """Kill switch: replace every unmined transaction (0-value self-transfer)."""
        return await self._sender.cancel_pending()

    def attach_gate(self, check: Callable[[], None]) -> None:
        """The send gate's check: the only way a dropped transaction is sent again."""
        self._sender.drops.attach(check=check)

    def attach_events(self, sink: EventSink) -> None:
        """Where re-broadcasts are published (the daemon's bus)."""
        self._sender.drops.attach(events=sink)

    @property
    def drops(self) -> DropWatch:
        return self._sender.drops

    def signed_raw(self, tx_hash: str) -> tuple[int, str] | None:
        """(nonce, signed bytes) of a recent transaction of ours (a re-broadcast after a
        reorg took its block)."""
        return self._sender.signed_raw(tx_hash)

    async def next_head(self) -> Head:
        """The next head the follower takes (the reorg watch checks on each)."""
        await self._new_head.wait()
        assert self._head_seen is not None
        return self._head_seen

    # --- start-up recovery -----------------------------------------------------------------
    def sent_lookup(self) -> SentLookup:
        """The operator's transactions as mined, read through the active provider."""
        return SentLookup(self.client, self.owner)

    async def mined_outcome(self, payload: EvmOrder, mined: MinedTx) -> Receipt:
        """A mined transaction of ours that no waiter settled, decoded as settled ones are."""
        return await self._sender.mined_outcome(
            payload, mined.nonce, mined.hash, mined.receipt, float(mined.timestamp)
        )

    # --- start-up checks -------------------------------------------------------------------
    async def _check_chain(self) -> Head:
        client = self.client
        calls: list[Call] = [
            ("eth_chainId", []),
            ("eth_getBlockByNumber", ["latest", False]),
            ("web3_clientVersion", []),
        ]
        try:
            chain_id, latest, version = await client.batch(calls)
        except ProviderUnavailable as exc:
            raise EvmVenueError(f"cannot reach the chain: {exc}") from None
        if isinstance(chain_id, NodeRpcError) or isinstance(latest, NodeRpcError):
            raise EvmVenueError(
                f"{client.endpoint.label} answered with an error: {chain_id or latest}"
            )
        actual = int(chain_id, 16)
        if actual != self._evm.chain_id:
            raise ChainMismatch(
                f"{client.endpoint.label} serves chain id {actual}, but evm.chain_id is "
                f"{self._evm.chain_id}: refusing to start; nothing was signed or sent"
            )
        if isinstance(version, str) and version:
            self.chain = f"{version.split('/')[0].lower()}-{actual}"
        await self._check_executor(client)
        return parse_head(latest)

    async def _check_executor(self, client: RpcClient) -> None:
        code, owner = await client.batch(
            [("eth_getCode", [self.executor, "latest"]), abi.eth_call(self.executor, abi.OWNER)]
        )
        if isinstance(code, NodeRpcError) or code in (None, "0x", "0x0"):
            raise EvmVenueError(
                f"evm.executor {self.executor} has no contract code on {self.chain}"
            )
        if isinstance(owner, NodeRpcError) or not isinstance(owner, str):
            raise EvmVenueError(f"evm.executor {self.executor} has no owner(): not an ArbExecutor?")
        found = to_checksum_address(abi.address_word(owner))
        if found != self.owner:
            raise EvmVenueError(
                f"evm.executor {self.executor} is owned by {found}, not by the signing key's "
                f"address {self.owner}: every execute would revert; check evm.key_file"
            )

    async def _load_lenders(self, block: int) -> None:
        """The Aave reserves' aTokens, then every watched capacity, at the start block."""
        await self.lenders.prepare(self.client, block)
        self.lenders.apply(block, await self.client.batch(self.lenders.calls(block)))

    async def _load_account(self, head: Head) -> None:
        calls = [
            ("eth_getTransactionCount", [self.owner, "pending"]),
            fee_history_call(head.number),
        ]
        count, history = await self.client.batch_strict(calls)
        self._sender.nonces.resync(int(count, 16), set())
        self.fees.update(history)
        await self._refresh_wallet(head.number)

    # --- following -------------------------------------------------------------------------
    def _on_head(self, head: Head) -> None:
        self._remember(head)
        self.routes.on_head(head.number)  # before the waiters look: bundles re-targeted
        self._sender.on_head()
        self._wallet_due.set()
        self._head_seen = head
        self._new_head.set()
        self._new_head = asyncio.Event()

    def _remember(self, head: Head) -> None:
        self._heads[head.number] = head.received_perf
        while len(self._heads) > HEAD_MEMORY:
            self._heads.popitem(last=False)

    @staticmethod
    def _small(steps: list[ChainStep]) -> bool:
        """Cheap enough to apply on the loop: no full re-read, few reserve updates."""
        if any(step.full for step in steps):
            return False
        return sum(len(step.reserves) for step in steps) <= INLINE_APPLY_MAX

    def _apply(self, steps: list[ChainStep]) -> BlockUpdate:
        changed: set[str] = set()
        for step in steps:
            changed |= self._book.apply(step.reserves)
            if step.v3 is not None and self._v3 is not None:
                changed |= self._v3.apply(step.v3)
            if step.full:
                changed |= set(self.market.pools)
        last = steps[-1]
        self._head = last.head
        block = Block(last.head.number, float(last.head.timestamp), last.head.base_fee)
        return BlockUpdate(block, frozenset(changed), last.head.received_at, last.provider)

    async def _wallet_loop(self) -> None:
        """Balances and the nonce count, refreshed a moment after heads: the moments right
        after a head belong to the trading path (logs, dry runs, sends), and heads that
        arrive meanwhile are folded into one refresh."""
        while True:
            await self._wallet_due.wait()
            await asyncio.sleep(WALLET_DELAY_S)
            self._wallet_due.clear()
            head = self._follower.last if self._follower else None
            with contextlib.suppress(ProviderUnavailable, NodeRpcError):
                await self._refresh_wallet(head.number if head else "latest")

    async def refresh_wallet(self) -> None:
        """Balances and nonces read now, at the latest block (before a session's starting
        balances are taken); a node that does not answer leaves the last reading."""
        with contextlib.suppress(ProviderUnavailable, NodeRpcError):
            await self._refresh_wallet("latest")

    async def _refresh_wallet(self, block: int | str) -> None:
        """One batch: the block's header, the balances, the header again. The node
        answers a batch in order, so the same header on both sides names the block every
        balance was read at (a reorg or, for "latest", a new block in between does not)."""
        tag = hex(block) if isinstance(block, int) else block
        tokens = list(self.market.tokens)
        header: Call = ("eth_getBlockByNumber", [tag, False])
        calls: list[Call] = [
            header,
            ("eth_getBalance", [self.owner, tag]),
            ("eth_getTransactionCount", [self.owner, "pending"]),
            *(abi.eth_call(t, abi.balance_of(self.owner), block) for t in tokens),
            header,
        ]
        taken = self._sender.nonces.taken
        first, native, count, *words, last = await self.client.batch_strict(calls)
        balances = {NATIVE_ASSET: int(native, 16)}
        balances.update({t: abi.word(raw) for t, raw in zip(tokens, words, strict=True)})
        self._balances = balances
        self._balances_block = block if isinstance(block, int) else _number(last)
        self._balances_at = _same_block(first, last)
        self._sender.resync_if_idle(int(count, 16), taken)

    def _spawn(self, coroutine: Any, name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        task.add_done_callback(self._task_done)
        self._tasks.append(task)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self._stopped:
            return
        self._failure = task.exception() or RuntimeError(f"{task.get_name()} ended")
        log.error("evm venue task %s failed: %r", task.get_name(), self._failure)
        self._steps.put_nowait(None)


def _number(header: Any) -> int | None:
    return int(header["number"], 16) if isinstance(header, dict) else None


def _same_block(first: Any, last: Any) -> BlockRef | None:
    """The block both headers name; None when they differ (or the node had none)."""
    if not isinstance(first, dict) or not isinstance(last, dict):
        return None
    if first.get("hash") != last.get("hash") or not first.get("hash"):
        return None
    return BlockRef(int(first["number"], 16), str(first["hash"]))


def _simulated(result: dict[str, Any]) -> Simulation:
    gas = int(result.get("gasUsed") or "0x0", 16)
    data = str(result.get("returnData") or "0x")
    if result.get("status") == "0x1":
        return Simulation(abi.word(data), gas, "")
    error = result.get("error") or {}
    message = str(error.get("message", "")) if isinstance(error, dict) else str(error)
    return Simulation(None, gas, abi.revert_reason(data, message) or message or "reverted")


def _overrides_refused(error: NodeRpcError) -> bool:
    """The node does not take eth_call's override parameters (not a revert)."""
    text = error.message.lower()
    return error.code in (-32602, -32601) or "invalid params" in text or "too many" in text


def _percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)
