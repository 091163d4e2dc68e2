"""V3 pools in the evm venue and through the executor, on the devnet's real contracts.

The venue is configured with the devnet's V3 factory (`evm.v3_factories`), so its
market holds the V3 pools beside the V2 pairs; the chain is moved through the real
SwapRouter and read straight back with the devnet's JSON-RPC helpers, never through the
code under test. Orders with a V3 hop borrow from the devnet's Balancer vault (a V2
flash swap cannot pay a V3 pool): the lender the approval would choose, wired as the
daemon wires it. Every test runs inside `clean_chain`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from engine.config import Config, V3FactoryEntry, load
from engine.devnet import anvil
from engine.devnet.batch_call import Send, send_many
from engine.devnet.market_spec import DEADLINE
from engine.devnet.world import V3PoolRecord, World
from engine.execution.evm import EvmExecutor, SimulationFailed
from engine.lenders.loans import loan_of
from engine.market.evm.abi import SYNC_TOPIC, calldata
from engine.market.evm.rpc import RpcClient
from engine.market.evm.v3_pools import BURN_TOPIC, MINT_TOPIC, SWAP_TOPIC
from engine.market.evm.venue import EvmVenue
from engine.market.model import Market
from engine.market.v3 import pool as v3pool
from engine.market.venue import BlockUpdate
from engine.strategy import v3_hops
from engine.strategy.opportunity import Hop, Opportunity
from engine.strategy.search import ArbitrageSearch
from tests.devnet.test_evm_trading import (
    Engine,
    Rig,
    booked,
    chain_balances,
    change,
    head,
    make_rig,
    start_engine,
    stop_engine,
    swap,
    txpool_pending,
    until,
)

pytestmark = pytest.mark.devnet

V3_SWAP = "exactInputSingle((address,address,uint24,address,uint256,uint256,uint256,uint160))"
WAIT_S = 30.0


def v3_config(world: World) -> Config:
    """The devnet's generated config, which lists its V3 factory (and lenders, which these
    tests do not read: they wire the executor's loans directly, or none)."""
    config = load(world.config_file)
    assert world.v3 is not None
    assert config.evm.v3_factories == [V3FactoryEntry(world.v3.name, world.v3.factory)]
    return config


def v3_pool(world: World, a: str, b: str, fee: int) -> V3PoolRecord:
    wanted = {world.token(a).address, world.token(b).address}
    return next(p for p in world.v3_pools if {p.token0, p.token1} == wanted and p.fee_pips == fee)


def v3_swap(world: World, pool: V3PoolRecord, sell: str, amount: int) -> int:
    """A trade by the deployer through the SwapRouter; the block it landed in."""
    assert world.v3 is not None
    token_in = world.token(sell).address
    token_out = pool.token1 if token_in == pool.token0 else pool.token0
    if token_in == world.weth:  # the deployer holds only the WETH its liquidity took
        deposit = {"from": world.deployer, "to": world.weth, "value": hex(amount)}
        anvil.rpc(world.rpc_url, "eth_sendTransaction", [{**deposit, "data": "0xd0e30db0"}])
    approve = Send(world.deployer, token_in, "approve(address,uint256)", (world.v3.router, 2**255))
    params = (token_in, token_out, pool.fee_pips, world.deployer, DEADLINE, amount, 0, 0)
    swap = Send(world.deployer, world.v3.router, V3_SWAP, (params,), gas=8_000_000)
    assert send_many(world.rpc_url, [approve, swap]) == [True, True]
    return head(world)


def chain_state(world: World, pool: str) -> tuple[int, int, int, int, int]:
    """(sqrtPriceX96, tick, liquidity, balance0, balance1) as the chain has them now."""
    record = next(p for p in world.v3_pools if p.address == pool)
    calls: list[tuple[str, list[Any]]] = [
        ("eth_call", [{"to": pool, "data": calldata("slot0()", ())}, "latest"]),
        ("eth_call", [{"to": pool, "data": calldata("liquidity()", ())}, "latest"]),
    ]
    balance = calldata("balanceOf(address)", (pool,))
    calls += [
        ("eth_call", [{"to": t, "data": balance}, "latest"]) for t in (record.token0, record.token1)
    ]
    slot0, liquidity, b0, b1 = anvil.rpc_batch(world.rpc_url, calls)
    tick = int(slot0[66:130], 16)
    tick = tick - (1 << 256) if tick >> 255 else tick
    return int(slot0[2:66], 16), tick, int(liquidity, 16), int(b0, 16), int(b1, 16)


