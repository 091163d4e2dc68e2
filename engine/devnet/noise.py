"""A noise trader: random swaps through the routers (V2 and V3) so prices drift apart.

A freshly deployed devnet has a handful of fixed dislocations; once an arbitrageur has
taken them the market is flat. Real markets are moved by other people's trades, so this
sends swaps of random pair, direction and heavy-tailed size (mostly small, sometimes a
whale) from anvil's unlocked accounts. It is bounded both in count (`rate * seconds`) and
in wall time, so a forgotten `devnet trade` cannot run away.

Plain JSON-RPC (no web3): a swap is one `eth_call` and one `eth_sendTransaction`, so the
trader keeps up with high rates and `devnet trade` starts without web3's import cost.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field

from engine.devnet import anvil
from engine.devnet.batch_call import Call, Send, call_many, send_many
from engine.devnet.market_spec import DEADLINE, base_units, token_spec
from engine.devnet.world import PairRecord, V3PoolRecord, World

TRADER_ACCOUNTS = range(1, 4)  # anvil accounts 1..3; account 0 is the deployer
TRADER_ETH = 10**6 * 10**18
TRADER_WETH = 50_000 * 10**18
TRADER_TOKEN_USD = 10**8  # worth of each test token minted to each trader
SWAP_GAS = 300_000  # fixed, to skip an eth_estimateGas round trip per trade
V3_SWAP_GAS = 1_000_000  # a V3 swap pays per tick crossed
V3_EXACT_INPUT_SINGLE = (
    "exactInputSingle((address,address,uint24,address,uint256,uint256,uint256,uint160))"
)
PARETO_ALPHA = 1.5  # tail index: mean finite, variance not: occasional large trades
BASE_FRACTION = 0.0005  # a typical trade sells 0.05 % of the input reserve
MAX_FRACTION = 0.05  # cap: never more than 5 % of the reserve in one trade


@dataclass(slots=True)
class NoiseReport:
    trades: int = 0
    failed: int = 0
    seconds: float = 0.0
    by_dex: dict[str, int] = field(default_factory=dict)
    first_block: int = 0
    last_block: int = 0


def trade_size(reserve_in: int, rng: random.Random) -> int:
    """Pareto-distributed fraction of the input reserve, capped; at least one base unit."""
    fraction = min(MAX_FRACTION, BASE_FRACTION * rng.paretovariate(PARETO_ALPHA))
    return max(1, int(reserve_in * fraction))


def run(
    world: World,
    rate: float,
    seconds: float,
    seed: int | None = None,
    max_trades: int | None = None,
) -> NoiseReport:
    """Trade at about `rate` swaps per second for at most `seconds` (and `rate * seconds` swaps)."""
    if rate <= 0 or seconds <= 0:
        raise ValueError("rate and seconds must be positive")
    traders = prepare(world)
    rng = random.Random(seed)
    limit = int(rate * seconds) if max_trades is None else min(max_trades, int(rate * seconds))
    report = NoiseReport(first_block=_block_number(world))
    started = time.monotonic()
    deadline = started + seconds
    counts: Counter[str] = Counter()
    pools: list[PairRecord | V3PoolRecord] = [*world.pairs, *world.v3_pools]
    while report.trades + report.failed < limit and time.monotonic() < deadline:
        pool = rng.choice(pools)
        trader = rng.choice(traders)
        if isinstance(pool, V3PoolRecord):
            ok = _swap_v3(world, pool, trader, rng)
        else:
            ok = _swap(world, pool, trader, rng)
        report.trades += ok
        report.failed += not ok
        counts[pool.dex] += ok
        _pace(started, report.trades + report.failed, rate, deadline)
    report.seconds = time.monotonic() - started
    report.by_dex = dict(counts)
    report.last_block = _block_number(world)
    return report


def prepare(world: World) -> list[str]:
    """Fund and approve the trader accounts once per devnet; cheap when already done."""
    accounts = anvil.rpc(world.rpc_url, "eth_accounts")
    traders = [accounts[i] for i in TRADER_ACCOUNTS]
    last_token, last_router = world.tokens[-1].address, _routers(world)[-1]
    allowance = "allowance(address,address)"
    checks = [Call(last_token, allowance, (t, last_router), ("uint256",)) for t in traders]
    for trader, (allowed,) in zip(traders, call_many(world.rpc_url, checks), strict=True):
        if allowed == 0:  # the last approval `_fund` sends: set means all of it was done
            _fund(world, trader)
    return traders


def _fund(world: World, trader: str) -> None:
    """WETH, every test token, and router approvals for one trader, in one batch."""
    anvil.rpc(world.rpc_url, "anvil_setBalance", [trader, hex(TRADER_ETH)])
    sends = [Send(trader, world.weth, "deposit()", value=TRADER_WETH)]
    for token in world.tokens:
        if token.address != world.weth:
            amount = base_units(token_spec(token.symbol), TRADER_TOKEN_USD)
            mint = Send(world.deployer, token.address, "mint(address,uint256)", (trader, amount))
            sends.append(mint)
        sends.extend(
            Send(trader, token.address, "approve(address,uint256)", (router, 2**256 - 1))
            for router in _routers(world)
        )
    # one at a time: anvil serves a batch concurrently, so a sender's later nonce can
    # arrive first, wait as "queued", and stay unmined after its predecessor (automine
    # mines on arrival only); a one-off of ~30 sends, so the round trips do not matter
    for send in sends:
        if not all(send_many(world.rpc_url, [send], timeout=60.0)):
            raise anvil.AnvilError(f"funding noise trader {trader} failed")


def _swap(world: World, pair: PairRecord, trader: str, rng: random.Random) -> bool:
    """One exact-input swap on `pair` through its dex's router; False if it reverted."""
    reserves = Call(pair.address, "getReserves()", (), ("uint112", "uint112", "uint32"))
    ((reserve0, reserve1, _),) = call_many(world.rpc_url, [reserves])
    zero_for_one = rng.random() < 0.5
    token_in, token_out = (pair.token0, pair.token1) if zero_for_one else (pair.token1, pair.token0)
    amount_in = trade_size(reserve0 if zero_for_one else reserve1, rng)
    swap = Send(
        trader,
        world.dex(pair.dex).router,
        "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)",
        (amount_in, 0, [token_in, token_out], trader, DEADLINE),
        gas=SWAP_GAS,
    )
    return send_many(world.rpc_url, [swap])[0]


