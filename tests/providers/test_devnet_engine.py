"""A real engine process (`arbctl up`) on the devnet: the operator's pin and the kill switch.

The pin test runs the engine through the fault proxies (p0, p1, p2) and steers it with
`arbctl`; the kill test runs it straight on anvil with automine off, so the engine's
transactions wait in the pool when the kill arrives. Chain facts are read from anvil
directly, never through the code under test.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from web3.contract import Contract

from engine.devnet import anvil, artifacts, operator_files
from engine.devnet.batch_call import Send
from engine.devnet.chain import connect
from engine.devnet.market_spec import DEADLINE
from engine.devnet.world import World
from tests.conftest import EngineHandle, wait_until
from tests.devnet.test_evm_lenders import _drain
from tests.devnet.test_evm_trading import SWAP, head, nonce, swap
from tests.guards.conftest import rpc, wait_for_trigger
from tests.providers.conftest import proxied_toml
from tests.providers.proxy import FaultProxy

pytestmark = pytest.mark.devnet

WAIT_S = 30.0
KILLS = 20
DAI = 30_000 * 10**18


def up(engine_factory: Callable[..., EngineHandle], text: str, world: World) -> EngineHandle:
    engine = engine_factory(text)
    assert wait_until(lambda: settled(engine, world), WAIT_S), engine.log.read_text()[-3000:]
    return engine


def settled(engine: EngineHandle, world: World) -> bool:
    status = rpc(engine, "status")
    return status["block"] == head(world) and status["in_flight"] == 0


def cli_json(engine: EngineHandle, *args: str) -> dict[str, Any]:
    done = engine.cli(*args, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


# --- the pin -------------------------------------------------------------------------------
def test_a_pin_holds_until_cleared_and_trading_waits_with_a_trigger(
    world: World,
    clean_chain: None,
    engine_factory: Callable[..., EngineHandle],
    proxies: list[FaultProxy],
) -> None:
    engine = up(engine_factory, proxied_toml(world, proxies), world)
    pinned = cli_json(engine, "failover", "p0", "--reason", "pin: p1 under maintenance")
    assert (pinned["pinned_provider"], pinned["mode"], pinned["active"]) == ("p0", "pinned", "p0")

    proxies[0].faults.stall = True  # the pinned endpoint hangs
    for _ in range(3):
        anvil.mine(world.rpc_url)
    paused = wait_for_trigger(engine, "pinned_provider", "paused")
    assert "p0" in paused["reason"]
    view = rpc(engine, "providers")["rpc"]
    p0 = next(p for p in view["providers"] if p["name"] == "p0")
    assert (view["active"], view["mode"], p0["usable"]) == ("p0", "pinned", False)

    sent, first_nonce = rpc(engine, "status")["gate"]["sent"], nonce(world, world.operator)
    block = swap(world, "uniswap", "DAI", "WETH", DAI)  # a dislocation the pin cannot show
    assert rpc(engine, "status")["gate"]["sent"] == sent
    assert nonce(world, world.operator, "pending") == first_nonce

    automatic = cli_json(engine, "failover", "--auto", "--reason", "maintenance over")
    assert automatic["mode"] == "auto" and automatic["active"] != "p0"
    wait_for_trigger(engine, "pinned_provider", "resumed")
    assert wait_until(lambda: rpc(engine, "status")["gate"]["sent"] > sent, WAIT_S)
    assert rpc(engine, "status")["block"] >= block

    entries = [
        e for e in rpc(engine, "audit", {"limit": 100})["entries"] if e["action"] == "failover"
    ]
    assert {e["reason"] for e in entries} == {"pin: p1 under maintenance", "maintenance over"}
    assert all(e["uid"] == os.getuid() and e["outcome"] == "ok" for e in entries)
    events = rpc(engine, "events.recent", {"topics": ["provider"], "limit": 500})["events"]
    by_operator = [e["data"] for e in events if e["data"].get("actor")]
    assert [d["event"] for d in by_operator] == ["pinned", "automatic"]
    assert all(d["actor"]["uid"] == os.getuid() for d in by_operator)


# --- a drained lender ----------------------------------------------------------------------
@pytest.fixture
def erc20(world: World) -> Callable[[str], Contract]:
    """As the devnet suite's: a token contract by address, with the ERC-20 ABI."""
    w3, abi = connect(world.rpc_url), artifacts.load(artifacts.ERC20).abi
    return lambda address: w3.eth.contract(address=address, abi=abi)


