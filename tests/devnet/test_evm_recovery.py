"""A real engine process on the devnet, SIGKILLed between sending a transaction and
booking it: the restart finds the transaction from the chain and books it `recovered`,
exactly once, and the books still match the wallet to the wei.

The engine is killed the way it happens in production: anvil's automine is off, so the
engine's transaction waits in the pool (sent, no receipt, nothing booked) when SIGKILL
arrives. The pid is the one `arbctl up` reported for this test's own engine. Chain facts
are read from anvil directly, never through the code under test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.devnet import anvil
from engine.devnet.world import World
from engine.market.evm.venue import NATIVE_ASSET
from tests.conftest import EngineHandle, wait_until
from tests.devnet.test_evm_trading import chain_balances, change, nonce
from tests.guards.conftest import rpc
from tests.providers.test_devnet_engine import (
    DAI,
    WAIT_S,
    cancellation,
    cli_json,
    kill_config,
    pooled,
    send_swap,
    settled,
    up,
)

pytestmark = pytest.mark.devnet


def test_a_transaction_sent_before_a_sigkill_is_booked_recovered_once_at_restart(
    world: World, clean_chain: None, engine_factory: Callable[..., EngineHandle]
) -> None:
    operator = world.operator
    start = chain_balances(world, operator)
    engine = up(engine_factory, kill_config(world), world)
    assert wait_until(lambda: rpc(engine, "status")["ledger"]["pending"] == 0, WAIT_S)

    sent = _sent_then_killed(world, engine)
    for tx_hash in sent:  # mined while no engine was there to book it
        assert anvil.rpc(world.rpc_url, "eth_getTransactionReceipt", [tx_hash]) is not None
    restart(engine, world)

    trades = all_trades(engine)
    hashes = Counter(t["tx_hash"].lower() for t in trades)
    assert [hashes[tx_hash] for tx_hash in sent] == [1] * len(sent)
    recovered = [t for t in trades if t.get("recovered")]
    assert sorted(t["tx_hash"].lower() for t in recovered) == sorted(sent)
    assert all(t["block_number"] > 0 and t["nonce"] is not None for t in recovered)
    assert rpc(engine, "status")["recovery"]["recovered"] == len(sent)
    assert trades_table(engine).count("(recovered)") == len(sent)
    assert change(start, chain_balances(world, operator)) == booked(trades)
    assert cli_json(engine, "reconcile")["reconciled"]

    engine.stop()
    restart(engine, world)  # a second restart books nothing twice
    again = all_trades(engine)
    assert sorted(t["id"] for t in again) == sorted(t["id"] for t in trades)
    assert rpc(engine, "status")["recovery"]["recovered"] == 0
    assert change(start, chain_balances(world, operator)) == booked(again)


def _sent_then_killed(world: World, engine: EngineHandle, mine: bool = True) -> list[str]:
    """Dislocate with automine off, wait until the engine has sent, SIGKILL it; then mine
    the transaction (or leave it in the pool, automine still off, with `mine=False`)."""
    operator = world.operator
    anvil.set_automine(world.rpc_url, False)
    try:
        send_swap(world, "DAI", "WETH", DAI)
        anvil.mine(world.rpc_url)
        sending = lambda: nonce(world, operator, "pending") > nonce(world, operator)  # noqa: E731
        assert wait_until(sending, WAIT_S), engine.log.read_text()[-3000:]
        sent = sorted(pooled(world, operator))
        os.kill(engine.pid, signal.SIGKILL)  # the pid `arbctl up` gave this test
        assert wait_until(lambda: not _alive(engine.pid), WAIT_S)
        if not mine:
            return sent
        anvil.mine(world.rpc_url)
    finally:
        if mine:
            anvil.set_automine(world.rpc_url, True)
    assert sent
    return sent


def restart(engine: EngineHandle, world: World) -> None:
    engine.start()
    assert wait_until(lambda: settled(engine, world), WAIT_S), engine.log.read_text()[-3000:]


def all_trades(engine: EngineHandle) -> list[dict[str, Any]]:
    return cli_json(engine, "trades", "--limit", "10000")["trades"]


def trades_table(engine: EngineHandle) -> str:
    """`arbctl trades` as a person sees it, on a terminal wide enough not to wrap."""
    command = [sys.executable, "-m", "arbctl", "trades", "--limit", "10000"]
    env = {**engine.env(), "COLUMNS": "250"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def booked(trades: list[dict[str, Any]]) -> dict[str, int]:
    """What the ledger says the wallet gained, per token (gas in the native asset)."""
    total: Counter[str] = Counter()
    for trade in trades:
        total[trade["token"]] += int(trade["profit_token"])
        total[NATIVE_ASSET] -= int(trade["gas_cost_wei"])
    return {k: v for k, v in total.items() if v}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_transaction_still_pending_at_restart_is_waited_for_and_booked_recovered(
    world: World, clean_chain: None, engine_factory: Callable[..., EngineHandle]
) -> None:
    operator = world.operator
    start = chain_balances(world, operator)
    engine = up(engine_factory, kill_config(world), world)
    assert wait_until(lambda: rpc(engine, "status")["ledger"]["pending"] == 0, WAIT_S)

    anvil.set_automine(world.rpc_url, False)
    try:
        sent = _sent_then_killed(world, engine, mine=False)
        engine.start()  # the transaction is still in the pool
        waiting = lambda: "waiting up to" in engine.log.read_text()  # noqa: E731
        assert wait_until(waiting, WAIT_S), engine.log.read_text()[-3000:]
        anvil.mine(world.rpc_url)
    finally:
        anvil.set_automine(world.rpc_url, True)
    assert wait_until(lambda: settled(engine, world), WAIT_S), engine.log.read_text()[-3000:]

    trades = all_trades(engine)
    recovered = sorted(t["tx_hash"].lower() for t in trades if t.get("recovered"))
    assert recovered == sent
    assert rpc(engine, "status")["recovery"]["pending"] == 0
    assert change(start, chain_balances(world, operator)) == booked(trades)
    assert cli_json(engine, "reconcile")["reconciled"]


def test_a_kill_switch_cancel_mined_after_a_sigkill_is_booked_recovered_with_its_gas(
    world: World, clean_chain: None, engine_factory: Callable[..., EngineHandle]
) -> None:
    operator = world.operator
    start = chain_balances(world, operator)
    engine = up(engine_factory, kill_config(world), world)
    assert wait_until(lambda: rpc(engine, "status")["ledger"]["pending"] == 0, WAIT_S)

    anvil.set_automine(world.rpc_url, False)
    try:
        send_swap(world, "DAI", "WETH", DAI)
        anvil.mine(world.rpc_url)
        sending = lambda: nonce(world, operator, "pending") > nonce(world, operator)  # noqa: E731
        assert wait_until(sending, WAIT_S), engine.log.read_text()[-3000:]
        assert rpc(engine, "kill", {"reason": "recovery test"})["state"] == "halted"
        replaced = cancellation(engine, 1)
        os.kill(engine.pid, signal.SIGKILL)  # the pid `arbctl up` gave this test
        assert wait_until(lambda: not _alive(engine.pid), WAIT_S)
        anvil.mine(world.rpc_url)  # the replacements are mined, nobody books them
    finally:
        anvil.set_automine(world.rpc_url, True)
    for tx_hash in replaced:
        assert anvil.rpc(world.rpc_url, "eth_getTransactionReceipt", [tx_hash]) is None
    restart(engine, world)  # comes back halted: the kill was persisted

    trades = all_trades(engine)
    recovered = [t for t in trades if t.get("recovered")]
    assert len(recovered) == len(replaced) > 0
    assert all(t["status"] == "failed" and int(t["gas_cost_wei"]) > 0 for t in recovered)
    assert all("cancelled by kill switch" in t["revert_reason"] for t in recovered)
    assert change(start, chain_balances(world, operator)) == booked(trades)
