"""The engine's V3 reader on the real contracts: discovery, a pinned snapshot, logs.

Pools are found from the factory's `PoolCreated` logs alone; their state read at one
block equals what the pool contracts say; after real swaps, new positions and a burned
one, the state kept current from `Swap`/`Mint`/`Burn` logs equals a fresh read — and a
swap priced on it equals the QuoterV2's answer.
"""

from __future__ import annotations

import asyncio
from typing import Any

from engine.devnet import v3
from engine.market.evm import v3_pools
from engine.market.evm.rpc import Endpoint, RpcClient
from engine.market.v3 import pool as v3pool
from engine.providers.health import Health
from tests.market.v3.v3chain import FEES, Chain


def _client(chain: Chain) -> RpcClient:
    url = chain.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    return RpcClient(Endpoint("anvil", url), Health("anvil", 0))


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _discover_and_read(chain: Chain, block: int) -> dict[str, v3pool.V3PoolState]:
    client = _client(chain)
    try:
        infos = await v3_pools.discover_pools(client, chain.dep.factory.address, "univ3", block)
        return await v3_pools.read_states(client, infos, block, word_radius=3)
    finally:
        await client.transport.close()


def test_pools_are_found_from_the_factorys_logs_with_fee_and_spacing(chain: Chain) -> None:
    async def go() -> list[v3_pools.V3PoolInfo]:
        client = _client(chain)
        try:
            head = await client.call("eth_blockNumber")
            return await v3_pools.discover_pools(
                client, chain.dep.factory.address, "univ3", int(head, 16)
            )
        finally:
            await client.transport.close()

    found = {(p.address, p.fee_pips, p.spacing) for p in _run(go())}
    assert found == {(pool.address, fee, FEES[fee]) for fee, pool in chain.pools.items()}


def test_a_snapshot_equals_what_the_pools_say_at_that_block(chain: Chain) -> None:
    block = chain.w3.eth.block_number
    states = _run(_discover_and_read(chain, block))
    for fee, pool in chain.pools.items():
        state = states[pool.address]
        sqrt_price, tick, *_ = pool.functions.slot0().call(block_identifier=block)
        assert (state.sqrt_price_x96, state.tick, state.fee_pips) == (sqrt_price, tick, fee)
        assert state.liquidity == pool.functions.liquidity().call(block_identifier=block)
        assert state.ticks.info, "no initialised tick found near the price"
        for tick_index, info in state.ticks.info.items():
            gross, net, *_ = pool.functions.ticks(tick_index).call(block_identifier=block)
            assert (info.liquidity_gross, info.liquidity_net) == (gross, net)


def test_swap_mint_and_burn_logs_keep_the_state_equal_to_a_fresh_read(chain: Chain) -> None:
    start = chain.w3.eth.block_number
    states = _run(_discover_and_read(chain, start))
    for fee, pool in chain.pools.items():
        state = states[pool.address]
        spacing = FEES[fee]
        v3.swap_exact_input(chain.dep, chain.trader, chain.token1, chain.token0, fee, 10**9)
        lower = (state.tick // spacing - 3) * spacing
        v3.mint_position(chain.dep, chain.lp, pool, lower, lower + 7 * spacing, 10**19, 10**10)
        token_id = chain.dep.positions.functions.totalSupply().call()
        liquidity = chain.dep.positions.functions.positions(token_id).call()[7]
        params = (token_id, liquidity // 3, 0, 0, v3.DEADLINE)
        chain.dep.positions.functions.decreaseLiquidity(params).transact({"from": chain.lp})
        v3.swap_exact_input(chain.dep, chain.trader, chain.token0, chain.token1, fee, 10**17)
    end = chain.w3.eth.block_number
    logs = chain.w3.eth.get_logs({"fromBlock": start + 1, "toBlock": end})
    raw = [
        {
            "address": entry["address"],
            "topics": ["0x" + bytes(t).hex() for t in entry["topics"]],
            "data": "0x" + bytes(entry["data"]).hex(),
            "blockNumber": hex(entry["blockNumber"]),
            "logIndex": hex(entry["logIndex"]),
        }
        for entry in logs
    ]
    changed = v3_pools.apply_logs(states, raw)
    assert changed == {pool.address for pool in chain.pools.values()}
    fresh = _run(_discover_and_read(chain, end))
    for pool in chain.pools.values():
        ours, theirs = states[pool.address], fresh[pool.address]
        assert (ours.sqrt_price_x96, ours.tick, ours.liquidity) == (
            theirs.sqrt_price_x96,
            theirs.tick,
            theirs.liquidity,
        )
        window = {
            t: i for t, i in ours.ticks.info.items() if t in theirs.ticks.info or _inside(theirs, t)
        }
        assert window == theirs.ticks.info
    for fee, pool in chain.pools.items():
        out = v3pool.amount_out(states[pool.address], False, 10**8)
        quoted, _ = v3.quote_exact_input(chain.dep, chain.token1, chain.token0, fee, 10**8)
        assert out == quoted


def _inside(state: v3pool.V3PoolState, tick: int) -> bool:
    words = state.ticks.words
    assert words is not None
    return words[0] <= (tick // state.ticks.spacing) >> 8 <= words[1]
