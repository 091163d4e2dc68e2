"""The evm venue and executor on the devnet: trades, reverts, cancels, outages.

Each test drives the real parts in-process (venue, search, executor, send gate,
and where it matters the pipeline and a SQLite ledger) against the session's anvil,
inside `clean_chain` (snapshot before, revert after). Balances are read straight from
the chain with the devnet's own JSON-RPC helpers, never through the code under test.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from engine.bus import EventBus
from engine.config import Config, load
from engine.daemon import build_executor, build_search, build_venue
from engine.devnet import anvil
from engine.devnet.batch_call import Send, send_many
from engine.devnet.market_spec import DEADLINE
from engine.devnet.world import World
from engine.execution.evm import EvmExecutor, SimulationFailed
from engine.execution.gate import GateClosed, SendGate
from engine.ledger.records import TradeRecord
from engine.ledger.sqlite import SqliteLedger
from engine.ledger.writer import LedgerWriter
from engine.lifecycle import Actor, Lifecycle
from engine.market.evm.abi import calldata
from engine.market.evm.venue import NATIVE_ASSET, ChainMismatch, EvmVenue, EvmVenueError
from engine.market.venue import Loan
from engine.pipeline import TradingPipeline
from engine.strategy.opportunity import Opportunity
from engine.strategy.search import ArbitrageSearch

pytestmark = pytest.mark.devnet

OPERATOR = Actor(uid=1000, client="test")
SWAP = "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)"
GWEI = 10**9
WAIT_S = 30.0


# --- the chain, read and moved without the code under test ---------------------------------
def chain_balances(world: World, holder: str) -> dict[str, int]:
    calls: list[tuple[str, list[Any]]] = [("eth_getBalance", [holder, "latest"])]
    data = calldata("balanceOf(address)", (holder,))
    calls += [("eth_call", [{"to": t.address, "data": data}, "latest"]) for t in world.tokens]
    results = anvil.rpc_batch(world.rpc_url, calls)
    found = {NATIVE_ASSET: int(results[0], 16)}
    found.update({t.address: int(r, 16) for t, r in zip(world.tokens, results[1:], strict=True)})
    return found


def change(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in after if after[k] != before[k]}


def booked(trades: list[TradeRecord]) -> dict[str, int]:
    """What the ledger says the wallet gained, per token (gas in the native asset)."""
    total: Counter[str] = Counter()
    for trade in trades:
        total[trade.token] += trade.profit_token
        total[NATIVE_ASSET] -= trade.gas_cost_wei
    return {k: v for k, v in total.items() if v}


def head(world: World) -> int:
    return int(anvil.rpc(world.rpc_url, "eth_blockNumber"), 16)


def nonce(world: World, address: str, tag: str = "latest") -> int:
    return int(anvil.rpc(world.rpc_url, "eth_getTransactionCount", [address, tag]), 16)


def txpool_pending(world: World) -> int:
    return int(anvil.rpc(world.rpc_url, "txpool_status")["pending"], 16)


def swap(world: World, dex: str, sell: str, buy: str, amount: int) -> int:
    """A noise trade by the deployer through a router; returns the block it landed in."""
    path = [world.token(sell).address, world.token(buy).address]
    send = Send(
        world.deployer,
        world.dex(dex).router,
        SWAP,
        (amount, 0, path, world.deployer, DEADLINE),
        gas=300_000,
    )
    assert send_many(world.rpc_url, [send]) == [True]
    return head(world)


def front_run(world: World, opportunity: Opportunity) -> None:
    """A rival, tipping 100 gwei, sells 5 % of the reserve into our first pool first."""
    hop = opportunity.route[0]
    pair = next(p for p in world.pairs if p.address == hop.pool)
    reserves = anvil.rpc(
        world.rpc_url,
        "eth_call",
        [{"to": pair.address, "data": calldata("getReserves()", ())}, "latest"],
    )
    index = 0 if hop.token_in == pair.token0 else 1
    reserve_in = int(reserves[2 + 64 * index : 66 + 64 * index], 16)
    args = (reserve_in // 20, 0, [hop.token_in, hop.token_out], world.deployer, DEADLINE)
    tx = {
        "from": world.deployer,
        "to": world.dex(pair.dex).router,
        "data": calldata(SWAP, args),
        "gas": hex(300_000),
        "maxFeePerGas": hex(200 * GWEI),
        "maxPriorityFeePerGas": hex(100 * GWEI),
    }
    anvil.rpc(world.rpc_url, "eth_sendTransaction", [tx])


async def until(predicate: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    """Wait for a condition (no timing is asserted: the timeout only ends a hung test)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


