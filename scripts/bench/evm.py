"""Benchmark of the evm venue and executor on a local anvil devnet.

    .venv/bin/python scripts/bench/evm.py [--pairs 200] [--iterations 200]
                                          [--load-pairs 2000] [--repeats 5]

Starts its own devnet (`arbctl devnet up` in a temporary directory), grows the market
with extra tokens, each paired with WETH and USDC on both dexes, then prints:

- head → send: with `--pairs` pairs, a noise swap (1-3 % of a pool's reserve, on the
  devnet's own pairs) moves a price every iteration; the engine (venue, search, evm
  executor and pipeline, in-process, no risk guards) finds the arbitrage and sends it.
  The figure is the time from the new head's arrival (websocket notification) to the
  `eth_sendRawTransaction` request of the order found in it, p50/p90/p99, with the
  parts that make it up (logs and fees fetch, search, dry run + gas estimate, signing);
- reserve load: with `--load-pairs` pairs, the venue's start (chain checks, every
  factory's allPairs, tokens, reserves, account) and a re-read of every reserve alone,
  median of `--repeats`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from eth_abi import encode

from engine.bus import EventBus
from engine.config import Config, EvmSection, TokenEntry, load
from engine.daemon import build_executor, build_search, build_venue
from engine.devnet import anvil, compile, lifecycle
from engine.devnet.batch_call import Call, call_many
from engine.devnet.market_spec import DEADLINE
from engine.devnet.npm import anvil_binary
from engine.devnet.world import World
from engine.execution.gate import SendGate
from engine.execution.signer import load_signer
from engine.ledger.sqlite import SqliteLedger
from engine.ledger.writer import LedgerWriter
from engine.lifecycle import Lifecycle
from engine.market.evm import abi
from engine.market.evm.endpoint_health import ProviderHealth
from engine.market.evm.pools import read_reserves
from engine.market.evm.rpc import Endpoint, RpcClient
from engine.market.evm.venue import EvmVenue
from engine.pipeline import TradingPipeline

SWAP = "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)"
DEPTH_USD = 100_000  # each side of every extra pool
WETH_USD = 3_000
BLOCK_GAS = 30_000_000  # anvil's default
BIG_BLOCK_GAS = 10**12  # while the bench builds its market: one block takes everything
PAIRS_PER_TOKEN = 4  # (T, WETH) and (T, USDC) on both dexes
SEND_CHUNK = 100  # anvil caps a request body (~2 MB): token deployments are ~5 KB each


# --- growing the devnet -------------------------------------------------------------------
@dataclass
class Market:
    world: World
    extra: list[TokenEntry]
    v3: bool = False  # trade the devnet's V3 pools and borrow from its lenders too

    @property
    def pairs(self) -> int:
        return len(self.world.pairs) + PAIRS_PER_TOKEN * len(self.extra)

    def config(self) -> Config:
        """The devnet's generated config plus the extra tokens. Without `v3`, on its V2
        pairs only, each route borrowing from its first pair: the market this bench has
        always measured (the generated config trades the V3 pools too, since issue 14)."""
        config = load(self.world.config_file)
        config.evm.tokens = [*config.evm.tokens, *self.extra]
        if not self.v3:
            config.evm.v3_factories, config.evm.v3_pools = [], []
            config.providers = [p for p in config.providers if p.kind != "liquidity"]
        return config


def grow(market: Market, pairs: int, rng: random.Random) -> None:
    """Add tokens (and their four pools each) until the market has about `pairs` pairs."""
    count = max(0, (pairs - market.pairs) // PAIRS_PER_TOKEN)
    if count == 0:
        return
    world = market.world
    start = len(market.extra)
    tokens = deploy_tokens(world, [f"B{start + i}" for i in range(count)])
    prices = [rng.randint(1, 100) for _ in tokens]
    fund_deployer_weth(world, count)
    for dex_index, dex in enumerate(world.dexes):
        skews = [rng.randint(-40, 40) if dex_index else 0 for _ in tokens]
        add_pools(world, dex.factory, tokens, prices, skews)
    market.extra += [TokenEntry(address, f"B{start + i}", 18) for i, address in enumerate(tokens)]


def deploy_tokens(world: World, symbols: list[str]) -> list[str]:
    artifact = compile.compile_contracts()["TestToken"]
    args = [encode(["string", "string", "uint8", "uint256"], [s, s, 18, 0]) for s in symbols]
    txs = [{"data": artifact.bytecode_hex + a.hex(), "gas": hex(2_000_000)} for a in args]
    return [r["contractAddress"] for r in transact(world, txs)]


def fund_deployer_weth(world: World, tokens: int) -> None:
    weth = tokens * 2 * DEPTH_USD * 10**18 // WETH_USD + 10_000 * 10**18
    anvil.rpc(world.rpc_url, "anvil_setBalance", [world.deployer, hex(10**9 * 10**18)])
    transact(world, [call_tx(world.weth, "deposit()", (), value=weth)])


def add_pools(
    world: World, factory: str, tokens: list[str], prices: list[int], skews: list[int]
) -> None:
    """(T, WETH) and (T, USDC) for every token on one factory, seeded with liquidity."""
    quotes = {
        world.weth: DEPTH_USD * 10**18 // WETH_USD,
        world.token("USDC").address: DEPTH_USD * 10**6,
    }
    create = "createPair(address,address)"
    transact(world, [call_tx(factory, create, (t, q), 4_000_000) for t in tokens for q in quotes])
    lookups = [
        Call(factory, "getPair(address,address)", (t, q), ("address",))
        for t in tokens
        for q in quotes
    ]
    pairs = [row[0] for row in call_many(world.rpc_url, lookups)]
    funding: list[dict[str, Any]] = []
    for index, (token, price, skew) in enumerate(zip(tokens, prices, skews, strict=True)):
        amount = DEPTH_USD * 10**18 // price * (10_000 + skew) // 10_000
        for offset, (quote, quote_amount) in enumerate(quotes.items()):
            pair = pairs[index * len(quotes) + offset]
            funding += seed(world, pair, token, amount, quote, quote_amount)
    transact(world, funding)


def seed(
    world: World, pair: str, token: str, amount: int, quote: str, quote_amount: int
) -> list[dict[str, Any]]:
    """Both tokens straight to the pair, then `mint`: liquidity without the router."""
    pay = "transfer(address,uint256)" if quote == world.weth else "mint(address,uint256)"
    return [
        call_tx(token, "mint(address,uint256)", (pair, amount)),
        call_tx(quote, pay, (pair, quote_amount)),
        call_tx(pair, "mint(address)", (world.deployer,), 300_000),
    ]


def call_tx(
    to: str, signature: str, args: tuple[Any, ...], gas: int = 200_000, value: int = 0
) -> dict[str, Any]:
    return {"to": to, "data": abi.calldata(signature, args), "gas": hex(gas), "value": hex(value)}


def transact(world: World, txs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Send from the deployer (unlocked) with explicit nonces, in chunks; receipts in order.

    Automine mines what fits in a block in the background, slowly for thousands of
    transactions; so mining is manual meanwhile, with a block gas limit that takes them
    all at once, and both settings are restored after.
    """
    url, sender = world.rpc_url, world.deployer
    anvil.set_automine(url, False)
    anvil.rpc(url, "anvil_setBlockGasLimit", [hex(BIG_BLOCK_GAS)])
    try:
        first = int(anvil.rpc(url, "eth_getTransactionCount", [sender, "pending"]), 16)
        calls = [
            ("eth_sendTransaction", [{**tx, "from": sender, "nonce": hex(first + i)}])
            for i, tx in enumerate(txs)
        ]
        hashes: list[str] = []
        for start in range(0, len(calls), SEND_CHUNK):
            hashes += anvil.rpc_batch(url, calls[start : start + SEND_CHUNK], timeout=300.0)
        receipts = mined(url, hashes)
    finally:
        anvil.rpc(url, "anvil_setBlockGasLimit", [hex(BLOCK_GAS)])
        anvil.set_automine(url, True)
    failed = sum(1 for r in receipts if not r or r["status"] != "0x1")
    if failed:
        raise RuntimeError(f"{failed} of {len(txs)} devnet transactions failed")
    return receipts


