"""Signing, sending and settling our transactions: the evm venue's Broadcaster half.

`submit` runs in two parts. The synchronous part takes a nonce and signs, in the very
loop step in which the send gate said yes (no await in between, so a kill acknowledged
on the loop can never see a transaction signed after it). The asynchronous part sends
it through the active submission route (public, private or bundle: `routes`), waits
for a receipt (woken by every new head, polling as a fallback) and has
`receipts.ReceiptDecoder` turn it into the venue-neutral `Receipt` (gas, token delta and
revert reason, all read from the chain).

Nothing here retries a send on its own except one the node dropped (still unmined after
`evm.drop_after_s` and unknown to it): the same signed bytes go out again, and only
after the send gate's check in that same step (engine/market/evm/drops.py), so a halt
stops it like any send. A refused transaction resolves as "failed" (no gas) and its nonce is
reused. `cancel_pending` (the kill switch) replaces every unmined transaction with a
0-value self-transfer at the same nonce and ≥ 12.5 % higher caps; when the replacement
is mined, the order resolves as "failed" carrying the replacement's gas, so the ledger
still matches the wallet. A bundle is not replaced: the route cancels it by its uuid, and
its order resolves as failed once the blocks it was targeted at have passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from engine.market.errors import MarketError
from engine.market.evm.drops import DropWatch
from engine.market.evm.endpoints import ProviderSet
from engine.market.evm.fees import TRANSFER_GAS, FeePolicy
from engine.market.evm.nonces import NonceBook
from engine.market.evm.orders import EvmOrder, TxSigner
from engine.market.evm.receipts import ReceiptDecoder, SentTx
from engine.market.evm.routes import SubmissionRoutes
from engine.market.evm.rpc import Call, NodeRpcError, ProviderUnavailable
from engine.market.venue import VENUE_STOPPED, ArbOrder, Receipt

log = logging.getLogger("arbctl.evm")

NONCE_TAKEN_GRACE_S = 5.0
RECEIPT_RETRY_S = 0.02
SEND_SAMPLES = 10_000
SIGNED_KEPT = 4_096  # recent signed transactions kept for a re-broadcast after a reorg


class VenueStopped(MarketError):
    """The venue was stopped while an order was still waiting for its block."""


class NonceTaken(MarketError):
    """The chain's nonce moved past ours and none of our transactions was mined."""


class NotIncluded(MarketError):
    """The submission route gave the transaction up: a bundle whose blocks passed."""


@dataclass(slots=True)
class PendingTx:
    payload: EvmOrder
    nonce: int
    hash: str
    submitted_at: float
    max_fee: int  # caps of the newest transaction at this nonce (bumped by cancels)
    priority_fee: int
    replacements: list[str] = field(default_factory=list)
    raw: str = ""  # the signed bytes, for a re-broadcast (engine/market/evm/drops.py)
    broadcast_at: float = 0.0  # time.monotonic() of the last send or drop check

    @property
    def order(self) -> ArbOrder:
        return self.payload.order


@dataclass(slots=True)
class SendStats:
    sent: int = 0
    refused: int = 0
    cancelled: int = 0
    head_to_send_ms: deque[float] = field(default_factory=lambda: deque(maxlen=SEND_SAMPLES))