# --- the engine's parts ----------------------------------------------------------------------
def v2_config(world: World) -> Config:
    """The devnet's generated config on its V2 pairs only: no V3 factory and no lenders,
    so a rig's executor borrows from each route's first pair (`execute`), the path these
    V2 tests are about. (The generated config itself trades the V3 pools too, borrowing
    from the devnet's lenders: tests/devnet/test_devnet_engine.py.)"""
    config = load(world.config_file)
    config.evm.v3_factories = []
    config.evm.v3_pools = []
    config.providers = [p for p in config.providers if p.kind != "liquidity"]
    return config


@dataclass
class Rig:
    config: Config
    venue: EvmVenue
    search: ArbitrageSearch
    executor: EvmExecutor
    gate: SendGate
    lifecycle: Lifecycle


async def make_rig(config: Config, state: Path, lenders: Sequence[Loan] = ()) -> Rig:
    """The venue (reading `lenders`' capacities every block, as the daemon wires it),
    started, and what trades on it."""
    venue = build_venue(config)
    assert isinstance(venue, EvmVenue)
    venue.watch_lenders(lenders)
    await venue.start()
    lifecycle = Lifecycle(state, EventBus())
    lifecycle.started()
    gate = SendGate(lifecycle, venue)
    executor = build_executor(config, gate, venue)
    assert isinstance(executor, EvmExecutor)
    return Rig(config, venue, build_search(config, venue), executor, gate, lifecycle)


@pytest.fixture
async def rig(world: World, clean_chain: None, tmp_path: Path) -> AsyncIterator[Rig]:
    made = await make_rig(v2_config(world), tmp_path)
    yield made
    await made.venue.stop()


@pytest.fixture
def manual_mining(world: World, clean_chain: None) -> Iterator[None]:
    """Automine off: transactions wait in the pool until the test mines a block."""
    anvil.set_automine(world.rpc_url, False)
    try:
        yield
    finally:
        anvil.set_automine(world.rpc_url, True)


async def first_opportunities(rig: Rig) -> list[Opportunity]:
    """The start-up block (every pool is news): the devnet's built-in dislocations."""
    update = await anext(rig.venue.blocks())
    return rig.search.on_block(update.block, update.changed_pools, rig.venue.gas_price())


def disjoint(opportunities: list[Opportunity], count: int) -> list[Opportunity]:
    chosen: list[Opportunity] = []
    used: set[str] = set()
    for opportunity in opportunities:
        pools = {hop.pool for hop in opportunity.route}
        if not pools & used:
            chosen.append(opportunity)
            used |= pools
    assert len(chosen) >= count, "the devnet should offer independent opportunities"
    return chosen[:count]


@dataclass
class Engine:
    """The pipeline and a SQLite ledger around a rig, running as tasks."""

    pipeline: TradingPipeline
    store: SqliteLedger
    writer: LedgerWriter
    tasks: list[asyncio.Task[None]]

    async def settled(self, world: World, venue: EvmVenue, after: int = 0) -> None:
        """Nothing in flight and the engine has seen the chain's head: no new block will
        come (automine mines only transactions), so no further trade can happen."""

        def quiet() -> bool:
            seen = self.pipeline.last_update
            status = self.pipeline.market_status()
            return (
                seen is not None
                and seen.block.number >= max(after, head(world))
                and status["in_flight"] == 0
                and venue.status()["pending"] == 0
            )

        await until(quiet, "the engine to settle")

    async def trades(self) -> list[TradeRecord]:
        assert await self.writer.flush()
        return await self.store.list_trades(limit=10_000)


