"""What `arbctl devnet status` shows, gathered with stdlib JSON-RPC only.

One batched HTTP request reads the head, every account's ETH and token balances and every
pair's reserves, so the command answers quickly and without importing web3. ABI encoding
here is the two fixed-layout calls it needs (`balanceOf`, `getReserves`), done by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.devnet import anvil
from engine.devnet import world as world_records
from engine.devnet.errors import DevnetError
from engine.devnet.world import World

BALANCE_OF = "0x70a08231"  # balanceOf(address)
GET_RESERVES = "0x0902f1ac"  # getReserves()
TRADER_COUNT = 3  # anvil accounts 1..3 (see noise.TRADER_ACCOUNTS)


class NotRunning(DevnetError):
    """No devnet is running for this state directory."""


def running(state: Path) -> tuple[anvil.AnvilHandle, World]:
    """The live anvil and its world, or NotRunning saying what is missing."""
    handle = anvil.read_handle(state)
    if handle is None or not anvil.is_running(handle):
        raise NotRunning(f"no devnet is running for {state} (start one: arbctl devnet up)")
    world = world_records.load(state)
    if world is None:
        raise NotRunning(
            f"anvil runs on {handle.url} but {state} has no deployed world; "
            "run `arbctl devnet down` and `arbctl devnet up` again"
        )
    return handle, world


def report(state: Path) -> dict[str, Any]:
    """The status document (`--json` prints it as is; field names are stable)."""
    handle, world = running(state)
    accounts = _accounts(world)
    calls: list[tuple[str, list[Any]]] = [("eth_blockNumber", [])]
    for _, address in accounts:
        calls.append(("eth_getBalance", [address, "latest"]))
        calls.extend(_balance_call(token.address, address) for token in world.tokens)
    calls.extend(
        ("eth_call", [{"to": p.address, "data": GET_RESERVES}, "latest"]) for p in world.pairs
    )
    results = iter(anvil.rpc_batch(world.rpc_url, calls))
    block = int(next(results), 16)
    rows = [_account_row(role, address, world, results) for role, address in accounts]
    pairs = [_pair_row(pair, next(results)) for pair in world.pairs]
    return {
        "running": True,
        "rpc_url": world.rpc_url,
        "chain_id": world.chain_id,
        "pid": handle.pid,
        "block": block,
        "state_dir": str(state),
        "config_file": world.config_file,
        "key_file": world.key_file,
        "contracts": contracts(world),
        "accounts": rows,
        "pairs": pairs,
    }


def contracts(world: World) -> dict[str, Any]:
    return {
        "executor": world.executor,
        "weth": world.weth,
        "tokens": {t.symbol: {"address": t.address, "decimals": t.decimals} for t in world.tokens},
        "dexes": {
            d.name: {"factory": d.factory, "router": d.router, "fee_bps": d.fee_bps}
            for d in world.dexes
        },
    }


def _accounts(world: World) -> list[tuple[str, str]]:
    found = [
        ("deployer", world.deployer),
        ("operator", world.operator),
        ("executor", world.executor),
    ]
    anvil_accounts = anvil.rpc(world.rpc_url, "eth_accounts")
    found.extend(("trader", address) for address in anvil_accounts[1 : 1 + TRADER_COUNT])
    return found


def _balance_call(token: str, holder: str) -> tuple[str, list[Any]]:
    data = BALANCE_OF + holder.lower().removeprefix("0x").rjust(64, "0")
    return "eth_call", [{"to": token, "data": data}, "latest"]


def _account_row(role: str, address: str, world: World, results: Any) -> dict[str, Any]:
    eth = int(next(results), 16)
    tokens = {token.symbol: int(next(results), 16) for token in world.tokens}
    return {"role": role, "address": address, "eth_wei": eth, "tokens": tokens}


def _pair_row(pair: world_records.PairRecord, raw: str) -> dict[str, Any]:
    words = raw.removeprefix("0x")
    reserve0, reserve1 = int(words[0:64], 16), int(words[64:128], 16)
    return {
        "dex": pair.dex,
        "address": pair.address,
        "symbols": list(pair.symbols),
        "reserve0": reserve0,
        "reserve1": reserve1,
    }
