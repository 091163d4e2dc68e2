"""The operator's side of a devnet: a funded key in a 0600 file and the engine's config.

The key is fresh for every devnet (anvil's default keys are public, and a fresh one
proves the engine really reads the key file). It is written once, with 0600 from the
first byte (never created wider and then chmod-ed), and it is never returned to a
caller that could print it: only its address leaves this module.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from engine.devnet.errors import DevnetError
from engine.devnet.world import World

KEY_FILE = "operator.key"
CONFIG_FILE = "arbctl.toml"


class KeyFileError(DevnetError):
    """The key file is unreadable, malformed or too widely readable (message has no key)."""


def create_key_file(directory: Path) -> tuple[Path, str]:
    """Write a new random key to `directory/operator.key` (0600); return (path, address)."""
    from eth_account import Account

    key = secrets.token_bytes(32)
    address = Account.from_key(key).address
    path = directory / KEY_FILE
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("0x" + key.hex() + "\n")
    return path, address


def read_key(path: Path) -> bytes:
    """The private key bytes, read as the engine's signer reads them (one set of rules:
    owner-only mode, a 32-byte hex key); the message never holds the key."""
    from engine.execution.signer import KeyLoadError, read_key_file  # eth_keys: only here

    try:
        return read_key_file(path)
    except KeyLoadError as exc:
        raise KeyFileError(str(exc)) from None


# The devnet's lenders as liquidity sources, in order of preference: the Vault lends
# every token for nothing (a fresh devnet's fee is zero), Aave two of them at its
# premium, and the route's first V2 pair is the last resort (V2 routes only).
LENDER_PRIORITY = {"balancer-v2": 0, "aave-v3": 1}
LENDER_FEE_BPS = {"balancer-v2": 0, "aave-v3": 9}  # lenders.AAVE_PREMIUM_BPS (web3-free here)


def render_config(world: World, native: str = "WETH", quote: str = "USDC") -> str:
    """The TOML the engine reads for an `evm` venue on this devnet.

    It trades everything `devnet up` deployed: both V2 dexes, the V3 factory's pools
    (found from its PoolCreated logs), borrowing from the devnet's lenders. A route with
    a V3 hop cannot borrow from its first V2 pair (the V3 pool's lock stops the flash
    swap from paying it), so the lenders come first and `pair://first-hop` is kept only
    as the last resort: with it active V2 routes still trade."""
    tokens = ",\n".join(
        f'  {{ address = "{t.address}", symbol = "{t.symbol}", decimals = {t.decimals} }}'
        for t in world.tokens
    )
    factories = ",\n".join(
        f'  {{ name = "{d.name}", address = "{d.factory}", router = "{d.router}", '
        f"fee_bps = {d.fee_bps} }}"
        for d in world.dexes
    )
    return (
        "# Written by `arbctl devnet up` for a local anvil devnet; regenerated on every up.\n"
        "[market]\n"
        'venue = "evm"\n'
        f'native = "{native}"\n'
        f'quote = "{quote}"\n'
        "\n[evm]\n"
        f"chain_id = {world.chain_id}\n"
        f"key_file = {_toml_string(world.key_file)}\n"
        f'executor = "{world.executor}"\n'
        f"tokens = [\n{tokens},\n]\n"
        f"factories = [\n{factories},\n]\n"
        f"{_v3_factories(world)}"
        "\n[[providers]]\n"
        'name = "anvil"\n'
        f'url = "{world.rpc_url}"\n'
        "priority = 0\n"
        f"{_liquidity_sources(world)}"
        "\n[strategy]\n"
        f'base_tokens = ["{native}", "{quote}"]\n'
        "\n[guards]\n"
        "# anvil mines only when a transaction arrives: an idle devnet's head is old by\n"
        "# design, so the stale-head rule would block every opportunity here.\n"
        'disabled = ["max_head_age"]\n'
    )


def _v3_factories(world: World) -> str:
    if world.v3 is None:
        return ""
    return (
        f'v3_factories = [\n  {{ name = "{world.v3.name}", address = "{world.v3.factory}" }},\n]\n'
    )


def _liquidity_sources(world: World) -> str:
    """The lenders `devnet up` funded, then the first V2 pair (none without V3 pools or
    lenders: the engine's default path, first-hop, is then all a route needs)."""
    lenders = [lender for lender in world.lenders if lender.kind in LENDER_PRIORITY]
    if world.v3 is None or not lenders:
        return ""
    sources = [
        (
            lender.kind.split("-")[0],
            f"{lender.kind}://{lender.address}?fee_bps={LENDER_FEE_BPS[lender.kind]}",
            LENDER_PRIORITY[lender.kind],
        )
        for lender in lenders
    ]
    sources.append(("first-pair", "pair://first-hop", len(LENDER_PRIORITY)))
    return "".join(
        f'\n[[providers]]\nname = "{name}"\nkind = "liquidity"\nurl = "{url}"\n'
        f"priority = {priority}\n"
        for name, url, priority in sources
    )


def write_config(directory: Path, world: World) -> Path:
    path = directory / CONFIG_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(render_config(world))
    temporary.replace(path)
    return path


def _toml_string(value: str) -> str:
    """A TOML basic string; paths may contain backslashes or quotes."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