async def start_engine(rig: Rig, path: Path) -> Engine:
    store = SqliteLedger(path / "ledger.sqlite3")
    await store.open()
    writer = LedgerWriter(store)
    pipeline = TradingPipeline(
        rig.venue, rig.search, rig.executor, rig.lifecycle, EventBus(), writer
    )
    tasks = [asyncio.create_task(pipeline.run()), asyncio.create_task(writer.run())]
    return Engine(pipeline, store, writer, tasks)


async def stop_engine(engine: Engine) -> None:
    await engine.pipeline.drain(10.0)
    for task in engine.tasks:
        task.cancel()
    await asyncio.gather(*engine.tasks, return_exceptions=True)
    await engine.store.close()


@pytest.fixture
async def engine(rig: Rig, tmp_path: Path) -> AsyncIterator[Engine]:
    running = await start_engine(rig, tmp_path)
    yield running
    await stop_engine(running)


# --- behaviour -------------------------------------------------------------------------------
async def test_a_dislocation_is_traded_in_the_next_block_and_booked_to_the_wei(
    world: World, rig: Rig, engine: Engine
) -> None:
    start = chain_balances(world, world.operator)
    await engine.settled(world, rig.venue)  # the devnet's built-in dislocations go first

    block = swap(world, "uniswap", "DAI", "WETH", 30_000 * 10**18)
    await engine.settled(world, rig.venue, after=block)

    trades = await engine.trades()
    from_swap = [t for t in trades if t.opportunity_id.startswith(f"{block}-")]
    assert from_swap and all(t.status == "success" for t in from_swap)
    assert min(t.block_number for t in from_swap) == block + 1
    assert change(start, chain_balances(world, world.operator)) == booked(trades)


async def test_a_rival_mined_first_makes_ours_revert_and_we_book_its_gas(
    world: World, rig: Rig, manual_mining: None
) -> None:
    opportunity = (await first_opportunities(rig))[0]
    start = chain_balances(world, world.operator)

    front_run(world, opportunity)
    ours = asyncio.create_task(rig.executor.execute(opportunity))
    await until(lambda: txpool_pending(world) == 2, "both transactions in the pool")
    anvil.mine(world.rpc_url)
    trade = await asyncio.wait_for(ours, WAIT_S)

    assert trade.status == "reverted"
    assert trade.revert_reason == "ArbExecutor: profit below minimum"
    assert trade.gas_used > 0 and trade.gas_cost_wei == trade.gas_used * trade.gas_price
    assert trade.profit_token == 0
    assert change(start, chain_balances(world, world.operator)) == {
        NATIVE_ASSET: -trade.gas_cost_wei
    }


async def test_kill_replaces_every_pending_transaction_so_none_is_mined(
    world: World, rig: Rig, manual_mining: None
) -> None:
    opportunities = disjoint(await first_opportunities(rig), 2)
    first_nonce = nonce(world, world.operator)
    start = chain_balances(world, world.operator)
    sends = [asyncio.create_task(rig.executor.execute(o)) for o in opportunities]
    await until(lambda: txpool_pending(world) == 2, "our two transactions in the pool")

    rig.lifecycle.enter_halt("test: kill switch", OPERATOR)
    originals = await rig.gate.cancel_in_flight()
    anvil.mine(world.rpc_url)
    trades = await asyncio.wait_for(asyncio.gather(*sends), WAIT_S)

    assert len(originals) == 2
    for tx_hash in originals:
        assert anvil.rpc(world.rpc_url, "eth_getTransactionReceipt", [tx_hash]) is None
    assert nonce(world, world.operator) == first_nonce + 2
    assert all(
        t.status == "failed" and "cancelled by kill switch" in t.revert_reason for t in trades
    )
    assert change(start, chain_balances(world, world.operator)) == booked(trades)


async def test_after_a_kill_nothing_is_signed_or_sent(world: World, rig: Rig) -> None:
    opportunity = (await first_opportunities(rig))[0]
    first_nonce = nonce(world, world.operator, "pending")

    rig.lifecycle.enter_halt("test: kill switch", OPERATOR)
    with pytest.raises(GateClosed):
        await rig.executor.execute(opportunity)

    assert rig.venue.status()["sent"] == 0
    assert nonce(world, world.operator, "pending") == first_nonce


