"""Receipt decoding: a mined transaction of ours turned into the venue-neutral `Receipt`.

The invariant: the Receipt books exactly what the wallet paid and received, read from
the chain and never estimated, and one decoder serves both a settled order and one
that start-up recovery finds mined, so a recovered trade is booked as it would have been.
Decoding only reads (the receipt, balances, an `eth_call` replay); it never sends.

- gas: `gasUsed × effectiveGasPrice` from the receipt, exactly what the wallet paid;
- token delta: the owner's balance of the order's token read at the receipt's block
  and the block before. If something else moved that balance in the same block (two of
  our trades, an incoming transfer) the block delta is not this trade's alone, and the
  transaction's own `Transfer` logs to and from the owner are booked instead (logged);
- revert reason: the receipt has none, so the call is replayed with `eth_call` on the
  receipt's block and the revert data decoded;
- a nonce the kill switch replaced: the order failed, carrying the replacement's gas.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.market.evm import abi
from engine.market.evm.endpoints import ProviderSet
from engine.market.evm.orders import EvmOrder
from engine.market.evm.rpc import NodeRpcError, ProviderUnavailable
from engine.market.venue import CANCELLED_BY_KILL, Receipt, TxStatus

log = logging.getLogger("arbctl.evm")

OUT_OF_GAS = "out of gas"


@dataclass(frozen=True, slots=True)
class SentTx:
    """One of our transactions as it was sent: the order it carries, its nonce and hash."""

    payload: EvmOrder
    nonce: int
    hash: str
    submitted_at: float


class ReceiptDecoder:
    """Turns the raw receipt of a mined transaction of `owner` into a `Receipt`."""

    def __init__(
        self, providers: ProviderSet, owner: str, clock: Callable[[], float] = time.time
    ) -> None:
        self._providers = providers
        self._owner = owner
        self._clock = clock

    async def decode(self, sent: SentTx, mined_hash: str, raw: dict[str, Any]) -> Receipt:
        """`mined_hash` is `sent.hash`, or a kill-switch replacement at the same nonce."""
        block = int(raw["blockNumber"], 16)
        gas_used = int(raw["gasUsed"], 16)
        price = int(raw.get("effectiveGasPrice") or "0x0", 16)
        order = sent.payload.order

        def receipt(status: TxStatus, reason: str, amount_out: int, delta: int) -> Receipt:
            return Receipt(
                mined_hash,
                order.order_id,
                status,
                reason,
                block,
                gas_used,
                price,
                amount_out,
                delta,
                sent.submitted_at,
                self._clock(),
                block_hash=str(raw.get("blockHash") or ""),
            )

        if mined_hash != sent.hash:
            reason = (
                f"{CANCELLED_BY_KILL}: nonce {sent.nonce} taken by a 0-value self-transfer "
                f"(original tx {sent.hash})"
            )
            return receipt("failed", reason, 0, 0)
        delta = await self._token_delta(order.token, raw, block)
        if raw.get("status") == "0x1":
            profit = executed_profit(raw, sent.payload.to)
            return receipt(
                "success", "", order.amount_in + (delta if profit is None else profit), delta
            )
        reason = await self._revert_reason(sent.payload, gas_used, block)
        log.info("order %s reverted in block %d: %s", order.order_id, block, reason)
        return receipt("reverted", reason, 0, delta)

    async def _token_delta(self, token: str, receipt: dict[str, Any], block: int) -> int:
        """The owner's change in `token` from this transaction, read from the chain."""
        own = transfer_delta(receipt, token, self._owner)
        call = abi.balance_of(self._owner)
        client = self._providers.active.client
        try:
            before, after = await client.batch_strict(
                [abi.eth_call(token, call, block - 1), abi.eth_call(token, call, block)]
            )
        except (ProviderUnavailable, NodeRpcError) as exc:
            log.warning(
                "cannot read the balance change at block %d (%s); booking the "
                "transaction's Transfer logs",
                block,
                exc,
            )
            return own
        measured = abi.word(after) - abi.word(before)
        if measured != own:
            log.warning(
                "block %d changed the wallet's %s by %d, this transaction's Transfer "
                "logs by %d (another transfer in the block): booking the latter",
                block,
                token,
                measured,
                own,
            )
            return own
        return measured

    async def _revert_reason(self, payload: EvmOrder, gas_used: int, block: int) -> str:
        if gas_used >= payload.gas_limit:
            return f"{OUT_OF_GAS} (limit {payload.gas_limit})"
        call = {
            "from": self._owner,
            "to": payload.to,
            "data": payload.data,
            "gas": hex(payload.gas_limit),
        }
        try:
            await self._providers.active.client.call("eth_call", [call, hex(block)])
        except NodeRpcError as exc:
            return abi.revert_reason(exc.data, exc.message)
        except ProviderUnavailable as exc:
            return f"reverted (reason unavailable: {exc})"
        return f"reverted, but a replay on block {block}'s final state succeeds"


def transfer_delta(receipt: dict[str, Any], token: str, owner: str) -> int:
    """What the receipt's `Transfer` logs of `token` moved into `owner` minus out of it."""
    token, owner = token.lower(), owner.lower()
    delta = 0
    for entry in receipt.get("logs") or []:
        topics = entry.get("topics") or []
        if len(topics) < 3 or topics[0] != abi.TRANSFER_TOPIC:
            continue
        if str(entry.get("address", "")).lower() != token:
            continue
        amount = abi.word(entry.get("data") or "0x")
        if abi.topic_address(topics[2]) == owner:
            delta += amount
        if abi.topic_address(topics[1]) == owner:
            delta -= amount
    return delta


def executed_profit(receipt: dict[str, Any], executor: str) -> int | None:
    """`profit` of the executor's Executed or Ran event (amountIn, profit, … in data)."""
    for entry in receipt.get("logs") or []:
        topics = entry.get("topics") or []
        same = str(entry.get("address", "")).lower() == executor.lower()
        if same and topics and topics[0] in abi.PROFIT_TOPICS:
            return abi.word(entry.get("data") or "0x", 1)
    return None
