"""Addresses as people name them: token symbols, pool kinds, and each token's unit.

The engine sends routes as hex addresses and money as integer base units (exact, for
scripts). For a person the CLI asks the engine once for its `names` (docs/protocol.md)
and shows `WETH→USDC→WETH` with the pools' dex and amounts through the one presentation
rule (`engine.units.money`). An engine that cannot answer `names` (older, or still
loading) leaves everything as it came: a short address is still better than a guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arbctl.client import Client, EngineUnreachable, RpcError
from engine import units


def short(address: str) -> str:
    """`0x7693…3f20`: an address shortened for a line, recognisable by both ends."""
    return (
        f"{address[:6]}…{address[-4:]}"
        if address.startswith("0x") and len(address) > 12
        else address
    )


@dataclass(frozen=True, slots=True)
class Names:
    tokens: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    pools: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    native: Mapping[str, Any] | None = None
    quote: Mapping[str, Any] | None = None

    @classmethod
    def from_answer(cls, data: Mapping[str, Any] | None) -> Names:
        data = data or {}
        tokens = {str(k).lower(): v for k, v in (data.get("tokens") or {}).items()}
        pools = {str(k).lower(): v for k, v in (data.get("pools") or {}).items()}
        return cls(tokens, pools, data.get("native"), data.get("quote"))

    def unit(self, token: Any) -> Mapping[str, Any] | None:
        """`{symbol, decimals}` of a token address, or None when unknown."""
        return self.tokens.get(str(token or "").lower())

    def symbol(self, token: Any) -> str:
        unit = self.unit(token)
        return str(unit["symbol"]) if unit and unit.get("symbol") else short(str(token or "?"))

    def money(self, amount: Any, token: Any, *, plus: bool = False) -> str:
        """An amount of `token` (an address) as a person reads it."""
        return units.money(amount, self.unit(token), plus=plus)

    def route(self, hops: Any) -> str:
        """`WETH→USDC→WETH` from a hop list; a V3 hop names its kind and fee tier after
        its output: `WETH→USDC v3·0.05%→WETH`."""
        if not isinstance(hops, Sequence) or isinstance(hops, str) or not hops:
            return str(hops or "")
        steps = [self.symbol(h.get("token_out")) + units.hop_suffix(h) for h in hops]
        return "→".join([self.symbol(hops[0].get("token_in")), *steps])

    def kinds(self, hops: Any) -> str:
        """The pools' dex names along a route: `uniswap/sushiswap`."""
        if not isinstance(hops, Sequence) or isinstance(hops, str):
            return ""
        found = [self.pools.get(str(h.get("pool", "")).lower(), {}).get("dex") for h in hops]
        return "/".join(str(d) if d else "?" for d in found)


def fetch(socket: Path) -> Names:
    """The engine's names, or empty ones if it cannot say (never fails the command)."""
    try:
        return Names.from_answer(Client(socket).call("names", {}))
    except (EngineUnreachable, RpcError):
        return Names()