async def test_a_dry_run_that_reverts_is_not_sent(world: World, rig: Rig) -> None:
    opportunity = (await first_opportunities(rig))[0]
    # Gas dearer than the whole input: the contract's profit floor cannot be met.
    unpayable = replace(opportunity, gas_cost=opportunity.amount_in)
    first_nonce = nonce(world, world.operator, "pending")

    with pytest.raises(SimulationFailed, match="would revert: ArbExecutor: profit below minimum"):
        await rig.executor.execute(unpayable)

    assert nonce(world, world.operator, "pending") == first_nonce
    assert rig.venue.status()["sent"] == 0


async def test_a_wrong_chain_id_is_refused_before_anything_is_sent(world: World) -> None:
    config = v2_config(world)
    config.evm.chain_id = 1
    venue = build_venue(config)
    first_nonce = nonce(world, world.operator, "pending")

    with pytest.raises(ChainMismatch, match=r"serves chain id 31337, but evm\.chain_id is 1"):
        await venue.start()

    await venue.stop()
    assert nonce(world, world.operator, "pending") == first_nonce


async def test_an_endpoint_that_does_not_answer_is_a_clear_error_at_start(world: World) -> None:
    config = v2_config(world)
    port = anvil.free_port()
    config.providers[0].url = f"http://127.0.0.1:{port}"
    venue = build_venue(config)

    with pytest.raises(EvmVenueError, match=rf"cannot reach the chain: provider anvil .*:{port}"):
        await venue.start()
    await venue.stop()


async def test_losing_the_endpoint_mid_run_is_reported_without_a_crash_or_a_send(
    world: World, clean_chain: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = await TcpProxy.start(anvil_port(world))
    config = v2_config(world)
    config.providers[0].url = proxy.url
    rig = await make_rig(config, tmp_path)
    engine = await start_engine(rig, tmp_path)
    try:
        await engine.settled(world, rig.venue)
        sent, first_nonce = rig.venue.status()["sent"], nonce(world, world.operator, "pending")

        await proxy.close()
        swap(world, "uniswap", "DAI", "WETH", 30_000 * 10**18)  # a dislocation it cannot see
        await until(lambda: rig.venue.provider_health()[0].status == "down", "provider down")

        assert not any(task.done() for task in engine.tasks)
        assert rig.venue.status()["sent"] == sent
        assert nonce(world, world.operator, "pending") == first_nonce
        assert "cannot follow the chain: provider anvil" in caplog.text
    finally:
        await stop_engine(engine)
        await rig.venue.stop()
        await proxy.close()


def anvil_port(world: World) -> int:
    return int(world.rpc_url.rsplit(":", 1)[1])


class TcpProxy:
    """127.0.0.1:<port> → anvil, byte for byte (HTTP and websocket); `close` drops every
    connection and refuses new ones: a real network failure, no mocks."""

    def __init__(self, target: int) -> None:
        self._target = target
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[Any]] = set()
        self.port = 0

    @classmethod
    async def start(cls, target: int) -> TcpProxy:
        proxy = cls(target)
        proxy._server = await asyncio.start_server(proxy._serve, "127.0.0.1", 0)
        proxy.port = proxy._server.sockets[0].getsockname()[1]
        return proxy

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()
        if self._handlers:
            await asyncio.wait(set(self._handlers), timeout=5.0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)
        except OSError:
            writer.close()
            return
        finally:
            handler.add_done_callback(self._handlers.discard)
        self._writers |= {writer, up_writer}
        await asyncio.gather(
            _pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True
        )


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


# --- where a block is applied ------------------------------------------------------------------
def _applied_on(venue: EvmVenue) -> list[tuple[str, bool]]:
    """Record, for each block the venue applies, the thread and whether it was full."""
    seen: list[tuple[str, bool]] = []
    apply = venue._apply

    def recording(steps: list[Any]) -> Any:
        seen.append((threading.current_thread().name, any(s.full for s in steps)))
        return apply(steps)

    venue._apply = recording  # type: ignore[method-assign]
    return seen


