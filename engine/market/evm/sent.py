"""Our wallet's transactions as the chain recorded them: the chain side of start-up recovery.

The nonce is the chain's own count of the transactions a key got mined, so it is a
complete record of what the engine sent: if the wallet's count says n transactions were
mined and the ledger holds no mined trade at nonce k < n, the transaction at k was sent
and never booked. Finding it needs no index and no scan of every block: the wallet's
count at a block only grows, so the block that mined nonce k is found by bisecting
`eth_getTransactionCount(owner, block)` (about log2(blocks) requests), then read from that
block's transactions and its receipt.

Bounded: never further back than MAX_LOOKBACK_BLOCKS behind the head (older state needs
an archive node, and a start-up must not take minutes); a nonce mined before that is
reported as unresolved, never guessed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.market.evm.rpc import RpcClient

MAX_LOOKBACK_BLOCKS = 100_000


@dataclass(frozen=True, slots=True)
class WalletCount:
    """The wallet's transaction count at one head: mined, and with the pool's."""

    head: int
    mined: int
    pending: int


@dataclass(frozen=True, slots=True)
class MinedTx:
    """One of the wallet's transactions, as mined: the transaction and its receipt."""

    nonce: int
    block: int
    timestamp: int  # the block's, epoch seconds
    tx: dict[str, Any]
    receipt: dict[str, Any]

    @property
    def hash(self) -> str:
        return str(self.tx["hash"]).lower()


class SentLookup:
    """Reads one wallet's transactions from one provider; counts are cached per block."""

    def __init__(self, client: RpcClient, owner: str) -> None:
        self._client = client
        self._owner = owner
        self._counts: dict[int, int] = {}

    async def count(self) -> WalletCount:
        head = int(await self._client.call("eth_blockNumber"), 16)
        mined, pending = await self._client.batch_strict(
            [
                ("eth_getTransactionCount", [self._owner, hex(head)]),
                ("eth_getTransactionCount", [self._owner, "pending"]),
            ]
        )
        self._counts[head] = int(mined, 16)
        return WalletCount(head, int(mined, 16), max(int(pending, 16), int(mined, 16)))

    async def wait_mined(self, timeout: float, poll: float) -> WalletCount:
        """The count once nothing of the wallet's waits in the pool, or at the timeout."""
        deadline = time.monotonic() + timeout
        count = await self.count()
        while count.pending > count.mined and time.monotonic() < deadline:
            await asyncio.sleep(poll)
            count = await self.count()
        return count

    async def find(
        self, nonces: Sequence[int], first_block: int, at: WalletCount
    ) -> tuple[list[MinedTx], list[int]]:
        """The mined transactions at these nonces (all below `at.mined`), and the nonces
        not found at or after `first_block` within the lookback."""
        lo = max(first_block, at.head - MAX_LOOKBACK_BLOCKS, 0)
        blocks: dict[int, int] = {}
        unresolved: list[int] = []
        for nonce in sorted(nonces):
            block = await self._block_of(nonce, lo, at.head)
            if block is None:
                unresolved.append(nonce)
                continue
            blocks[nonce] = lo = block
        found = await self._transactions(blocks)
        unresolved += [n for n in blocks if n not in {m.nonce for m in found}]
        return found, sorted(unresolved)

    async def _block_of(self, nonce: int, lo: int, hi: int) -> int | None:
        """The first block in [lo, hi] whose count is past `nonce`; None if it was mined
        before `lo`."""
        if lo > 0 and await self._count_at(lo - 1) > nonce:
            return None
        while lo < hi:
            mid = (lo + hi) // 2
            if await self._count_at(mid) > nonce:
                hi = mid
            else:
                lo = mid + 1
        return lo

    async def _count_at(self, block: int) -> int:
        if block not in self._counts:
            found = await self._client.call("eth_getTransactionCount", [self._owner, hex(block)])
            self._counts[block] = int(found, 16)
        return self._counts[block]

    async def _transactions(self, blocks: dict[int, int]) -> list[MinedTx]:
        numbers = sorted(set(blocks.values()))
        calls = [("eth_getBlockByNumber", [hex(n), True]) for n in numbers]
        by_number = dict(zip(numbers, await self._client.batch_strict(calls), strict=True))
        picked: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
        for nonce, block in sorted(blocks.items()):
            tx = _ours(by_number[block], self._owner, nonce)
            if tx is not None:
                picked.append((nonce, by_number[block], tx))
        calls = [("eth_getTransactionReceipt", [tx["hash"]]) for _, _, tx in picked]
        receipts = await self._client.batch_strict(calls)
        return [
            MinedTx(n, int(b["number"], 16), int(b["timestamp"], 16), tx, receipt)
            for (n, b, tx), receipt in zip(picked, receipts, strict=True)
            if isinstance(receipt, dict)
        ]


def _ours(block: dict[str, Any], owner: str, nonce: int) -> dict[str, Any] | None:
    transactions: list[dict[str, Any]] = block.get("transactions") or []
    for tx in transactions:
        if str(tx.get("from", "")).lower() == owner.lower() and int(tx["nonce"], 16) == nonce:
            return tx
    return None
