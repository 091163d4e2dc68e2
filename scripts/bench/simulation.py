"""Benchmark: simulation at the head, each option side by side (issue 18 point 3).

    .venv/bin/python scripts/bench/simulation.py [--iterations 100]

    pyrevm is optional: put it on the path (a wheel in a temporary venv) with
    PYTHONPATH=<venv>/lib/python3.11/site-packages; without it those rows are skipped.

Starts its own devnet, takes the devnet's first opportunity, and then, every iteration:
a noise swap moves one of the opportunity's pools (a new head); once the venue has the
head and its reserves (what the engine has when it decides), each option dry-runs the
same `execute` call, in a rotating order, timed (wall and this process's CPU):

- `latest`: `eth_call` at "latest" (the engine's dry run before issue 18);
- `next-block`: `eth_call` at "latest" with the next block's overrides (number, time,
  base fee): the new default;
- `pinned`: `eth_call` at the head's number with the same overrides;
- `revm-cold`: pyrevm forked from the RPC at the head, then the call: every account and
  slot the call touches fetched over RPC;
- `revm-warm`: one pyrevm fork kept across heads; on each head the reserves the venue
  already read from the block's Sync logs are written into the pairs' reserve slot and
  the tokens' balance slots, then the call runs in-process (no round trip).

Each option's answer is compared with `latest` (returned word, or both revert).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from eth_utils import keccak

from engine.bus import EventBus
from engine.config import load
from engine.daemon import build_executor, build_search, build_venue
from engine.devnet import lifecycle
from engine.devnet.world import World
from engine.execution.evm import execute_calldata
from engine.execution.gate import SendGate
from engine.lifecycle import Lifecycle
from engine.market.evm import abi
from engine.market.evm.endpoint_health import ProviderHealth
from engine.market.evm.rpc import Endpoint, NodeRpcError, RpcClient
from engine.market.evm.simulation import V2_RESERVES_SLOT, NextBlock, head_call
from engine.market.evm.venue import EvmVenue
from scripts.bench.evm import noise_swap

try:
    import pyrevm
except ImportError:  # optional
    pyrevm = None

OPTIONS = ("latest", "next-block", "pinned", "revm-cold", "revm-warm")


def word(value: bytes | str | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return int.from_bytes(value[:32], "big") if value else 0
    return abi.word(value)


async def rpc_option(client: RpcClient, method: str, params: list[Any]) -> int | None:
    try:
        return word(await client.call(method, params))
    except NodeRpcError:
        return None  # reverted


class Warm:
    """One pyrevm fork kept across heads, patched from the venue's reserves."""

    def __init__(self, url: str, head: int, slots: dict[tuple[str, str], int]) -> None:
        assert pyrevm is not None
        self.evm = pyrevm.EVM(fork_url=url, fork_block=hex(head))
        self.slots = slots  # (token, pair) -> balance mapping slot

    def patch(self, venue: EvmVenue, pools: list[str], head: Any) -> None:
        assert pyrevm is not None
        for address in pools:
            pool = venue.market.pools[address]
            packed = pool.reserve0 | (pool.reserve1 << 112) | ((head.timestamp % 2**32) << 224)
            self.evm.insert_account_storage(address, V2_RESERVES_SLOT, packed)
            for token, amount in ((pool.token0, pool.reserve0), (pool.token1, pool.reserve1)):
                slot = self.slots[(token, address)]
                key = int.from_bytes(keccak(_pad(address) + slot.to_bytes(32, "big")), "big")
                self.evm.insert_account_storage(token, key, amount)
        self.evm.set_block_env(
            pyrevm.BlockEnv(number=head.number + 1, timestamp=head.timestamp + 12)
        )

    def call(self, owner: str, to: str, data: str) -> int | None:
        checkpoint = self.evm.snapshot()
        try:
            return word(self.evm.message_call(owner, to, bytes.fromhex(data[2:])))
        except Exception:  # pyrevm raises on a revert
            return None
        finally:
            self.evm.revert(checkpoint)


def cold(url: str, head: int, owner: str, to: str, data: str) -> int | None:
    assert pyrevm is not None
    evm = pyrevm.EVM(fork_url=url, fork_block=hex(head))
    try:
        return word(evm.message_call(owner, to, bytes.fromhex(data[2:])))
    except Exception:
        return None


def _pad(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:])


async def balance_slots(client: RpcClient, venue: EvmVenue, pools: list[str]) -> dict:
    """Where each token keeps a pair's balance (the mapping's slot), found by probing."""
    found: dict[tuple[str, str], int] = {}
    for address in pools:
        pool = venue.market.pools[address]
        for token in (pool.token0, pool.token1):
            balance = word(await client.call(*abi.eth_call(token, abi.balance_of(address))))
            for slot in range(12):
                key = keccak(_pad(address) + slot.to_bytes(32, "big"))
                stored = await client.call("eth_getStorageAt", [token, "0x" + key.hex(), "latest"])
                if int(stored, 16) == balance:
                    found[(token, address)] = slot
                    break
            else:
                raise RuntimeError(f"no balance slot found for {token}")
    return found


