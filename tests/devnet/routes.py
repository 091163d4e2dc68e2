"""Shared by the executor route tests: a V3-then-V2 WETH/USDC cycle, priced exactly.

The V3 hop is priced with `engine.market.v3.pool.swap` on the state the engine's reader
(`engine.market.evm.v3_pools`) gets from the chain, the V2 hop with `engine.market.amm`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from web3 import Web3
from web3.contract import Contract

from engine.devnet import artifacts
from engine.devnet.world import V3PoolRecord, World
from engine.market.amm import get_amount_out
from engine.market.evm import v3_pools
from engine.market.evm.rpc import Endpoint, RpcClient
from engine.market.v3 import pool as v3pool
from engine.providers.health import Health

HOP_V2, HOP_V3 = 0, 1


def v3_state(world: World, record: V3PoolRecord) -> v3pool.V3PoolState:
    async def go() -> v3pool.V3PoolState:
        client = RpcClient(Endpoint("devnet", world.rpc_url), Health("anvil", 0))
        try:
            head = int(await client.call("eth_blockNumber"), 16)
            info = v3_pools.V3PoolInfo(
                record.address, record.token0, record.token1, record.fee_pips, record.spacing, "v3"
            )
            return (await v3_pools.read_states(client, [info], head, word_radius=60))[
                record.address
            ]
        finally:
            await client.transport.close()

    return asyncio.run(go())


def v3_pool(world: World, a: str, b: str, fee: int) -> V3PoolRecord:
    return next(p for p in world.v3_pools if set(p.symbols) == {a, b} and p.fee_pips == fee)


def predict(w3: Web3, world: World, usdc: str, weth: str, amount_in: int) -> int:
    """USDC -> WETH on the V3 500 pool, WETH -> USDC on the V2 uniswap pair."""
    pool = v3_pool(world, "WETH", "USDC", 500)
    weth_out = v3pool.amount_out(v3_state(world, pool), usdc < weth, amount_in)
    pair = world.pair("uniswap", "WETH", "USDC")
    abi = artifacts.load(artifacts.PAIR).abi
    r0, r1, _ = w3.eth.contract(address=pair.address, abi=abi).functions.getReserves().call()
    reserve_in, reserve_out = (r0, r1) if pair.token0 == weth else (r1, r0)
    return get_amount_out(weth_out, reserve_in, reserve_out, 30)


def hops(world: World, usdc: str, weth: str) -> list[tuple[int, str, str, int]]:
    pool = v3_pool(world, "WETH", "USDC", 500)
    pair = world.pair("uniswap", "WETH", "USDC")
    return [(HOP_V3, pool.address, weth, 0), (HOP_V2, pair.address, usdc, 30)]


def best(w3: Web3, world: World, usdc: str, weth: str) -> tuple[int, int]:
    """The best of a coarse grid of sizes (the test needs a profitable size, not the optimum)."""
    sizes = [10**6 * 2**k for k in range(4, 20)]
    outs = [(predict(w3, world, usdc, weth, s) - s, s) for s in sizes]
    profit, size = max(outs)
    assert profit > 0, "the devnet's V2/V3 dislocation is gone"
    return size, profit


def balance(erc20: Callable[[str], Contract], token: str, holder: str) -> int:
    return int(erc20(token).functions.balanceOf(holder).call())
