"""The engine on the config `arbctl devnet up` writes, as an operator runs it.

`arbctl engine run --config <the devnet's own config>` in a subprocess (the daemon, its
default guards, its lenders from `[[providers]]`, its SQLite ledger), never told
anything beyond that file: V3 pools and V2<->V3 pairs dislocated with the SwapRouter
are traded in the next block, and what its ledger booked is what the chain moved, to
the wei. The chain is moved and read with the devnet's JSON-RPC helpers only.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from engine.devnet.world import World
from engine.ledger.records import TradeRecord
from engine.ledger.sqlite import SqliteLedger
from tests.devnet.test_evm_keys import Daemon
from tests.devnet.test_evm_trading import booked, chain_balances, change, head
from tests.devnet.test_evm_v3 import kinds, v3_pool, v3_swap

pytestmark = [pytest.mark.devnet, pytest.mark.slow]


def settle(daemon: Daemon, world: World, after: int = 0) -> None:
    """The daemon has seen the chain's head with nothing in flight, twice a moment apart
    (under automine a trade mines its own block, which the daemon then takes in)."""

    def quiet(status: dict[str, Any]) -> bool:
        block = status.get("block") or 0
        return block >= max(after, head(world)) and status.get("in_flight") == 0

    for _ in range(3):
        daemon.wait_for(quiet, f"the daemon to settle after block {after}")
        time.sleep(0.5)


def ledger_trades(daemon: Daemon) -> list[TradeRecord]:
    async def read() -> list[TradeRecord]:
        store = SqliteLedger(daemon.dir / "state" / "ledger.sqlite3")
        await store.open()
        try:
            return await store.list_trades(limit=10_000)
        finally:
            await store.close()

    return asyncio.run(read())


@pytest.fixture
def daemon(world: World, clean_chain: None) -> Any:
    running = Daemon(Path(world.config_file))
    yield running
    running.cleanup()


def test_the_engine_on_the_generated_config_trades_v3_and_v2_v3_dislocations_to_the_wei(
    world: World, daemon: Daemon
) -> None:
    start = chain_balances(world, world.operator)
    daemon.start()
    daemon.wait_for(lambda s: s["state"] == "running" and s.get("venue") == "evm", "running")
    settle(daemon, world)  # the devnet's built-in dislocations go first

    v3_only = v3_swap(world, v3_pool(world, "WETH", "USDC", 500), "WETH", 400 * 10**18)
    settle(daemon, world, after=v3_only)
    mixed = v3_swap(world, v3_pool(world, "WBTC", "WETH", 3000), "WETH", 300 * 10**18)
    settle(daemon, world, after=mixed)
    assert daemon.finish(signal.SIGTERM) == 0, daemon.output[-4000:]

    trades = ledger_trades(daemon)
    for block, wanted in ((v3_only, ({"v3"}, {"v2", "v3"})), (mixed, ({"v2", "v3"},))):
        ours = [t for t in trades if t.opportunity_id.startswith(f"{block}-")]
        matching = [t for t in ours if kinds(t) in wanted]
        assert matching, [(t.opportunity_id, kinds(t), t.status) for t in trades]
        assert all(t.status == "success" for t in matching), [t.revert_reason for t in matching]
        assert min(t.block_number for t in matching) == block + 1
    assert change(start, chain_balances(world, world.operator)) == booked(trades)
