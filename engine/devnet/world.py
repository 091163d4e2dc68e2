"""What a deployed devnet consists of, as plain records saved next to the anvil handle.

`world.json` lets later commands (`status`, `trade`, tests, the engine's own devnet
fixtures) find every address without re-deploying or importing web3. It holds addresses
and paths only; the operator's private key lives in its own 0600 file and never here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

WORLD_FILE = "world.json"


@dataclass(frozen=True, slots=True)
class TokenRecord:
    symbol: str
    address: str
    decimals: int


@dataclass(frozen=True, slots=True)
class DexRecord:
    name: str
    factory: str
    router: str
    fee_bps: int = 30


@dataclass(frozen=True, slots=True)
class PairRecord:
    dex: str
    address: str
    token0: str  # addresses, in the pair's own (sorted) order
    token1: str
    symbols: tuple[str, str]  # the pair's tokens by symbol, in token0/token1 order


@dataclass(frozen=True, slots=True)
class V3DexRecord:
    """A Uniswap V3 deployment: factory, and the periphery contracts tools use."""

    name: str
    factory: str
    positions: str  # NonfungiblePositionManager
    router: str  # SwapRouter
    quoter: str  # QuoterV2


@dataclass(frozen=True, slots=True)
class V3PoolRecord:
    dex: str
    address: str
    token0: str
    token1: str
    symbols: tuple[str, str]
    fee_pips: int
    spacing: int


@dataclass(frozen=True, slots=True)
class LenderRecord:
    """A flash-loan lender the devnet funded: `kind` is "balancer-v2" or "aave-v3"."""

    kind: str
    address: str  # the Vault, or the Aave Pool (proxy)
    tokens: tuple[str, ...]  # symbols it can lend


@dataclass(slots=True)
class World:
    chain_id: int
    rpc_url: str
    deployer: str
    operator: str
    executor: str
    weth: str
    tokens: list[TokenRecord] = field(default_factory=list)
    dexes: list[DexRecord] = field(default_factory=list)
    pairs: list[PairRecord] = field(default_factory=list)
    pair_init_code_hash: str = ""
    router_bytecode: str = "match"  # "match", or "patched" if the hash had to be replaced
    config_file: str = ""
    key_file: str = ""
    v3: V3DexRecord | None = None
    v3_pools: list[V3PoolRecord] = field(default_factory=list)
    lenders: list[LenderRecord] = field(default_factory=list)

    def token(self, symbol: str) -> TokenRecord:
        for token in self.tokens:
            if token.symbol == symbol:
                return token
        raise KeyError(f"no token {symbol} in this devnet")

    def dex(self, name: str) -> DexRecord:
        for dex in self.dexes:
            if dex.name == name:
                return dex
        raise KeyError(f"no dex {name} in this devnet")

    def pair(self, dex: str, symbol_a: str, symbol_b: str) -> PairRecord:
        wanted = {symbol_a, symbol_b}
        for pair in self.pairs:
            if pair.dex == dex and set(pair.symbols) == wanted:
                return pair
        raise KeyError(f"no {symbol_a}/{symbol_b} pair on {dex}")

    def lender(self, kind: str) -> LenderRecord:
        for lender in self.lenders:
            if lender.kind == kind:
                return lender
        raise KeyError(f"no {kind} lender in this devnet")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> World:
        pairs = [{**pair, "symbols": tuple(pair["symbols"])} for pair in raw.get("pairs", [])]
        v3_pools = [{**p, "symbols": tuple(p["symbols"])} for p in raw.get("v3_pools", [])]
        nested = ("tokens", "dexes", "pairs", "v3", "v3_pools", "lenders")
        return cls(
            **{k: v for k, v in raw.items() if k not in nested},
            tokens=[TokenRecord(**token) for token in raw.get("tokens", [])],
            dexes=[DexRecord(**dex) for dex in raw.get("dexes", [])],
            pairs=[PairRecord(**pair) for pair in pairs],
            v3=V3DexRecord(**raw["v3"]) if raw.get("v3") else None,
            v3_pools=[V3PoolRecord(**p) for p in v3_pools],
            lenders=[
                LenderRecord(lender["kind"], lender["address"], tuple(lender["tokens"]))
                for lender in raw.get("lenders", [])
            ],
        )


def save(directory: Path, world: World) -> Path:
    path = directory / WORLD_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(world.to_json(), indent=2) + "\n")
    temporary.replace(path)
    return path


def load(directory: Path) -> World | None:
    try:
        return World.from_json(json.loads((directory / WORLD_FILE).read_text()))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def remove(directory: Path) -> None:
    (directory / WORLD_FILE).unlink(missing_ok=True)