def _swap_v3(world: World, pool: V3PoolRecord, trader: str, rng: random.Random) -> bool:
    """One exact-input swap on a V3 pool through the SwapRouter, sized on the pool's
    balance of the input token (a V3 pool has no reserves, only what its positions hold)."""
    if world.v3 is None:
        raise anvil.AnvilError("this devnet has no Uniswap V3 deployment (deployed before V3?)")
    zero_for_one = rng.random() < 0.5
    token_in, token_out = (pool.token0, pool.token1) if zero_for_one else (pool.token1, pool.token0)
    balance = Call(token_in, "balanceOf(address)", (pool.address,), ("uint256",))
    ((held,),) = call_many(world.rpc_url, [balance])
    amount_in = trade_size(held, rng)
    params = (token_in, token_out, pool.fee_pips, trader, DEADLINE, amount_in, 0, 0)
    swap = Send(trader, world.v3.router, V3_EXACT_INPUT_SINGLE, (params,), gas=V3_SWAP_GAS)
    return send_many(world.rpc_url, [swap])[0]


def _routers(world: World) -> list[str]:
    routers = [dex.router for dex in world.dexes]
    return [*routers, world.v3.router] if world.v3 is not None else routers


def _block_number(world: World) -> int:
    return int(anvil.rpc(world.rpc_url, "eth_blockNumber"), 16)


def _pace(started: float, done: int, rate: float, deadline: float) -> None:
    """Sleep until the next trade is due, never past the deadline."""
    due = min(started + done / rate, deadline)
    delay = due - time.monotonic()
    if delay > 0:
        time.sleep(delay)