def venue_state(venue: EvmVenue, pool: str) -> tuple[int, int, int, int, int]:
    found = venue.market.pools[pool]
    assert found.v3 is not None and found.kind == "v3"
    state = found.v3
    return state.sqrt_price_x96, state.tick, state.liquidity, found.reserve0, found.reserve1


async def next_update(venue: EvmVenue, at_least: int) -> BlockUpdate:
    """Updates until one for block `at_least` or later (the start-up step comes first)."""
    changed: set[str] = set()
    async with asyncio.timeout(WAIT_S):
        async for update in venue.blocks():
            changed |= update.changed_pools
            if update.block.number >= at_least:
                return dataclasses.replace(update, changed_pools=frozenset(changed))
    raise AssertionError("the venue stopped")


@pytest.fixture
async def venue(world: World, clean_chain: None, tmp_path: Path) -> AsyncIterator[EvmVenue]:
    made = await make_rig(v3_config(world), tmp_path)
    yield made.venue
    await made.venue.stop()


# --- state -----------------------------------------------------------------------------------
async def test_every_v3_pool_of_the_factory_is_in_the_market_as_the_chain_has_it(
    world: World, venue: EvmVenue
) -> None:
    v3 = {a: p for a, p in venue.market.pools.items() if p.kind == "v3"}
    assert set(v3) == {p.address for p in world.v3_pools}
    for record in world.v3_pools:
        pool = v3[record.address]
        assert pool.fee_bps == record.fee_pips // 100 and pool.fee_pips == record.fee_pips
        assert venue_state(venue, record.address) == chain_state(world, record.address)
    assert venue.status()["v3_pools"] == len(world.v3_pools)


async def test_a_v3_swap_is_in_the_market_at_the_next_block_with_the_chain_s_exact_state(
    world: World, venue: EvmVenue
) -> None:
    pool = v3_pool(world, "WETH", "USDC", 500)
    block = v3_swap(world, pool, "WETH", 300 * 10**18)  # crosses the narrow ranges
    update = await next_update(venue, block)
    assert pool.address in update.changed_pools
    assert venue_state(venue, pool.address) == chain_state(world, pool.address)
    state = venue.market.pools[pool.address].v3
    assert state is not None
    quoted = v3pool.amount_out(state.copy(), True, 10**15)
    assert quoted > 0, "the state read from logs prices a swap"


async def test_a_reorg_re_reads_the_v3_state_from_the_new_chain(
    world: World, venue: EvmVenue
) -> None:
    pool = v3_pool(world, "WETH", "USDC", 3000)
    fork = anvil.snapshot(world.rpc_url)
    block = v3_swap(world, pool, "WETH", 200 * 10**18)
    await next_update(venue, block)
    assert venue_state(venue, pool.address) == chain_state(world, pool.address)

    anvil.revert(world.rpc_url, fork)  # the swap's block is gone...
    other = v3_swap(world, pool, "USDC", 300_000 * 10**6)  # ...and another took its height
    other = max(other, v3_swap(world, pool, "USDC", 1_000 * 10**6))
    reloads = venue.status()["reserve_reloads"]
    update = await next_update(venue, other)
    assert venue.status()["reserve_reloads"] > reloads
    assert pool.address in update.changed_pools
    assert venue_state(venue, pool.address) == chain_state(world, pool.address)


