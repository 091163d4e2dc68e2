"""The market as the engine sees it: tokens, constant-product pools and blocks.

Amounts and reserves are Python ints in base units (the chain's own representation);
nothing here is ever a float. The same records serve the simulated and the EVM venue,
so the search never knows which one it is looking at.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from engine.market.reserve_log import ReserveLog

if TYPE_CHECKING:
    from engine.market.v3.pool import V3PoolState

PoolKind = Literal["v2", "v3"]


@dataclass(frozen=True, slots=True)
class Token:
    address: str
    symbol: str
    decimals: int


@dataclass(slots=True)
class Pool:
    """A pool the search can route through.

    `kind` "v2": a Uniswap V2 style pair; reserves change in place when the venue
    reports a Sync, and `fee_bps` is its swap fee.
    `kind` "v3": a concentrated-liquidity pool; `v3` holds its exact state (price, tick,
    active liquidity, fee in pips, initialised ticks), updated in place from Swap, Mint
    and Burn; `reserve0/1` are the pool's token balances (what it could pay out at
    most) and `fee_bps` is the fee tier rounded to basis points, for display only.

    `slot` and `log`: the pool's place in its market's `ReserveLog` (set by
    `Market.add_pool`); `set_reserves` writes reserves through it, so the search gets
    them without visiting this object (engine.market.reserve_log).
    """

    dex: str
    address: str
    token0: str
    token1: str
    reserve0: int
    reserve1: int
    fee_bps: int = 30
    kind: PoolKind = "v2"
    v3: V3PoolState | None = None
    slot: int = field(default=-1, init=False, compare=False, repr=False)
    log: ReserveLog | None = field(default=None, init=False, compare=False, repr=False)

    def __copy__(self) -> Pool:
        """A detached copy (no slot, no log): writing it never reaches the search."""
        return dataclasses.replace(self)

    def __deepcopy__(self, memo: dict[int, object]) -> Pool:
        """Detached too, with its own copy of the V3 state."""
        found = dataclasses.replace(self, v3=copy.deepcopy(self.v3, memo))
        memo[id(self)] = found
        return found

    def set_reserves(self, reserve0: int, reserve1: int) -> None:
        """Write both reserves, and log them for the search if the pool is in a market."""
        if self.log is None:
            self.reserve0, self.reserve1 = reserve0, reserve1
        else:
            self.log.write(self, reserve0, reserve1)

    @property
    def fee_pips(self) -> int:
        """The swap fee in millionths: a V3 pool's own tier, a V2 pair's bps x 100."""
        if self.v3 is not None:
            return self.v3.fee_pips
        return self.fee_bps * 100

    def reserves_for(self, token_in: str) -> tuple[int, int]:
        """(reserve_in, reserve_out) for a swap that sells `token_in` into this pool."""
        if token_in == self.token0:
            return self.reserve0, self.reserve1
        if token_in == self.token1:
            return self.reserve1, self.reserve0
        raise ValueError(f"token {token_in} is not in pool {self.address}")

    def other(self, token: str) -> str:
        if token == self.token0:
            return self.token1
        if token == self.token1:
            return self.token0
        raise ValueError(f"token {token} is not in pool {self.address}")


@dataclass(frozen=True, slots=True)
class Block:
    number: int
    timestamp: float
    base_fee: int  # wei per gas


@dataclass(frozen=True, slots=True)
class BlockRef:
    """One block by identity: after a reorg a height holds another block, so a number
    alone does not say which chain a reading was taken on."""

    number: int
    hash: str


@dataclass(slots=True)
class Market:
    """Everything the search reads. Venues own the instance and mutate reserves in place."""

    tokens: dict[str, Token] = field(default_factory=dict)
    pools: dict[str, Pool] = field(default_factory=dict)
    native: str = ""  # address of the wrapped native token (WETH): gas is paid in it
    quote: str = ""  # address of the quote currency token (a USD stable coin)
    # reserve writes since the search last looked (engine.market.reserve_log)
    reserve_log: ReserveLog = field(default_factory=ReserveLog, compare=False, repr=False)

    def add_token(self, token: Token) -> None:
        self.tokens[token.address] = token

    def add_pool(self, pool: Pool) -> None:
        for address in (pool.token0, pool.token1):
            if address not in self.tokens:
                raise ValueError(f"pool {pool.address} names unknown token {address}")
        replaced = self.pools.get(pool.address)
        if replaced is not None and replaced is not pool:
            self.reserve_log.detach(replaced)
        self.reserve_log.attach(pool)
        self.pools[pool.address] = pool