def test_a_drained_vault_is_failed_over_by_the_engine_and_shown_to_the_operator(
    world: World,
    clean_chain: None,
    engine_factory: Callable[..., EngineHandle],
    erc20: Callable[[str], Contract],
) -> None:
    """The engine borrows from the Balancer Vault, then Aave. The Vault loses its WETH and
    USDC (what cycles start from); the engine reads that with the block, and the next
    dislocation is failed over to Aave before any dry run: a `flash_liquidity` failover
    trigger, the trade borrowed from Aave and mined, the Vault down with "liquidity
    short" in `providers`, the status' providers (the console's panel) and `triage`."""
    vault, aave = world.lender("balancer-v2"), world.lender("aave-v3")
    lenders = (
        f'\n[[providers]]\nname = "vault"\nkind = "liquidity"\npriority = 0\n'
        f'url = "balancer-v2://{vault.address}?fee_bps=0"\n'
        f'\n[[providers]]\nname = "aave"\nkind = "liquidity"\npriority = 1\n'
        f'url = "aave-v3://{aave.address}?fee_bps=9"\n'
    )
    # the devnet's V2 config (no V3 factory, none of the lenders `devnet up` lists) + these
    v2_only = operator_files.render_config(dataclasses.replace(world, v3=None))
    engine = up(engine_factory, v2_only + lenders, world)
    assert rpc(engine, "providers")["liquidity"]["active"] == "vault"
    for symbol in ("WETH", "USDC"):
        _drain(world, erc20, world.token(symbol).address, vault.address)
    booked = rpc(engine, "status")["trades_booked"]

    block = swap(world, "uniswap", "DAI", "WETH", DAI)

    failover = wait_for_trigger(engine, "flash_liquidity", "failover")
    assert "liquidity short" in failover["reason"] and "vault" in failover["reason"]

    # the dislocation's own trade (its opportunity found in the swap's block): a trade of
    # an earlier block still settling may be booked in between
    def of_the_swap() -> list[dict[str, Any]]:
        trades = rpc(engine, "trades", {"limit": 20})["trades"]
        return [t for t in trades if t["opportunity_id"].startswith(f"{block}-")]

    assert wait_until(lambda: bool(of_the_swap()), WAIT_S), rpc(engine, "trades", {"limit": 5})
    assert rpc(engine, "status")["trades_booked"] > booked
    trade = of_the_swap()[-1]
    assert trade["status"] == "success" and trade["block_number"] > block
    receipt = anvil.rpc(world.rpc_url, "eth_getTransactionReceipt", [trade["tx_hash"]])
    # traded on the block after the fault: under automine only our own sends (another
    # order of the same plan) may be mined between the swap and this trade
    for number in range(block + 1, trade["block_number"]):
        mined = anvil.rpc(world.rpc_url, "eth_getBlockByNumber", [hex(number), True])
        assert {tx["from"].lower() for tx in mined["transactions"]} <= {receipt["from"].lower()}
    assert any(log["address"].lower() == aave.address.lower() for log in receipt["logs"])
    view = cli_json(engine, "providers")["liquidity"]
    shown = {p["name"]: p for p in view["providers"]}
    assert view["active"] == "aave" and shown["vault"]["status"] == "down"
    assert "liquidity short" in shown["vault"]["last_error"]
    listed = {p["name"]: p for p in rpc(engine, "status")["providers"]}
    assert listed["vault"]["status"] == "down" and listed["vault"]["kind"] == "liquidity"
    done = engine.cli("triage", "--json")
    finding = next(f for f in json.loads(done.stdout)["findings"] if f["key"] == "provider_down")
    assert "lender vault" in finding["title"] and finding["scenario"] == "Provider Failure"
    assert any("liquidity short" in line for line in finding["evidence"])
    online = cli_json(engine, "providers", "mark-online", "vault", "--reason", "test: refilled?")
    assert online["kind"] == "liquidity"


