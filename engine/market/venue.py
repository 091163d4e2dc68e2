"""The venue interface: what the engine needs from a market, simulated or on-chain.

The daemon, the search and the executors only see these types, so the embedded `sim`
venue and the `evm` venue are interchangeable behind one composition root. The order
(`ArbOrder`) and its `Receipt` are the contract between an executor and the venue's
broadcaster: plain records of addresses and ints, so the market layer never imports
strategy or execution code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from engine.market.errors import MarketError
from engine.market.model import Block, Market
from engine.providers.selector import ProviderStatus

TxStatus = Literal["success", "reverted", "failed"]


# Why an order never executed, when the engine itself withdrew it. Receipts carry these
# as the start of their reason (a chain venue appends detail), and the guards use them
# to tell the operator's kill from a failed execution.
CANCELLED_BY_KILL = "cancelled by kill switch"
VENUE_STOPPED = "venue stopped"


class VenueError(MarketError):
    """The market cannot be used as configured (wrong chain, unreachable endpoint,
    missing contract): said to the operator in one line, without a traceback."""


@dataclass(frozen=True, slots=True)
class BlockUpdate:
    """One new head as delivered to the engine."""

    block: Block
    changed_pools: frozenset[str]  # pools whose reserves changed in this block
    received_at: float  # when the engine got it (for head age / ws latency)
    provider: str  # which provider delivered it


@dataclass(frozen=True, slots=True)
class HeadStatus:
    """The newest block the engine has: its number, how old it is, who delivered it.

    Age is measured from when the engine received it (what staleness means to the
    operator: market data this old), at the moment the head is asked for."""

    block: int
    age_s: float
    provider: str

    @classmethod
    def of(cls, update: BlockUpdate, now: float) -> HeadStatus:
        return cls(update.block.number, now - update.received_at, update.provider)


@dataclass(frozen=True, slots=True)
class SwapHop:
    """One leg of an order, with the least output the executor contract accepts."""

    pool: str
    token_in: str
    token_out: str
    min_out: int  # per-hop slippage bound: below it the pair call reverts
    kind: str = "v2"  # the pool's kind (engine.market.model.PoolKind): the contract's hop

    def to_dict(self) -> dict[str, Any]:
        return {
            "pool": self.pool,
            "token_in": self.token_in,
            "token_out": self.token_out,
            "min_out": self.min_out,
            "kind": self.kind,
        }


LOAN_KINDS = ("first-hop", "inventory", "uniswap-v3", "balancer-v2", "aave-v3")


@dataclass(frozen=True, slots=True)
class Loan:
    """Where the executor takes the cycle's input: the route's first pair by a V2 flash
    swap (`first-hop`), its own inventory, or a lender — a Uniswap V3 pool's `flash`,
    the Balancer V2 Vault, the Aave V3 Pool — at `lender`. The contract path the
    transaction takes; the lender's fee is what that lender charges."""

    kind: str = "first-hop"
    lender: str = ""  # address; empty for first-hop and inventory


FIRST_HOP = Loan()


@dataclass(frozen=True, slots=True)
class ArbOrder:
    """The payload handed to the send gate: one call to the arbitrage executor contract.

    Contract semantics (the same for the simulated contract and the Solidity one):
    flash-borrow `amount_in` of `token`, swap along `hops` (each hop reverts below its
    `min_out`), then require `final_out >= amount_in + min_profit`, repay
    `amount_in + flash_fee` and keep the rest. `min_profit` therefore includes the
    flash fee: an order that cannot repay its loan can never pass the check.

    `priority_fee_per_gas` is the tip the order bids, part of `gas_price` (what it pays
    per gas): block builders order transactions by it, highest first, so an order lands
    ahead of a rival's only by bidding more (the simulated chain does exactly that).
    """

    order_id: str  # the opportunity id: lets receipts be matched to decisions
    token: str
    amount_in: int
    hops: tuple[SwapHop, ...]
    min_profit: int  # token base units, over amount_in
    flash_fee: int  # token base units
    gas_limit: int
    gas_price: int  # wei per gas the sender bids
    # the priority fee per gas of the bid (EIP-1559 maxPriorityFeePerGas), the tip part of
    # `gas_price`; 0: the venue's own tip
    priority_fee_per_gas: int = 0
    loan: Loan = FIRST_HOP

    def to_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "token": self.token,
            "amount_in": self.amount_in,
            "hops": [hop.to_dict() for hop in self.hops],
            "min_profit": self.min_profit,
            "flash_fee": self.flash_fee,
            "gas_limit": self.gas_limit,
            "gas_price": self.gas_price,
            "priority_fee_per_gas": self.priority_fee_per_gas,
            "loan": {"kind": self.loan.kind, "lender": self.loan.lender},
        }


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a mined (or dropped) order came to; the executor books its trade from this."""

    tx_hash: str
    order_id: str
    status: TxStatus
    revert_reason: str  # "" on success
    block_number: int  # 0 when it never reached a block (cancelled, rejected)
    gas_used: int
    gas_price: int  # effective wei per gas
    amount_out: int  # final output of the route (0 unless success)
    token_delta: int  # change of the order's token in the wallet (0 unless success)
    submitted_at: float
    mined_at: float  # when the outcome was known (mined, cancelled or rejected)
    nonce: int | None = None  # the transaction's nonce, on a chain (None: simulated)
    sender: str = ""  # the address that signed it, on a chain
    block_hash: str = ""  # the mined block's hash, on a chain (the reorg watch checks it)

    @property
    def gas_cost_wei(self) -> int:
        return self.gas_used * self.gas_price


class Venue(Protocol):
    """A market the engine trades on. `blocks()` has a single consumer: the daemon."""

    name: str  # "sim" | "evm"
    chain: str  # e.g. "sim-7" / "anvil-31337"
    market: Market

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def blocks(self) -> AsyncIterator[BlockUpdate]: ...

    def gas_price(self) -> int:
        """Current estimate in wei per gas (base fee + priority fee)."""
        ...

    def provider_health(self) -> list[ProviderStatus]:
        """Every RPC provider's health and the selector's view of it, by priority."""
        ...

    def wallet_balances(self) -> dict[str, int]:
        """Token address -> base units held by the operator (native token included)."""
        ...

    def watch_lenders(self, loans: Sequence[Loan], tokens: Sequence[str] = ()) -> None:
        """The configured lenders, whose capacities of `tokens` (default: every token)
        `lender_capacity` answers (before start)."""
        ...

    def lender_capacity(self, loan: Loan, token: str) -> int | None:
        """What `loan` can lend of `token` at the last block: the lender's balance of it
        (nothing while it cannot lend at all), the executor's for inventory; None when
        no cap is known (the route's first pair: its curve is the cap)."""
        ...