async def test_words_beyond_the_radius_are_loaded_when_the_price_moves_into_them(
    world: World, clean_chain: None, tmp_path: Path
) -> None:
    config = v3_config(world)
    config.evm.v3_word_radius = 0  # only the price's own bitmap word at start
    rig = await make_rig(config, tmp_path)
    try:
        pool = v3_pool(world, "WETH", "USDC", 500)
        state = rig.venue.market.pools[pool.address].v3
        assert state is not None and state.ticks.words is not None
        start_word = (state.tick // pool.spacing) >> 8
        assert state.ticks.words == (start_word, start_word)
        block = v3_swap(world, pool, "WETH", 1_000 * 10**18)  # into the next word down
        await next_update(rig.venue, block)
        word = (state.tick // pool.spacing) >> 8
        assert word < start_word, "the swap should leave the loaded word"
        assert state.ticks.words == (word, start_word)
        assert venue_state(rig.venue, pool.address) == chain_state(world, pool.address)
        # what was loaded is the chain's: a swap priced on it is what the quoter says
        loaded = state.copy()
        loaded.ticks.words = None
        assert v3pool.amount_out(state.copy(), False, 10**9) == v3pool.amount_out(
            loaded, False, 10**9
        )
    finally:
        await rig.venue.stop()


async def test_a_word_an_exact_walk_reached_is_loaded_with_the_next_block_on_demand(
    world: World, clean_chain: None, tmp_path: Path
) -> None:
    config = v3_config(world)
    config.evm.v3_word_radius = 0  # only the price's own bitmap word at start
    rig = await make_rig(config, tmp_path)
    try:
        record = v3_pool(world, "WETH", "USDC", 500)
        pool = rig.venue.market.pools[record.address]
        state = pool.v3
        assert state is not None
        word = (state.tick // record.spacing) >> 8
        assert state.ticks.words == (word, word)
        sell_weth = record.token0 == world.weth
        leg = v3_hops.V3Leg(state, sell_weth, pool.reserves_for(world.weth)[1])
        assert v3_hops.leg_output(leg, 1_000 * 10**18) == 0, "not priced past the word"

        block = swap(world, "uniswap", "DAI", "WETH", 10**18)  # no log of this pool
        await next_update(rig.venue, block)

        assert state.ticks.words == ((word - 1, word) if sell_weth else (word, word + 1))
        assert venue_state(rig.venue, record.address) == chain_state(world, record.address)
        every = state.copy()
        every.ticks.words = None  # what was loaded is the chain's: priced alike where known
        assert v3pool.amount_out(state.copy(), sell_weth, 10**17) == v3pool.amount_out(
            every, sell_weth, 10**17
        )
    finally:
        await rig.venue.stop()


# --- trading ---------------------------------------------------------------------------------
def balancer_rig(rig: Rig, world: World) -> Rig:
    loan = loan_of(f"balancer-v2://{world.lender('balancer-v2').address}?fee_bps=0")
    executor = EvmExecutor(rig.gate, rig.venue, loans=lambda _opportunity_id: loan)
    return dataclasses.replace(rig, executor=executor)


@pytest.fixture
async def running(
    world: World, clean_chain: None, tmp_path: Path
) -> AsyncIterator[tuple[Rig, Engine]]:
    rig = balancer_rig(await make_rig(v3_config(world), tmp_path), world)
    engine = await start_engine(rig, tmp_path)
    yield rig, engine
    await stop_engine(engine)
    await rig.venue.stop()


def kinds(trade: Any) -> set[str]:
    return {str(hop.get("kind")) for hop in trade.route}


async def test_a_dislocated_v3_pool_is_traded_in_the_next_block_and_booked_to_the_wei(
    world: World, running: tuple[Rig, Engine]
) -> None:
    rig, engine = running
    start = chain_balances(world, world.operator)
    await engine.settled(world, rig.venue)

    pool = v3_pool(world, "WETH", "USDC", 500)
    block = v3_swap(world, pool, "WETH", 400 * 10**18)
    await engine.settled(world, rig.venue, after=block)

    trades = await engine.trades()
    ours = [t for t in trades if t.opportunity_id.startswith(f"{block}-")]
    assert ours, [t.opportunity_id for t in trades]
    assert all(t.status == "success" for t in ours), [(t.status, t.revert_reason) for t in ours]
    assert any(pool.address in {h["pool"] for h in t.route} for t in ours)
    assert min(t.block_number for t in ours) == block + 1
    assert any("v3" in kinds(t) for t in ours)
    assert all(h.get("fee_pips") for t in ours for h in t.route)
    assert change(start, chain_balances(world, world.operator)) == booked(trades)


async def test_a_v2_v3_dislocation_is_traded_in_the_next_block_and_booked_to_the_wei(
    world: World, running: tuple[Rig, Engine]
) -> None:
    rig, engine = running
    start = chain_balances(world, world.operator)
    await engine.settled(world, rig.venue)

    pool = v3_pool(world, "WBTC", "WETH", 3000)
    block = v3_swap(world, pool, "WETH", 300 * 10**18)  # through its narrow ranges
    await engine.settled(world, rig.venue, after=block)

    trades = await engine.trades()
    ours = [t for t in trades if t.opportunity_id.startswith(f"{block}-")]
    mixed = [t for t in ours if kinds(t) == {"v2", "v3"}]
    assert mixed, [(t.opportunity_id, kinds(t)) for t in ours]
    assert all(t.status == "success" for t in mixed), [t.revert_reason for t in mixed]
    assert min(t.block_number for t in mixed) == block + 1
    assert change(start, chain_balances(world, world.operator)) == booked(trades)


def v3_cycle(world: World, venue: EvmVenue, amount: int) -> Opportunity:
    """USDC→WETH on the 0.05 % V3 pool, WETH→USDC on uniswap V2: an opportunity by
    hand, priced with the venue's own state (exact V3 swap, then the V2 pair)."""
    usdc, weth = world.token("USDC").address, world.weth
    v3 = v3_pool(world, "WETH", "USDC", 500)
    v2 = next(
        p.address
        for p in world.pairs
        if p.dex == "uniswap" and {p.token0, p.token1} == {usdc, weth}
    )
    route = (
        Hop(v3.address, usdc, weth, "v3", v3.fee_pips),
        Hop(v2, weth, usdc, "v2", 3_000),
    )
    return Opportunity(
        id=f"{head(world)}-by-hand",
        block_number=head(world),
        route=route,
        token=usdc,
        amount_in=amount,
        amount_out=amount,
        gross_profit=0,
        gas_units=400_000,
        gas_price=venue.gas_price(),
        gas_cost=0,
        flash_fee=0,
        net_profit=0,
        net_profit_quote=0,
        detected_at=0.0,
    )


async def test_a_v3_route_without_a_lender_is_refused_before_anything_is_signed(
    world: World, venue: EvmVenue, tmp_path: Path
) -> None:
    rig = await make_rig(v3_config(world), tmp_path / "second")
    try:
        nonce = int(
            anvil.rpc(world.rpc_url, "eth_getTransactionCount", [world.operator, "pending"]), 16
        )
        with pytest.raises(
            SimulationFailed, match="V3 hop needs a liquidity source other than pair://first-hop"
        ):
            await rig.executor.execute(v3_cycle(world, venue, 1_000 * 10**6))
        after = anvil.rpc(world.rpc_url, "eth_getTransactionCount", [world.operator, "pending"])
        assert int(after, 16) == nonce
    finally:
        await rig.venue.stop()


async def test_a_reverted_v3_route_is_booked_with_its_reason_and_its_gas(
    world: World, clean_chain: None, tmp_path: Path
) -> None:
    rig = balancer_rig(await make_rig(v3_config(world), tmp_path), world)
    try:
        anvil.set_automine(world.rpc_url, True)
        await anext(rig.venue.blocks())
        opportunity = v3_cycle(world, rig.venue, 1_000 * 10**6)
        # the dry run must pass: make the cycle profitable first (cheap WETH on V3)...
        pool = v3_pool(world, "WETH", "USDC", 500)
        v3_swap(world, pool, "WETH", 300 * 10**18)
        await next_update(rig.venue, head(world))
        v3_swap(world, v3_pool(world, "USDC", "WETH", 500), "USDC", 1 * 10**6)  # approves USDC
        start = chain_balances(world, world.operator)
        anvil.set_automine(world.rpc_url, False)
        ours = asyncio.create_task(rig.executor.execute(opportunity))
        await until(lambda: txpool_pending(world) == 1, "our transaction in the pool")
        # ...then a rival buys the cheap WETH back before ours is mined
        assert world.v3 is not None
        params = (usdc := world.token("USDC").address, world.weth, 500, world.deployer)
        args = ((*params, DEADLINE, 3_000_000 * 10**6, 0, 0),)
        rival = {
            "from": world.deployer,
            "to": world.v3.router,
            "data": calldata(V3_SWAP, args),
            "gas": hex(8_000_000),
            "maxFeePerGas": hex(200 * 10**9),
            "maxPriorityFeePerGas": hex(100 * 10**9),  # mined ahead of ours
        }
        assert usdc
        rival_hash = anvil.rpc(world.rpc_url, "eth_sendTransaction", [rival])
        await until(lambda: txpool_pending(world) == 2, "the rival in the pool too")
        anvil.mine(world.rpc_url)
        trade = await asyncio.wait_for(ours, WAIT_S)
        mined = anvil.rpc(world.rpc_url, "eth_getTransactionReceipt", [rival_hash])
    finally:
        anvil.set_automine(world.rpc_url, True)
        await rig.venue.stop()
    assert mined["status"] == "0x1", "the rival's swap went through first"
    assert trade.status == "reverted"
    assert trade.revert_reason == "ArbExecutor: profit below minimum"
    assert {h["kind"] for h in trade.route} == {"v2", "v3"}
    assert trade.gas_used > 0 and trade.profit_token == 0
    assert change(start, chain_balances(world, world.operator)) == booked([trade])


async def test_a_plan_leaves_out_a_v3_route_it_cannot_carry_and_sends_the_rest(
    world: World, clean_chain: None, tmp_path: Path
) -> None:
    rig = await make_rig(v3_config(world), tmp_path)  # no lender: first-hop only
    try:
        update = await anext(rig.venue.blocks())
        market = rig.venue.market
        v2_only = Market(market.tokens, {a: p for a, p in market.pools.items() if p.kind == "v2"})
        v2_only.native, v2_only.quote = market.native, market.quote
        search = ArbitrageSearch(v2_only, rig.search.config)  # the devnet's V2 dislocations
        v2 = search.on_block(update.block, frozenset(v2_only.pools), rig.venue.gas_price())[0]
        settles = await rig.executor.send_plan([v3_cycle(world, rig.venue, 10**9), v2])
        with pytest.raises(SimulationFailed, match="V3 hop needs a liquidity source"):
            await settles[0]
        trade = await asyncio.wait_for(settles[1], WAIT_S)
    finally:
        await rig.venue.stop()
    assert trade.status == "success", trade.revert_reason
    assert kinds(trade) == {"v2"}


async def test_one_log_query_per_block_brings_the_v2_syncs_and_the_v3_events(
    world: World, venue: EvmVenue, monkeypatch: pytest.MonkeyPatch
) -> None:
    queries: list[dict[str, Any]] = []
    original = RpcClient._exchange

    async def recorded(client: RpcClient, body: Any, ids: Any, timeout: Any) -> Any:
        for request in body if isinstance(body, list) else [body]:
            if request["method"] == "eth_getLogs":
                queries.append(request["params"][0])
        return await original(client, body, ids, timeout)

    monkeypatch.setattr(RpcClient, "_exchange", recorded)
    pool = v3_pool(world, "WETH", "USDC", 500)
    block = v3_swap(world, pool, "USDC", 10_000 * 10**6)
    await next_update(venue, block)
    # a head that follows ours is asked by its hash, a skip by its range: one query either way
    heads = [q.get("blockHash") or q.get("toBlock") for q in queries]
    assert heads and len(heads) == len(set(heads)), queries
    (topics,) = {tuple(q["topics"][0]) for q in queries}
    assert SYNC_TOPIC in topics and {SWAP_TOPIC, MINT_TOPIC, BURN_TOPIC} <= set(topics)
