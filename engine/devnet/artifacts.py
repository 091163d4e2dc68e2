"""ABI and creation bytecode of the third-party contracts, read from the npm packages.

The packages' `build/*.json` files (Waffle output) are the only copy of this bytecode we
use: it is installed at run time and never committed. This module also answers the one
question that can silently break a Uniswap V2 deployment: does Router02's hard-coded pair
init code hash match the pair bytecode the factory will CREATE2?
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.devnet.errors import DevnetError
from engine.devnet.npm import package_path

WETH9 = "@uniswap/v2-periphery/build/WETH9.json"
FACTORY = "@uniswap/v2-core/build/UniswapV2Factory.json"
PAIR = "@uniswap/v2-core/build/UniswapV2Pair.json"
ROUTER02 = "@uniswap/v2-periphery/build/UniswapV2Router02.json"
ERC20 = "@uniswap/v2-core/build/IERC20.json"
LIBRARY_SOURCE = "@uniswap/v2-periphery/contracts/libraries/UniswapV2Library.sol"
V3_FACTORY = "@uniswap/v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json"
V3_POOL = "@uniswap/v3-core/artifacts/contracts/UniswapV3Pool.sol/UniswapV3Pool.json"
V3_POSITION_MANAGER = (
    "@uniswap/v3-periphery/artifacts/contracts/"
    "NonfungiblePositionManager.sol/NonfungiblePositionManager.json"
)
V3_SWAP_ROUTER = "@uniswap/v3-periphery/artifacts/contracts/SwapRouter.sol/SwapRouter.json"
V3_QUOTER_V2 = "@uniswap/v3-periphery/artifacts/contracts/lens/QuoterV2.sol/QuoterV2.json"
BALANCER_TASKS = "@balancer-labs/v2-deployments/dist/tasks"
BALANCER_VAULT = f"{BALANCER_TASKS}/20210418-vault/artifact/Vault.json"
BALANCER_AUTHORIZER = f"{BALANCER_TASKS}/20210418-authorizer/artifact/Authorizer.json"
AAVE = "@aave/core-v3/artifacts/contracts"
AAVE_LOGIC = f"{AAVE}/protocol/libraries/logic"
V3_POOL_ADDRESS_SOURCE = "@uniswap/v3-periphery/contracts/libraries/PoolAddress.sol"


class ArtifactError(DevnetError):
    """An artifact is missing, malformed, or inconsistent with another one."""


@dataclass(frozen=True, slots=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes  # creation code, without constructor arguments

    @property
    def bytecode_hex(self) -> str:
        return "0x" + self.bytecode.hex()


@functools.lru_cache(maxsize=32)
def load(relative: str, root: Path | None = None) -> Artifact:
    """Read one Waffle build file (`abi` plus `bytecode` or `evm.bytecode.object`).

    Cached: the noise trader builds a router contract per swap, and Router02's file is big.
    """
    path = package_path(relative, root)
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ArtifactError(f"cannot read artifact {path}: {error}") from error
    code = raw.get("bytecode") or raw.get("evm", {}).get("bytecode", {}).get("object", "")
    return Artifact(name=Path(relative).stem, abi=raw["abi"], bytecode=_hex_bytes(code))


def pair_init_code_hash(root: Path | None = None) -> str:
    """keccak256 of the pair creation code, hex without 0x: what CREATE2 addresses use."""
    from eth_utils import keccak

    return keccak(load(PAIR, root).bytecode).hex()


def router_for_pair_code(root: Path | None = None) -> tuple[Artifact, str]:
    """Router02 that agrees with the installed pair bytecode, and how we got it.

    Router02 computes pair addresses offline (`UniswapV2Library.pairFor`) from a hash
    hard-coded at compile time. If the npm pair bytecode hashes differently, every router
    call would target an empty address. The hash is a PUSH32 immediate in the router's
    bytecode, so when they differ we substitute the real hash (same length, no offsets
    move) rather than give up; the executor never relies on it (it is given pair
    addresses taken from `factory.getPair`).

    Returns (artifact, "match" | "patched").
    """
    router = load(ROUTER02, root)
    actual = bytes.fromhex(pair_init_code_hash(root))
    expected = bytes.fromhex(router_init_code_hash(root))
    if expected not in router.bytecode:
        raise ArtifactError(
            f"Router02's bytecode does not contain the init code hash {expected.hex()} of its "
            "own UniswapV2Library source: cannot check or fix how it addresses pairs"
        )
    if actual == expected:
        return router, "match"
    patched = router.bytecode.replace(expected, actual)
    return Artifact(router.name, router.abi, patched), "patched"


def router_init_code_hash(root: Path | None = None) -> str:
    """The hash `UniswapV2Library.pairFor` hard-codes, read from the package's own source."""
    path = package_path(LIBRARY_SOURCE, root)
    try:
        found = re.findall(r"hex'([0-9a-fA-F]{64})'", path.read_text())
    except OSError as error:
        raise ArtifactError(f"cannot read {path}: {error}") from error
    if len(found) != 1:
        raise ArtifactError(f"expected one init code hash literal in {path}, found {len(found)}")
    return found[0].lower()


def load_linked(relative: str, libraries: dict[str, str], root: Path | None = None) -> Artifact:
    """A Hardhat artifact whose bytecode needs libraries: each placeholder is replaced by
    the address of the library of that name (`linkReferences` gives the byte offsets)."""
    path = package_path(relative, root)
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ArtifactError(f"cannot read artifact {path}: {error}") from error
    code = raw["bytecode"].removeprefix("0x")
    for by_name in raw.get("linkReferences", {}).values():
        for name, places in by_name.items():
            if name not in libraries:
                raise ArtifactError(f"{Path(relative).stem} needs library {name}, not deployed")
            address = libraries[name].removeprefix("0x").lower()
            for place in places:
                start = place["start"] * 2
                code = code[:start] + address + code[start + place["length"] * 2 :]
    return Artifact(name=Path(relative).stem, abi=raw["abi"], bytecode=_hex_bytes(code))


def v3_pool_init_code_hash(root: Path | None = None) -> str:
    """keccak256 of the V3 pool creation code, hex without 0x (CREATE2 addresses)."""
    from eth_utils import keccak

    return keccak(load(V3_POOL, root).bytecode).hex()


def check_v3_periphery(root: Path | None = None) -> None:
    """The periphery computes pool addresses from a hard-coded init code hash; refuse a
    v3-core build whose pool bytecode hashes differently (every callback would fail)."""
    path = package_path(V3_POOL_ADDRESS_SOURCE, root)
    try:
        found = re.findall(r"0x([0-9a-fA-F]{64})", path.read_text())
    except OSError as error:
        raise ArtifactError(f"cannot read {path}: {error}") from error
    actual = v3_pool_init_code_hash(root)
    if [h.lower() for h in found] != [actual]:
        raise ArtifactError(
            f"the V3 periphery's POOL_INIT_CODE_HASH {found} does not match the installed "
            f"v3-core pool bytecode ({actual}): pin matching @uniswap/v3-core and v3-periphery"
        )


def _hex_bytes(code: str) -> bytes:
    """Creation code; empty for interfaces (ABI only), refused if it needs library linking."""
    code = code.removeprefix("0x")
    if "__" in code:
        raise ArtifactError("artifact has unlinked library placeholders")
    return bytes.fromhex(code)