# --- the kill switch -----------------------------------------------------------------------
def test_kill_with_transactions_pending_twenty_times(
    world: World, clean_chain: None, engine_factory: Callable[..., EngineHandle]
) -> None:
    engine = up(engine_factory, kill_config(world), world)
    anvil.set_automine(world.rpc_url, False)
    try:
        for round_ in range(KILLS):
            kill_round(world, engine, round_)
    finally:
        anvil.set_automine(world.rpc_url, True)


def kill_config(world: World) -> str:
    """The devnet config as `devnet up` writes it, every trade rule on: a trade the kill
    cancelled is booked as failed in its replacement's block, and must not count as an
    execution failure (or the breaker would open after a few kills and later rounds
    would send nothing)."""
    return operator_files.render_config(world)


def kill_round(world: World, engine: EngineHandle, round_: int) -> None:
    """Dislocate, let the engine send, kill, mine; then put the market back (halted)."""
    if round_:
        rpc(engine, "resume", {"reason": f"kill test: round {round_}"})
    weth = balance(world, world.deployer, "WETH")
    send_swap(world, "DAI", "WETH", DAI)
    anvil.mine(world.rpc_url)
    operator = world.operator
    sending = wait_until(lambda: nonce(world, operator, "pending") > nonce(world, operator), WAIT_S)
    assert sending, f"round {round_}: nothing sent; breaker {rpc(engine, 'breaker')}"
    mined_before, waiting = nonce(world, operator), pooled(world, operator)

    kill(engine, round_)
    cancelled = cancellation(engine, round_ + 1)
    anvil.mine(world.rpc_url)

    assert waiting and waiting <= set(cancelled)  # every one we saw waiting was replaced
    for tx_hash in cancelled:
        assert anvil.rpc(world.rpc_url, "eth_getTransactionReceipt", [tx_hash]) is None
    used = mined_before + len(cancelled)  # each nonce went to its replacement, none more
    assert nonce(world, operator) == used
    send_swap(world, "WETH", "DAI", balance(world, world.deployer, "WETH") - weth)
    anvil.mine(world.rpc_url)
    assert wait_until(lambda: settled(engine, world), WAIT_S)
    assert nonce(world, operator, "pending") == nonce(world, operator) == used  # none since


def kill(engine: EngineHandle, round_: int) -> None:
    reason = f"kill test: round {round_}"
    if round_ == 0:  # once the way an operator types it
        report = cli_json(engine, "kill", "--reason", reason)
        assert report["acknowledged"] and report["via"] == "engine"
    else:
        assert rpc(engine, "kill", {"reason": reason})["state"] == "halted"


def cancellation(engine: EngineHandle, count: int) -> list[str]:
    """The hashes the count-th kill's cancellation replaced (its audit entry)."""
    found: list[dict[str, Any]] = []

    def entries() -> bool:
        audit = rpc(engine, "audit", {"limit": 500})["entries"]
        found[:] = [e for e in audit if e["action"] == "kill.cancel_in_flight"]
        return len(found) >= count

    assert wait_until(entries, WAIT_S)
    newest = max(found, key=lambda e: e["ts"])
    assert newest["outcome"] == "ok"
    return [h.lower() for h in newest["params"]["cancelled"]]


def pooled(world: World, address: str) -> set[str]:
    """Hashes of `address`'s transactions waiting in anvil's pool."""
    content = anvil.rpc(world.rpc_url, "txpool_content")["pending"]
    mine = next((txs for sender, txs in content.items() if sender.lower() == address.lower()), {})
    return {tx["hash"].lower() for tx in mine.values()}


def balance(world: World, holder: str, symbol: str) -> int:
    data = "0x70a08231" + holder.lower().removeprefix("0x").rjust(64, "0")
    call = {"to": world.token(symbol).address, "data": data}
    return int(anvil.rpc(world.rpc_url, "eth_call", [call, "latest"]), 16)


def send_swap(world: World, sell: str, buy: str, amount: int) -> None:
    """The deployer swaps on uniswap; with automine off it waits for the next mine."""
    path = [world.token(sell).address, world.token(buy).address]
    count = nonce(world, world.deployer, "pending")
    args = (amount, 0, path, world.deployer, DEADLINE)
    send = Send(world.deployer, world.dex("uniswap").router, SWAP, args, gas=300_000)
    anvil.rpc(world.rpc_url, *send.payload(count))