async def test_a_small_block_is_applied_on_the_loop_and_a_full_one_on_the_worker(
    world: World, rig: Rig
) -> None:
    """A head's few Syncs skip the trip to the worker (it is on the path to a send); the
    start-up block re-reads every pool and goes to the worker, off the loop."""
    seen = _applied_on(rig.venue)
    blocks = rig.venue.blocks()
    first = await anext(blocks)
    assert seen == [(seen[0][0], True)] and seen[0][0] != threading.current_thread().name
    block = swap(world, "uniswap", "DAI", "WETH", 1_000 * 10**18)
    update = await anext(blocks)
    while update.block.number < block:
        update = await anext(blocks)
    assert update.changed_pools and first.block.number < block
    assert seen[-1] == (threading.current_thread().name, False)


async def test_a_small_block_waits_for_the_worker_when_a_job_is_running(
    world: World, rig: Rig
) -> None:
    """The invariant: a search never reads pools being changed. While a job runs on the
    worker, even a one-Sync block is applied there, after it."""
    seen = _applied_on(rig.venue)
    blocks = rig.venue.blocks()
    await anext(blocks)
    release = threading.Event()
    job = asyncio.create_task(rig.venue.worker.run(release.wait, 30))
    await until(lambda: rig.venue.worker.busy, "the worker to be busy")
    block = swap(world, "uniswap", "DAI", "WETH", 1_000 * 10**18)
    pending = asyncio.ensure_future(anext(blocks))
    await until(lambda: rig.venue.worker._jobs >= 2, "the block queued behind the job")
    assert not pending.done()
    release.set()
    update = await pending
    while update.block.number < block:
        update = await anext(blocks)
    await job
    assert seen[-1][0] != threading.current_thread().name


# --- how a head's logs are fetched ---------------------------------------------------------------
def _http_methods(venue: EvmVenue) -> list[str]:
    """Record every method the active provider's HTTP client sends from now on."""
    transport = venue.providers.active.client.transport
    seen: list[str] = []
    exchange = transport.exchange

    async def recording(body: Any, ids: Any, timeout: float) -> Any:
        seen.extend(item["method"] for item in (body if isinstance(body, list) else [body]))
        return await exchange(body, ids, timeout)

    transport.exchange = recording
    return seen


def _chain_reserves(world: World, pool: str) -> tuple[int, int]:
    raw = anvil.rpc(
        world.rpc_url, "eth_call", [{"to": pool, "data": calldata("getReserves()", ())}, "latest"]
    )
    return int(raw[2:66], 16), int(raw[66:130], 16)


async def test_a_heads_logs_and_fees_come_over_the_websocket_that_brought_it(
    world: World, rig: Rig
) -> None:
    """No HTTP round trip between a websocket head and its block's reserves: the block's
    eth_getLogs and eth_feeHistory go over the same socket, and the book equals the chain."""
    blocks = rig.venue.blocks()
    await anext(blocks)
    await until(lambda: rig.venue.status()["heads"] == "ws", "the newHeads subscription")
    over_http = _http_methods(rig.venue)
    block = swap(world, "uniswap", "DAI", "WETH", 1_000 * 10**18)
    update = await anext(blocks)
    while update.block.number < block:
        update = await anext(blocks)
    assert "eth_getLogs" not in over_http and "eth_feeHistory" not in over_http
    assert update.changed_pools
    for address in update.changed_pools:
        pool = rig.venue.market.pools[address]
        assert (pool.reserve0, pool.reserve1) == _chain_reserves(world, address)


async def test_a_dry_run_goes_over_the_heads_websocket(world: World, rig: Rig) -> None:
    """The dry run is on the path to a send too: while heads come by websocket from the
    active provider, its eth_call goes over that socket, not over HTTP."""
    await anext(rig.venue.blocks())
    await until(lambda: rig.venue.status()["heads"] == "ws", "the newHeads subscription")
    over_http = _http_methods(rig.venue)
    result = await rig.venue.simulate(calldata("owner()", ()), estimate=False)
    assert result.returned is not None  # the executor answered, through the socket
    assert "eth_call" not in over_http
