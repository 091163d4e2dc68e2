"""Reorgs in the books: a booked trade whose block left the chain is corrected, not edited.

The engine books a trade from its first receipt. A reorg can then take the block that
held it: the transaction is mined elsewhere (another block, perhaps another outcome) or
not at all, and the ledger would go on saying what the chain no longer says. Invariant:
for every trade within `evm.confirmation_depth` blocks of the head, the ledger's trade
plus its correction rows equal the transaction's outcome on the canonical chain, so the
reconciliation (ledger vs wallet, to the wei) stays exact.

How:
- each booked chain trade (the `trade` event, after its commit) is watched with the
  (block number, block hash) its receipt came from, until it is `depth` blocks deep;
- on every new head, one batch reads the canonical hash at each watched height and at
  the head; a trade whose hash differs was reorged away;
- it is then re-checked on the new chain: mined elsewhere → booked again from the new
  receipt by the same decoder start-up recovery uses (`EvmExecutor.book_mined`) and a
  `moved` correction carries the difference; not mined → a `reversed` correction undoes it
  (as if never sent: failed, nothing paid) and it goes to the drop logic: its signed
  bytes are re-broadcast through the send gate (never after a halt), and when it is mined
  again a `moved` correction books it where it landed. Its nonce taken by another
  transaction ends the watch: reversed for good;
- each correction is written to the ledger first (`trade_corrections`, idempotent on its
  id), then published (`correction`), which the `trade_corrected` alert rule reads. A
  ledger that cannot be written keeps the correction queued and retried on the next head,
  and the watch stays on the trade as it was booked.
Never an edit of a trade row: the trade says what was booked and when; corrections say
what the chain did afterwards.

`checked` is the head, by hash, that the books were last compared with and corrected for
(every correction written). The reconciliation reads the books only when the wallet was
read at that very block: a number says nothing after a reorg, since the new chain can
reach the old head's height, or stop below it, without the watch having looked at it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine import protocol
from engine.bus import EventBus
from engine.execution.evm import EvmExecutor
from engine.ledger.records import (
    PNL_BUCKET_MONEY,
    CorrectionRecord,
    TradeRecord,
    correction_between,
)
from engine.ledger.store import LedgerStore, LedgerUnavailable
from engine.market.evm.rpc import Call, NodeRpcError, ProviderUnavailable
from engine.market.evm.sent import MinedTx
from engine.market.model import BlockRef

log = logging.getLogger("arbctl.reorgs")

TOPIC_CORRECTION = protocol.TOPIC_CORRECTION
RESUME_LIMIT = 10_000
TRADE_FIELDS = frozenset(f.name for f in dataclasses.fields(TradeRecord))


@dataclass(slots=True)
class Watched:
    """A booked trade as the books now have it (the trade plus its corrections)."""

    trade: TradeRecord
    checked_at: float = 0.0  # monotonic: the drop logic's clock, while unmined


@dataclass(slots=True)
class ReorgStats:
    watched: int = 0
    corrections: int = 0
    reversed: int = 0
    moved: int = 0
    unwritten: int = 0  # corrections waiting for the ledger
    last: dict[str, Any] = dataclasses.field(default_factory=dict)


class ReorgWatch:
    def __init__(
        self,
        executor: EvmExecutor,
        store: LedgerStore,
        bus: EventBus,
        depth: int,
        flash_fee_bps: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._executor = executor
        self._venue = executor.venue
        self._store = store
        self._bus = bus
        self.depth = depth
        self._flash_fee_bps = flash_fee_bps
        self._clock = clock
        self._watched: dict[str, Watched] = {}
        self._unwritten: list[CorrectionRecord] = []
        self.stats = ReorgStats()
        self.checked: BlockRef | None = None  # the head last checked, all written

    # --- what is watched ---------------------------------------------------------------
    def watch(self, trade: TradeRecord) -> None:
        """A booked trade of ours on this chain, mined: watched until final."""
        if trade.block_number <= 0 or not trade.block_hash or trade.nonce is None:
            return
        if trade.sender.lower() != self._venue.owner.lower():
            return
        self._watched.setdefault(trade.id, Watched(trade))

    def watched(self) -> list[TradeRecord]:
        return [w.trade for w in self._watched.values()]

    async def resume(self, since: float, limit: int = RESUME_LIMIT) -> int:
        """After a restart: the trades booked since `since` (the previous session's),
        as their corrections leave them, watched again; the first check drops those
        already final. Returns how many are watched."""
        trades = await self._store.list_trades(since=since, limit=limit)
        corrections = await self._store.list_corrections(since=since, limit=limit)
        by_trade: dict[str, list[CorrectionRecord]] = {}
        for correction in reversed(corrections):  # oldest first
            by_trade.setdefault(correction.trade_id, []).append(correction)
        for trade in trades:
            current = corrected(trade, by_trade.get(trade.id, []))
            if current.block_number > 0:
                self.watch(current)
            elif current.nonce is not None and trade.block_hash:
                self._watched.setdefault(trade.id, Watched(current))  # reversed: unmined
        return len(self._watched)

    async def run(self, resume_s: float = 0.0) -> None:
        """Watch every trade the pipeline commits (and, with `resume_s`, those booked
        that many seconds back by an earlier run); check on every head. Until cancelled."""
        subscription = self._bus.subscribe([protocol.TOPIC_TRADE])
        if resume_s > 0:
            try:
                await self.resume(self._clock() - resume_s)
            except LedgerUnavailable as exc:
                log.error("reorg watch: earlier trades not re-read: %s", exc)
        trades = asyncio.create_task(self._follow_trades(subscription), name="reorg-trades")
        try:
            if (now := self._venue.last_head) is not None:  # a quiet chain: no wait for a block
                await self.check_safely(now.number, now.hash)
            while True:
                head = await self._venue.next_head()
                await self.check_safely(head.number, head.hash)
        finally:
            trades.cancel()
            subscription.close()
            with contextlib.suppress(asyncio.CancelledError):
                await trades

    async def _follow_trades(self, subscription: Any) -> None:
        while (event := await subscription.next()) is not None:
            if event.topic == protocol.TOPIC_TRADE and isinstance(event.data, dict):
                data = {k: v for k, v in event.data.items() if k in TRADE_FIELDS}
                try:
                    self.watch(TradeRecord(**data))
                except TypeError as exc:
                    log.error("reorg watch: a trade event it cannot read: %s", exc)

    async def check_safely(self, head: int, head_hash: str = "") -> None:
        try:
            await self.check(head, head_hash)
        except (ProviderUnavailable, NodeRpcError) as exc:
            log.warning("reorg check at block %d failed (next head retries): %s", head, exc)

    # --- one head ----------------------------------------------------------------------
    async def check(self, head: int, head_hash: str = "") -> list[CorrectionRecord]:
        """Compare every watched trade with the canonical chain at `head` (`head_hash`:
        the head as the follower delivered it, if known); write and publish the
        corrections. Returns those written now."""
        await self._write([])  # what a failed write left, first
        mined = [w for w in self._watched.values() if w.trade.block_number > 0]
        for watched in mined:
            if head - watched.trade.block_number >= self.depth:
                del self._watched[watched.trade.id]  # final
        mined = [w for w in mined if w.trade.id in self._watched]
        reorged, at = await self._reorged(head, head_hash, mined)
        corrections = [c for w in reorged if (c := await self._recheck(w))]
        for watched in [w for w in self._watched.values() if w.trade.block_number == 0]:
            correction = await self._unmined(watched)
            if correction is not None:
                corrections.append(correction)
        self.stats.watched = len(self._watched)
        written = await self._write(corrections)
        if not self._unwritten and at is not None:
            self.checked = at
        return written

    async def _reorged(
        self, head: int, head_hash: str, watched: list[Watched]
    ) -> tuple[list[Watched], BlockRef | None]:
        """The watched trades whose block hash is no longer the canonical one, and the
        head they were compared at: read in the same batch, so it is the block whose
        chain holds those hashes (the follower's hash, when nothing needs reading, would
        name it as well; None when the node knows no block at that height)."""
        if not watched and head_hash:
            return [], BlockRef(head, head_hash)
        heights = sorted({w.trade.block_number for w in watched} | {head})
        calls: list[Call] = [("eth_getBlockByNumber", [hex(n), False]) for n in heights]
        blocks = await self._venue.client.batch_strict(calls)
        canonical = {
            n: str((b or {}).get("hash") or "") for n, b in zip(heights, blocks, strict=True)
        }
        at = BlockRef(head, canonical[head]) if canonical[head] else None
        return [w for w in watched if canonical[w.trade.block_number] != w.trade.block_hash], at

    async def _recheck(self, watched: Watched) -> CorrectionRecord | None:
        """A trade whose block left the chain, looked up on the chain as it is now."""
        old = watched.trade
        now = await self._mined_now(old.tx_hash, old.nonce)
        if now is None:
            correction = self._correct(watched, None, f"block {old.block_number} reorged away")
            watched.checked_at = 0.0  # the drop logic looks at once
            await self._resend(watched)
            return correction
        new = await self._rebook(old, now)
        if new is None:
            return None
        reason = f"block {old.block_number} reorged away; mined again in block {now.block}"
        return self._correct(watched, new, reason)

    async def _unmined(self, watched: Watched) -> CorrectionRecord | None:
        """A reversed trade: booked again once mined; re-sent when the node forgot it;
        the watch ends when its nonce went to another transaction."""
        old = watched.trade
        client = self._venue.client
        receipt, count = await client.batch_strict(
            [
                ("eth_getTransactionReceipt", [old.tx_hash]),
                ("eth_getTransactionCount", [self._venue.owner, "latest"]),
            ]
        )
        if isinstance(receipt, dict) and receipt.get("blockNumber"):
            now = await self._mined_now(old.tx_hash, old.nonce)
            new = None if now is None else await self._rebook(old, now)
            if now is None or new is None:
                return None
            reason = f"mined again in block {now.block} after a reorg"
            return self._correct(watched, new, reason)
        if old.nonce is not None and int(count, 16) > old.nonce:
            log.warning(
                "trade %s: nonce %d was used by another transaction; it stays reversed",
                old.id,
                old.nonce,
            )
            del self._watched[old.id]
            return None
        await self._resend(watched)
        return None

    async def _resend(self, watched: Watched) -> None:
        drops = self._venue.drops
        if watched.checked_at and not drops.due(watched.checked_at):
            return
        watched.checked_at = time.monotonic()
        signed = self._venue.signed_raw(watched.trade.tx_hash)
        if signed is None:
            log.warning("trade %s reversed; its signed bytes are not kept", watched.trade.id)
            return
        nonce, raw = signed
        await drops.resend_if_dropped(watched.trade.tx_hash, raw, nonce, watched.trade.id)

    # --- the chain now -----------------------------------------------------------------
    async def _mined_now(self, tx_hash: str, nonce: int | None) -> MinedTx | None:
        client = self._venue.client
        tx, receipt = await client.batch_strict(
            [("eth_getTransactionByHash", [tx_hash]), ("eth_getTransactionReceipt", [tx_hash])]
        )
        if not isinstance(receipt, dict) or not receipt.get("blockNumber"):
            return None
        if not isinstance(tx, dict):
            return None
        block = await client.call("eth_getBlockByNumber", [receipt["blockNumber"], False])
        if not isinstance(block, dict) or block.get("hash") != receipt.get("blockHash"):
            return None  # the receipt's block is not (yet) the canonical one at its height
        number = int(receipt["blockNumber"], 16)
        return MinedTx(nonce or 0, number, int(block["timestamp"], 16), tx, receipt)

    async def _rebook(self, old: TradeRecord, mined: MinedTx) -> TradeRecord | None:
        """The trade as the new receipt books it: same id and detection, new block."""
        booked = await self._executor.book_mined(mined, self._flash_fee_bps, self._clock())
        if booked is None:
            return None
        if booked.status == old.status and booked.profit_token == old.profit_token:
            # The same outcome in another block: only the gas can differ. Keep the
            # trade's own valuation and fees (recovery's are re-derived at today's
            # prices) so the correction carries exactly the gas difference.
            gas = booked.gas_cost_wei - old.gas_cost_wei
            gas_quote = booked.gas_cost_quote - old.gas_cost_quote
            booked = dataclasses.replace(
                booked,
                flash_fee=old.flash_fee,
                flash_fee_quote=old.flash_fee_quote,
                profit_native=old.profit_native - gas,
                profit_quote=old.profit_quote - gas_quote,
            )
        return dataclasses.replace(
            booked,
            id=old.id,
            opportunity_id=old.opportunity_id,
            detected_at=old.detected_at,
            submitted_at=old.submitted_at,
            expected_profit=old.expected_profit,
            recovered=old.recovered,
            block_hash=str(mined.receipt.get("blockHash") or ""),
        )

    # --- the books ---------------------------------------------------------------------
    def _correct(self, watched: Watched, new: TradeRecord | None, reason: str) -> CorrectionRecord:
        old = watched.trade
        correction = correction_between(
            old, new, old_block_hash=old.block_hash, corrected_at=self._clock(), reason=reason
        )
        if new is None:
            correction = dataclasses.replace(correction, tx_hash=old.tx_hash)
        watched.trade = new if new is not None else unmined(old)
        return correction

    async def _write(self, corrections: list[CorrectionRecord]) -> list[CorrectionRecord]:
        batch = self._unwritten + corrections
        if not batch:
            return []
        try:
            await self._store.record_corrections(batch)
        except LedgerUnavailable as exc:
            self._unwritten = batch
            self.stats.unwritten = len(batch)
            log.error("%d correction(s) not written yet (retried): %s", len(batch), exc)
            return []
        self._unwritten = []
        self.stats.unwritten = 0
        for correction in batch:
            self._published(correction)
        return batch

    def _published(self, correction: CorrectionRecord) -> None:
        self.stats.corrections += 1
        if correction.kind == "reversed":
            self.stats.reversed += 1
        else:
            self.stats.moved += 1
        data = correction.to_dict()
        self.stats.last = data
        self._bus.publish(TOPIC_CORRECTION, data)
        log.warning(
            "trade %s corrected (%s): %s; block %d -> %d",
            correction.trade_id,
            correction.kind,
            correction.reason,
            correction.old_block,
            correction.new_block,
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.stats) | {"depth": self.depth}


def corrected(trade: TradeRecord, corrections: list[CorrectionRecord]) -> TradeRecord:
    """The trade as its corrections (oldest first) leave it: what the books say now."""
    current = dataclasses.replace(trade)
    for correction in corrections:
        for name in PNL_BUCKET_MONEY:
            setattr(current, name, getattr(current, name) + getattr(correction, name))
        current.status = correction.new_status
        current.block_number = correction.new_block
        current.block_hash = correction.new_block_hash
    return current


def unmined(trade: TradeRecord) -> TradeRecord:
    """The trade as the books have it once reversed: failed, in no block, nothing paid."""
    reversed_ = dataclasses.replace(trade, status="failed", block_number=0, block_hash="")
    for name in (*PNL_BUCKET_MONEY, "amount_out"):
        setattr(reversed_, name, 0)
    return reversed_
