"""What the evm executor hands to the send gate, and what signs it.

`EvmOrder` is the `ArbOrder` (the venue-neutral record: token, amounts, hops, profit
floor) plus what only a chain needs: the contract call's calldata and the EIP-1559 tip.
The order's `gas_limit` is the transaction's gas limit and its `gas_price` the max fee
per gas (the most the sender bids).

The signer is injected (`TxSigner`): key handling lives in `engine.execution.signer`,
and the market layer never imports execution code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from engine.market.venue import ArbOrder


@dataclass(frozen=True, slots=True)
class SignedTx:
    raw: str  # 0x-hex, what eth_sendRawTransaction takes
    hash: str  # 0x-hex transaction hash


class TxSigner(Protocol):
    """Signs transactions for one address; never exposes its key."""

    @property
    def address(self) -> str: ...

    def sign(self, transaction: dict[str, Any]) -> SignedTx: ...


@dataclass(frozen=True, slots=True)
class EvmOrder:
    order: ArbOrder
    to: str  # the executor contract
    data: str  # 0x-hex calldata of execute(...)
    priority_fee: int  # maxPriorityFeePerGas, wei
    block_number: int  # the block the opportunity was found in (head-to-send timing)

    @property
    def gas_limit(self) -> int:
        return self.order.gas_limit

    @property
    def max_fee(self) -> int:
        return self.order.gas_price