class TxSender:
    def __init__(
        self,
        providers: ProviderSet,
        signer: TxSigner,
        chain_id: int,
        nonces: NonceBook,
        fees: FeePolicy,
        poll_interval: float,
        head_perf: Callable[[int], float | None],
        clock: Callable[[], float] = time.time,
        routes: SubmissionRoutes | None = None,
        drops: DropWatch | None = None,
    ) -> None:
        self._providers = providers
        self.drops = drops or DropWatch(providers)
        self._signed: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self._signer = signer
        self._chain_id = chain_id
        self.nonces = nonces
        self._fees = fees
        self._poll_interval = poll_interval
        self._head_perf = head_perf
        self._clock = clock
        self._pending: dict[int, PendingTx] = {}
        self._head = asyncio.Event()
        self._closed = False
        self.stats = SendStats()
        self._receipts = ReceiptDecoder(providers, signer.address, clock)
        # how signed transactions leave (engine/market/evm/routes.py); default: public
        self.routes = routes or SubmissionRoutes.build([], providers, None, 0)
        # a re-broadcast asks, and re-sends through, the route that sent the original: a
        # private transaction (unknown to the public mempool by design) never goes public
        self.drops.routes = self.routes

    @property
    def owner(self) -> str:
        return self._signer.address

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def in_flight_nonces(self) -> set[int]:
        return set(self._pending)

    # --- submit ----------------------------------------------------------------------
    def submit(self, payload: EvmOrder) -> Awaitable[Receipt]:
        """Take a nonce and sign now; the returned awaitable sends and settles."""
        now = self._clock()
        if self._closed:
            return _resolved(_unmined(payload.order, "", "venue stopped", now, now))
        nonce = self.nonces.take()
        signed = self._signer.sign(
            self._transaction(
                nonce,
                payload.to,
                payload.data,
                payload.gas_limit,
                payload.max_fee,
                payload.priority_fee,
            )
        )
        pending = PendingTx(
            payload, nonce, signed.hash, now, payload.max_fee, payload.priority_fee, raw=signed.raw
        )
        self._pending[nonce] = pending
        self._keep_signed(signed.hash, nonce, signed.raw)
        return self._settle(pending, signed.raw)

    async def _settle(self, pending: PendingTx, raw: str) -> Receipt:
        """The order's outcome, with the nonce and sender that let a restart tell booked
        nonces from sent ones (start-up recovery)."""
        receipt = await self._outcome(pending, raw)
        return replace(receipt, nonce=pending.nonce, sender=self.owner)

    async def _outcome(self, pending: PendingTx, raw: str) -> Receipt:
        try:
            refused = await self._send(pending, raw)
            if refused is not None:
                return refused
            mined_hash, receipt = await self._mined(pending)
            return await self._receipt(pending, mined_hash, receipt)
        except NonceTaken:
            self.stats.refused += 1
            reason = f"nonce {pending.nonce} was used by a transaction that is not ours"
            log.error("order %s: %s (is the key used elsewhere?)", pending.order.order_id, reason)
            return _unmined(
                pending.order, pending.hash, reason, pending.submitted_at, self._clock()
            )
        except NotIncluded as exc:
            self.nonces.release(pending.nonce)  # never mined: the nonce is free again
            now = self._clock()
            return _unmined(pending.order, pending.hash, str(exc), pending.submitted_at, now)
        except VenueStopped:
            log.warning(
                "order %s: venue stopped; tx %s may still be mined",
                pending.order.order_id,
                pending.hash,
            )
            return _unmined(
                pending.order,
                pending.hash,
                f"{VENUE_STOPPED} before the transaction was mined",
                pending.submitted_at,
                self._clock(),
            )
        finally:
            if self._pending.get(pending.nonce) is pending:  # a refused nonce may be reused
                del self._pending[pending.nonce]
            self.routes.settled(pending.hash)

    async def _send(self, pending: PendingTx, raw: str) -> Receipt | None:
        """None once the node has the transaction; a failed Receipt if it refused it."""
        self._record_send(pending.payload.block_number)
        pending.broadcast_at = time.monotonic()
        try:
            await self.routes.send(raw, pending.hash)
        except NodeRpcError as exc:
            return await self._refused(pending, exc)
        except ProviderUnavailable as exc:
            log.warning(
                "order %s: sending tx %s: %s; checking whether the node has it",
                pending.order.order_id,
                pending.hash,
                exc,
            )
            if not await self._node_has(pending.hash):
                return await self._refused(
                    pending, NodeRpcError("eth_sendRawTransaction", -1, str(exc))
                )
        return None

    async def _refused(self, pending: PendingTx, exc: NodeRpcError) -> Receipt | None:
        text = exc.message.lower()
        if "already known" in text or "already imported" in text:
            return None  # the node has it: same hash, wait for it
        if pending.replacements:
            return None  # the kill switch replaced it already: wait for the replacement
        self.stats.refused += 1
        if "nonce too low" in text or "nonce too high" in text:
            await self._resync_nonces(exclude=pending.nonce)
        else:
            self.nonces.release(pending.nonce)
        log.warning("order %s refused by the node: %s", pending.order.order_id, exc.message)
        now = self._clock()
        reason = f"refused by the node: {exc.message}"
        return _unmined(pending.order, pending.hash, reason, pending.submitted_at, now)

    async def _node_has(self, tx_hash: str) -> bool:
        """Whether the node knows the transaction; waits (with backoff) until it answers."""
        delay = self._poll_interval
        while not self._closed:
            try:
                found = await self.routes.lookup(tx_hash).call(
                    "eth_getTransactionByHash", [tx_hash]
                )
            except (ProviderUnavailable, NodeRpcError):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            return found is not None
        raise VenueStopped

    # --- waiting ---------------------------------------------------------------------
    def on_head(self) -> None:
        """A new head arrived: every waiter checks its receipt."""
        self._head.set()
        self._head = asyncio.Event()

    async def _mined(self, pending: PendingTx) -> tuple[str, dict[str, Any]]:
        """The receipt of whichever of our transactions at this nonce was mined.

        Checked on every head (and every poll interval). If the chain's nonce has moved
        past ours for `NONCE_TAKEN_GRACE_S` with none of them mined, someone else used
        the nonce: NonceTaken. (The grace covers nodes that count a mined transaction's
        nonce a moment before they serve its receipt; anvil does.)
        """
        client = self._providers.active.client
        past_since = 0.0
        while not self._closed:
            head = self._head
            seen = self.routes.head  # a head the receipts asked for below already include
            hashes = [pending.hash, *pending.replacements]
            calls: list[Call] = [("eth_getTransactionReceipt", [h]) for h in hashes]
            calls.append(("eth_getTransactionCount", [self.owner, "latest"]))
            try:
                *receipts, count = await client.batch(calls)
            except ProviderUnavailable:
                receipts, count = [], None
            for tx_hash, receipt in zip(hashes, receipts, strict=False):
                if isinstance(receipt, dict) and receipt.get("blockNumber"):
                    return tx_hash, receipt
            if gave_up := self.routes.gave_up(pending.hash, seen):
                raise NotIncluded(gave_up)
            if not _past(count, pending.nonce):
                past_since = 0.0
                await self._resend_if_dropped(pending)
            elif not past_since:
                past_since = time.monotonic()
            elif time.monotonic() - past_since > NONCE_TAKEN_GRACE_S:
                raise NonceTaken
            # Mined by the count but no receipt yet: ask again soon rather than next head.
            wait = RECEIPT_RETRY_S if past_since else self._poll_interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(head.wait(), wait)
        raise VenueStopped

    async def _resend_if_dropped(self, pending: PendingTx) -> None:
        """Unmined for `drops.after_s`: re-send the same bytes if the node forgot them
        (never one the kill switch replaced; the gate decides, engine/market/evm/drops.py)."""
        if pending.replacements or not pending.raw or not self.drops.due(pending.broadcast_at):
            return
        if self.routes.bundled(pending.hash):  # a bundle is re-targeted, never re-broadcast
            return
        what = pending.order.order_id
        await self.drops.resend_if_dropped(pending.hash, pending.raw, pending.nonce, what)
        pending.broadcast_at = time.monotonic()

    def signed_raw(self, tx_hash: str) -> tuple[int, str] | None:
        """(nonce, signed bytes) of a recent transaction of ours, for a re-broadcast after
        a reorg took the block that held it."""
        return self._signed.get(tx_hash)

    def _keep_signed(self, tx_hash: str, nonce: int, raw: str) -> None:
        self._signed[tx_hash] = (nonce, raw)
        while len(self._signed) > SIGNED_KEPT:
            self._signed.popitem(last=False)

    # --- receipts --------------------------------------------------------------------
    async def mined_outcome(
        self, payload: EvmOrder, nonce: int, tx_hash: str, raw: dict[str, Any], submitted: float
    ) -> Receipt:
        """The Receipt of a mined transaction of ours that no waiter settled (start-up
        recovery after the engine died): decoded exactly as a settled one is."""
        pending = PendingTx(
            payload, nonce, tx_hash, submitted, payload.max_fee, payload.priority_fee
        )
        receipt = await self._receipt(pending, tx_hash, raw)
        return replace(receipt, nonce=nonce, sender=self.owner)

    async def _receipt(self, pending: PendingTx, mined_hash: str, raw: dict[str, Any]) -> Receipt:
        if mined_hash != pending.hash:
            self.stats.cancelled += 1
        sent = SentTx(pending.payload, pending.nonce, pending.hash, pending.submitted_at)
        return await self._receipts.decode(sent, mined_hash, raw)

    # --- the kill switch -------------------------------------------------------------
    async def cancel_pending(self) -> list[str]:
        """Cancel every outstanding bundle by uuid, replace every other unmined
        transaction (through the route that sent it); returns the hashes of both."""
        targets = [p for p in self._pending.values() if not self.routes.bundled(p.hash)]
        signed = [self._replacement(pending) for pending in targets]
        bundles, results = await asyncio.gather(
            self.routes.cancel(),
            self.routes.send_replacements(
                [(p.hash, raw) for p, raw in zip(targets, signed, strict=True)]
            ),
        )
        if not targets:
            return bundles
        cancelled = list(bundles)
        for pending, result in zip(targets, results, strict=True):
            if result is not None:
                log.warning(
                    "could not replace tx %s (nonce %d): %s",
                    pending.hash,
                    pending.nonce,
                    result,
                )
            else:
                cancelled.append(pending.hash)
        log.warning(
            "kill switch: replaced %d of %d pending transactions",
            len(cancelled) - len(bundles),
            len(targets),
        )
        return cancelled

    def _replacement(self, pending: PendingTx) -> str:
        max_fee, tip = self._fees.replacement(pending.max_fee, pending.priority_fee)
        tx = self._transaction(pending.nonce, self.owner, "0x", TRANSFER_GAS, max_fee, tip)
        signed = self._signer.sign(tx)
        pending.replacements.append(signed.hash)
        pending.max_fee, pending.priority_fee = max_fee, tip
        return signed.raw

    # --- nonces ----------------------------------------------------------------------
    async def _resync_nonces(self, exclude: int) -> None:
        try:
            count = await self._providers.active.client.call(
                "eth_getTransactionCount", [self.owner, "pending"]
            )
        except (ProviderUnavailable, NodeRpcError) as exc:
            log.warning("cannot resync nonces: %s", exc)
            return
        self.nonces.resync(int(count, 16), self.in_flight_nonces() - {exclude})

    def resync_if_idle(self, chain_next: int, taken_before: int) -> None:
        """Per-block reconciliation with the node: only when nothing is in flight and no
        nonce was taken since the count was asked for (else the count may be stale)."""
        if not self._pending and self.nonces.taken == taken_before:
            self.nonces.resync(chain_next, set())

    # --- internals -------------------------------------------------------------------
    def _transaction(
        self, nonce: int, to: str, data: str, gas: int, max_fee: int, tip: int
    ) -> dict[str, Any]:
        return {
            "type": 2,
            "chainId": self._chain_id,
            "nonce": nonce,
            "to": to,
            "value": 0,
            "gas": gas,
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": tip,
            "data": data,
        }

    def _record_send(self, block_number: int) -> None:
        self.stats.sent += 1
        arrived = self._head_perf(block_number)
        if arrived is not None:
            self.stats.head_to_send_ms.append((time.perf_counter() - arrived) * 1000)

    def close(self) -> None:
        """Stop waiting: orders still waiting resolve as failed (their tx may be mined)."""
        self._closed = True
        self.on_head()


def _past(count: Any, nonce: int) -> bool:
    return isinstance(count, str) and int(count, 16) > nonce


def _unmined(order: ArbOrder, tx_hash: str, reason: str, submitted: float, now: float) -> Receipt:
    """A receipt for an order that never reached a block: failed, nothing charged."""
    return Receipt(
        tx_hash, order.order_id, "failed", reason, 0, 0, order.gas_price, 0, 0, submitted, now
    )


async def _resolved(receipt: Receipt) -> Receipt:
    return receipt
