"""`devnet up` deploys Uniswap V3 beside V2 — pools in several fee tiers, liquidity over
several tick ranges, prices apart from V2, the noise trader swaps on them too — and two
funded flash-loan lenders the executor is allowed to borrow from."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from web3 import Web3
from web3.contract import Contract

from engine.devnet import artifacts, noise
from engine.devnet.market_spec import V3_POOLS
from engine.devnet.world import World
from engine.market.evm import v3_pools
from engine.market.evm.rpc import Endpoint, RpcClient
from engine.market.v3 import pool as v3pool
from engine.providers.health import Health


def _states(world: World) -> dict[str, v3pool.V3PoolState]:
    async def go() -> dict[str, v3pool.V3PoolState]:
        client = RpcClient(Endpoint("devnet", world.rpc_url), Health("anvil", 0))
        try:
            head = int(await client.call("eth_blockNumber"), 16)
            assert world.v3 is not None
            infos = await v3_pools.discover_pools(client, world.v3.factory, "uniswap-v3", head)
            return await v3_pools.read_states(client, infos, head, word_radius=40)
        finally:
            await client.transport.close()

    return asyncio.run(go())


def test_the_devnet_has_v3_pools_in_several_fee_tiers_with_ranged_liquidity(world: World) -> None:
    assert world.v3 is not None
    assert len(world.v3_pools) == len(V3_POOLS)
    assert {p.fee_pips for p in world.v3_pools} == {100, 500, 3000, 10000}
    weth_usdc = [p for p in world.v3_pools if set(p.symbols) == {"WETH", "USDC"}]
    assert len(weth_usdc) == 2, "two fee tiers of one pair"
    states = _states(world)
    assert set(states) == {p.address for p in world.v3_pools}
    for state in states.values():
        assert state.liquidity > 0
        assert len(state.ticks.initialized()) >= 8, "positions over several ranges"


def test_v3_prices_sit_apart_from_the_v2_pairs_prices(world: World, w3: Web3) -> None:
    pair_abi = artifacts.load(artifacts.PAIR).abi
    pair = world.pair("uniswap", "WETH", "USDC")
    reserve0, reserve1, _ = (
        w3.eth.contract(address=pair.address, abi=pair_abi).functions.getReserves().call()
    )
    v2_price = reserve1 / reserve0
    for record in world.v3_pools:
        if set(record.symbols) != {"WETH", "USDC"}:
            continue
        state = _states(world)[record.address]
        v3_price = (state.sqrt_price_x96 / 2**96) ** 2
        if record.token0 != pair.token0:
            v3_price = 1 / v3_price
        assert abs(v3_price / v2_price - 1) > 0.003


def test_noise_trades_swap_on_v3_pools_too(world: World, clean_chain: None) -> None:
    before = {a: s.sqrt_price_x96 for a, s in _states(world).items()}
    report = noise.run(world, rate=1_000, seconds=60, seed=11, max_trades=60)
    assert report.failed == 0
    assert report.by_dex.get("uniswap-v3", 0) > 0
    after = {a: s.sqrt_price_x96 for a, s in _states(world).items()}
    assert any(before[a] != after[a] for a in before)


def test_the_devnet_funds_a_balancer_vault_and_an_aave_pool_the_executor_may_borrow_from(
    world: World, executor: Contract, erc20: Callable[[str], Contract]
) -> None:
    assert {lender.kind for lender in world.lenders} == {"balancer-v2", "aave-v3"}
    for lender in world.lenders:
        assert executor.functions.isLender(lender.address).call()
    vault = world.lender("balancer-v2")
    assert balance_of(erc20, world.token("USDC").address, vault.address) > 0
    assert executor.functions.v3Factories().call()[0][0] == world.v3.factory  # type: ignore[union-attr]


def balance_of(erc20: Callable[[str], Contract], token: str, holder: str) -> int:
    return int(erc20(token).functions.balanceOf(holder).call())