async def timed(run: Callable[[], Awaitable[int | None]]) -> tuple[float, float, int | None]:
    wall, cpu = time.perf_counter(), time.process_time()
    answer = await run()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000, answer


def options_at(
    url: str, venue: EvmVenue, call: dict[str, Any], pools: list[str], head: Any, warm: Warm | None
) -> dict[str, Callable[[], Awaitable[int | None]]]:
    """Each option's dry run of `call` once `head` arrived."""
    client, data = venue.client, call["data"]
    next_block = NextBlock.after(head, venue.fee_bid().base_fee)

    async def latest() -> int | None:
        return await rpc_option(client, "eth_call", [call, "latest"])

    async def next_block_call() -> int | None:
        return await rpc_option(client, *head_call(call, None, next_block))

    async def pinned() -> int | None:
        return await rpc_option(client, *head_call(call, head, next_block))

    async def run_cold() -> int | None:
        return cold(url, head.number, venue.owner, venue.executor, data)

    async def run_warm() -> int | None:
        assert warm is not None
        warm.patch(venue, pools, head)
        return warm.call(venue.owner, venue.executor, data)

    options = {"latest": latest, "next-block": next_block_call, "pinned": pinned}
    if warm is not None:
        options |= {"revm-cold": run_cold, "revm-warm": run_warm}
    return options


async def bench(world: World, iterations: int, rng: random.Random) -> dict[str, Any]:
    config = load(world.config_file)
    venue = build_venue(config)
    assert isinstance(venue, EvmVenue)
    await venue.start()
    client = venue.client
    trader = RpcClient(Endpoint("bench", world.rpc_url), ProviderHealth("bench", 0))
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in OPTIONS}
    agree: dict[str, int] = dict.fromkeys(OPTIONS, 0)
    profitable = 0  # heads where the call did not revert (answers are then profits)
    try:
        with tempfile.TemporaryDirectory() as state:
            life = Lifecycle(Path(state), EventBus())
            life.started()
            executor = build_executor(config, SendGate(life, venue), venue)
            search = build_search(config, venue)
            blocks = venue.blocks()
            update = await anext(blocks)
            found = search.on_block(update.block, update.changed_pools, venue.gas_price())
            opportunity = found[0]
            data = execute_calldata(executor.order_for(opportunity))  # type: ignore[attr-defined]
            pools = [hop.pool for hop in opportunity.route]
            call = {"from": venue.owner, "to": venue.executor, "data": data}
            warm = None
            if pyrevm is not None:
                slots = await balance_slots(client, venue, pools)
                warm = Warm(world.rpc_url, update.block.number, slots)
                warm.call(venue.owner, venue.executor, data)  # the fork loads its state
            route_pairs = [p for p in world.pairs if p.address in pools]
            for i in range(iterations):
                world_pairs = world.pairs
                world.pairs = route_pairs  # the noise moves one of our route's pools
                try:
                    await noise_swap(trader, world, rng)
                finally:
                    world.pairs = world_pairs
                update = await anext(blocks)
                head = venue._follower.last if venue._follower else None
                assert head is not None
                options = options_at(world.rpc_url, venue, call, pools, head, warm)
                names = list(options)
                names = names[i % len(names) :] + names[: i % len(names)]
                answers: dict[str, int | None] = {}
                for name in names:
                    wall, cpu, answers[name] = await timed(options[name])
                    samples[name].append((wall, cpu))
                for name, answer in answers.items():
                    agree[name] += answer == answers["latest"]
                profitable += answers["latest"] is not None
    finally:
        await trader.close()
        await venue.stop()
    return {
        "samples": samples,
        "agree": agree,
        "iterations": iterations,
        "profitable": profitable,
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(result: dict[str, Any], took: float) -> None:
    print(
        f"simulation at the head: {result['iterations']} heads ({result['profitable']} where "
        f"the call succeeds: its answer is the profit), {took:.0f} s"
    )
    print(f"{'option':<12}{'wall p50':>10}{'p90':>9}{'p99':>9}{'cpu p50':>10}  agrees")
    base = None
    for name in OPTIONS:
        rows = result["samples"][name]
        if not rows:
            print(f"{name:<12}  (skipped: pyrevm not installed)")
            continue
        walls, cpus = [w for w, _ in rows], [c for _, c in rows]
        p50 = statistics.median(walls)
        base = base or p50
        print(
            f"{name:<12}{p50:>9.3f}ms{pct(walls, 0.9):>7.3f}ms{pct(walls, 0.99):>7.3f}ms"
            f"{statistics.median(cpus):>8.3f}ms  {result['agree'][name]}/{len(rows)}"
            f"  ({p50 / base:.2f}x latest)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logging.getLogger("arbctl").setLevel(logging.WARNING)
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="arbctl-bench-sim-") as state:
        devnet = lifecycle.up(Path(state), progress=lambda _line: None)
        try:
            result = asyncio.run(bench(devnet.world, args.iterations, random.Random(args.seed)))
        finally:
            lifecycle.down(Path(state))
    report(result, time.monotonic() - began)


if __name__ == "__main__":
    main()