def mined(url: str, hashes: list[str]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 300
    while True:
        anvil.mine(url)
        receipts = []
        for start in range(0, len(hashes), 2_000):
            part = hashes[start : start + 2_000]
            receipts += anvil.rpc_batch(url, [("eth_getTransactionReceipt", [h]) for h in part])
        if all(receipts) or time.monotonic() > deadline:
            return receipts


# --- head → send ----------------------------------------------------------------------------
STAGES = (
    "fetched",
    "applied",
    "search_start",
    "searched",
    "dry_run_start",
    "dry_run_end",
    "sent",
)


class Stages:
    """When each block reached each step of the path, relative to its head's arrival.

    Bench-only wrappers around the engine's own methods (the class attributes are put
    back by `restore`): the logs + fees fetch returning (`BlockFollower._changes`), the
    block applied to the pools (`EvmVenue._apply`, on the loop or the market worker),
    the search and plan started and done (`search_start`, `searched`:
    `TradingPipeline._timed_search`, on the loop or the worker), the dry run
    (`EvmVenue.simulate`, tied to the last searched block) and the send
    (`TxSender._record_send`)."""

    def __init__(self) -> None:
        self.marks: dict[int, dict[str, float]] = {}
        self.last_searched = -1
        self._saved: list[tuple[Any, str, Any]] = []

    def mark(self, block: int, stage: str) -> None:
        self.marks.setdefault(block, {}).setdefault(stage, time.perf_counter())

    def install(self) -> None:
        from engine.market.evm.blocks import BlockFollower
        from engine.market.evm.sender import TxSender

        stages = self

        async def changes(follower: Any, client: Any, last: Any, head: Any) -> Any:
            result = await originals["changes"](follower, client, last, head)
            stages.mark(head.number, "fetched")
            return result

        def apply(venue: Any, steps: Any) -> Any:
            update = originals["apply"](venue, steps)
            stages.mark(update.block.number, "applied")
            return update

        def search(pipeline: Any, update: Any, *args: Any) -> Any:
            stages.mark(update.block.number, "search_start")
            result = originals["search"](pipeline, update, *args)
            stages.mark(update.block.number, "searched")
            stages.last_searched = update.block.number
            return result

        def dry_run(name: str) -> Any:
            """The venue's `name` (a dry run), marking its start and end."""

            async def timed(venue: Any, *args: Any, **kwargs: Any) -> Any:
                block = stages.last_searched
                stages.mark(block, "dry_run_start")
                try:
                    return await originals[name](venue, *args, **kwargs)
                finally:
                    stages.mark(block, "dry_run_end")

            return timed

        simulate, simulate_plan = dry_run("simulate"), dry_run("simulate_plan")

        def record_send(sender: Any, block_number: int) -> None:
            stages.mark(block_number, "sent")
            originals["record"](sender, block_number)

        targets = {
            "changes": (BlockFollower, "_changes", changes),
            "apply": (EvmVenue, "_apply", apply),
            "search": (TradingPipeline, "_timed_search", search),
            "simulate": (EvmVenue, "simulate", simulate),
            "simulate_plan": (EvmVenue, "simulate_plan", simulate_plan),
            "record": (TxSender, "_record_send", record_send),
        }
        originals = {key: getattr(owner, name) for key, (owner, name, _) in targets.items()}
        for owner, name, wrapper in targets.values():
            self._saved.append((owner, name, getattr(owner, name)))
            setattr(owner, name, wrapper)

    def restore(self) -> None:
        for owner, name, original in self._saved:
            setattr(owner, name, original)

    def breakdown(self, venue: EvmVenue, blocks: list[int]) -> dict[str, list[float]]:
        """Per stage, ms since the previous stage, for the given blocks' first sends
        that passed every stage (the first one: since the head arrived)."""
        out: dict[str, list[float]] = {stage: [] for stage in STAGES}
        for block in blocks:
            marks, arrived = self.marks.get(block, {}), venue._heads.get(block)
            if arrived is None or any(stage not in marks for stage in STAGES):
                continue
            previous = arrived
            for stage in STAGES:
                out[stage].append((marks[stage] - previous) * 1000)
                previous = marks[stage]
        return out


@dataclass
class Timer:
    samples: list[float]

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await function(*args, **kwargs)
            finally:
                self.samples.append((time.perf_counter() - started) * 1000)

        return timed


async def bench_head_to_send(market: Market, iterations: int, rng: random.Random) -> dict[str, Any]:
    config = market.config()
    venue = build_venue(config)
    assert isinstance(venue, EvmVenue)
    stages = Stages()
    stages.install()
    simulate = Timer([])
    venue.simulate = simulate.wrap(venue.simulate)  # type: ignore[method-assign]
    await venue.start()
    with tempfile.TemporaryDirectory() as state:
        lifecycle_ = Lifecycle(Path(state), EventBus())
        lifecycle_.started()
        search = build_search(config, venue)
        store = SqliteLedger(Path(state) / "ledger.sqlite3")
        await store.open()
        writer = LedgerWriter(store)
        executor = build_executor(config, SendGate(lifecycle_, venue), venue)
        pipeline = TradingPipeline(venue, search, executor, lifecycle_, EventBus(), writer)
        tasks = [asyncio.create_task(pipeline.run()), asyncio.create_task(writer.run())]
        try:
            await settled(venue, pipeline)
            result = await measure(market.world, venue, pipeline, iterations, rng, simulate)
            result["stages"] = stages.breakdown(venue, result.pop("first_blocks"))
            result["cycles"] = search.cycle_count
            result["pools"] = len(venue.market.pools)
        finally:
            await pipeline.drain(10.0)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await store.close()
            await venue.stop()
            stages.restore()
    return result


async def measure(
    world: World,
    venue: EvmVenue,
    pipeline: TradingPipeline,
    iterations: int,
    rng: random.Random,
    simulate: Timer,
) -> dict[str, Any]:
    first_sample, simulate.samples[:] = len(venue.head_to_send_samples()), []
    decisions: list[float] = []
    firsts: list[float] = []  # the first send after each swap's head
    first_blocks: list[int] = []
    traded = 0
    # The noise trader shares the loop (no thread fighting the engine for the GIL) but
    # not the engine's connection pool.
    trader = RpcClient(Endpoint("bench", world.rpc_url), ProviderHealth("bench", 0))
    cpu_started = time.process_time()
    try:
        for _ in range(iterations):
            sent = venue.status()["sent"]
            samples = len(venue.head_to_send_samples())
            block = await noise_swap(trader, world, rng)
            await settled(venue, pipeline, block)
            decisions.append(pipeline.last_decision_ms)
            if venue.status()["sent"] > sent:
                traded += 1
                firsts.append(venue.head_to_send_samples()[samples])
                first_blocks.append(block)
    finally:
        await trader.close()
    cpu_ms = (time.process_time() - cpu_started) * 1000
    return {
        "cpu_ms_per_swap": cpu_ms / iterations,
        "iterations": iterations,
        "traded": traded,
        "head_to_send_ms": venue.head_to_send_samples()[first_sample:],
        "first_send_ms": firsts,
        "first_blocks": first_blocks,
        "simulate_ms": list(simulate.samples),
        "decision_ms": decisions,
        "fetch_ms_ewma": venue.status()["head_fetch_ms"],
        "mode": venue.status()["heads"],
        "blocks_searched": pipeline.blocks_seen,
    }


async def noise_swap(trader: RpcClient, world: World, rng: random.Random) -> int:
    """Sell 1-3 % of a reserve into one of the devnet's own pairs; the block it landed in."""
    pair = rng.choice(world.pairs)
    zero_for_one = rng.random() < 0.5
    sell, buy = (pair.token0, pair.token1) if zero_for_one else (pair.token1, pair.token0)
    raw = await trader.call("eth_call", abi.eth_call(pair.address, abi.GET_RESERVES)[1])
    amount = abi.reserves(raw)[0 if zero_for_one else 1] * rng.randint(100, 300) // 10_000
    args = (amount, 0, [sell, buy], world.deployer, DEADLINE)
    tx = {"from": world.deployer, **call_tx(world.dex(pair.dex).router, SWAP, args, 300_000)}
    tx_hash = await trader.call("eth_sendTransaction", [tx])
    receipt = None
    while receipt is None:  # automine: there at once, or a moment later
        receipt = await trader.call("eth_getTransactionReceipt", [tx_hash])
    if receipt["status"] != "0x1":
        raise RuntimeError("a noise swap reverted")
    return int(receipt["blockNumber"], 16)


async def settled(venue: EvmVenue, pipeline: TradingPipeline, after: int = 0) -> None:
    """Nothing in flight and the engine has seen the head (automine: no more blocks)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        seen = pipeline.last_update
        if (
            seen is not None
            and seen.block.number >= after
            and not pipeline.market_status()["in_flight"]
            and venue.status()["pending"] == 0
        ):
            chain = int(await venue.client.call("eth_blockNumber"), 16)
            if seen.block.number >= chain:
                return
        await asyncio.sleep(0.005)
    raise RuntimeError("the engine did not settle within 60 s")


def sign_ms(world: World, repeats: int = 200) -> float:
    """Signing one execute transaction (the part of head → send that is pure Python)."""
    signer = load_signer(EvmSection(key_file=world.key_file))
    tx = {
        "type": 2,
        "chainId": world.chain_id,
        "nonce": 1,
        "to": world.executor,
        "value": 0,
        "gas": 400_000,
        "maxFeePerGas": 10**9,
        "maxPriorityFeePerGas": 10**9,
        "data": "0x" + "ab" * 292,
    }
    started = time.perf_counter()
    for _ in range(repeats):
        signer.sign(tx)
    return (time.perf_counter() - started) * 1000 / repeats


# --- reserve load ---------------------------------------------------------------------------
async def bench_load(market: Market, repeats: int) -> dict[str, Any]:
    config = market.config()
    starts, rereads, pools = [], [], 0
    for _ in range(repeats):
        venue = build_venue(config)
        assert isinstance(venue, EvmVenue)
        started = time.perf_counter()
        await venue.start()
        starts.append(time.perf_counter() - started)
        # the V2 pairs' reserves (`getReserves`); the devnet's V3 pools are read otherwise
        addresses = [a for a, pool in venue.market.pools.items() if pool.kind == "v2"]
        pools = len(addresses)
        started = time.perf_counter()
        await read_reserves(venue.client, addresses, "latest")
        rereads.append(time.perf_counter() - started)
        await venue.stop()
    return {"pools": pools, "start_s": starts, "reserves_s": rereads}


# --- report ---------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def report(latency: dict[str, Any], loading: dict[str, Any], sign: float, took: float) -> None:
    print(
        f"machine: {cpu()}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )
    print(f"anvil: {anvil_version()}; heads by {latency['mode']}; setup+bench {took:.0f} s\n")
    samples = latency["head_to_send_ms"]
    print(
        f"head → eth_sendRawTransaction ({latency['pools']} pools, {latency['cycles']} "
        f"cycles, {latency['traded']} of {latency['iterations']} swaps traded, "
        f"{len(samples)} sends)"
    )
    row("  head → first send", latency["first_send_ms"])
    row("  head → every send", samples)
    row("  search (per block)", latency["decision_ms"])
    print(f"  blocks searched         {latency['blocks_searched']}")
    row("  dry run + estimate", latency["simulate_ms"])
    print(f"  logs + fees fetch       ewma {latency['fetch_ms_ewma']:.2f} ms")
    print(
        f"  process CPU per swap    {latency['cpu_ms_per_swap']:.2f} ms (engine and noise "
        "trader, every thread)"
    )
    stages = latency["stages"]
    print(f"  first send, step by step (each since the one before; n={len(stages['sent'])}):")
    for stage in STAGES:
        row(f"    → {stage}", stages[stage])
    print(f"  sign                    mean {sign:.2f} ms\n")
    print(f"reserve load ({loading['pools']} pools, median of {len(loading['start_s'])})")
    print(
        f"  venue start (checks, allPairs, tokens, reserves, account)  "
        f"{statistics.median(loading['start_s']):.3f} s"
    )
    print(
        f"  every reserve again (getReserves batch)                   "
        f"{statistics.median(loading['reserves_s']):.3f} s"
    )


def cpu() -> str:
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.machine()
    models = [line.split(":", 1)[1].strip() for line in info.splitlines() if "model name" in line]
    return f"{models[0]} x {len(models)}" if models else platform.machine()


def row(label: str, values: list[float]) -> None:
    print(
        f"{label:<24}p50 {percentile(values, 0.5):6.2f} ms   p90 {percentile(values, 0.9):6.2f}"
        f" ms   p99 {percentile(values, 0.99):6.2f} ms   (n={len(values)})"
    )


def anvil_version() -> str:
    out = subprocess.run([str(anvil_binary()), "--version"], capture_output=True, text=True)
    return out.stdout.splitlines()[0] if out.stdout else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--load-pairs", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--v3",
        action="store_true",
        help="also trade the devnet's V3 pools, borrowing from its lenders (default: V2 only)",
    )
    parser.add_argument(
        "--worker-nice",
        type=int,
        help="the market worker thread's nice increment (engine default: WORKER_NICE)",
    )
    args = parser.parse_args()
    if args.worker_nice is not None:
        from engine.market import worker

        worker.WORKER_NICE = args.worker_nice
    # A dry run that reverts (a stale opportunity) reaches the pipeline as SimulationFailed,
    # which it logs with a traceback until it learns to count it: keep the report readable.
    logging.getLogger("arbctl.pipeline").setLevel(logging.CRITICAL)
    rng = random.Random(args.seed)
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="arbctl-bench-evm-") as state:
        devnet = lifecycle.up(Path(state), progress=lambda _line: None)
        try:
            market = Market(devnet.world, [], v3=args.v3)
            grow(market, args.pairs, rng)
            latency = asyncio.run(bench_head_to_send(market, args.iterations, rng))
            grow(market, args.load_pairs, rng)
            loading = asyncio.run(bench_load(market, args.repeats))
            sign = sign_ms(devnet.world)
        finally:
            lifecycle.down(Path(state))
    report(latency, loading, sign, time.monotonic() - began)


if __name__ == "__main__":
    main()
