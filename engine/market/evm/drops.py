"""Dropped transactions: one of ours that the node forgot is sent again, through the gate.

A node may silently drop a transaction from its pool (evicted by fee, a restart, a reorg
that took the block holding it and did not re-inject it). Waiting for a receipt that will
never come stalls the nonce and every transaction behind it, so:

- a sent transaction that is still unmined `after_s` seconds (`evm.drop_after_s`) after
  its last broadcast, and that the node does not know (`eth_getTransactionByHash` is
  null), is re-broadcast: the same signed bytes, so the same hash, nonce and fees; nothing
  new is signed, nothing is priced again, and a receipt under either send is the same
  transaction;
- the re-broadcast passes the send gate's check first, in the same loop step as the
  hand-over (the gate's own rule): after a halt nothing is sent again, the kill switch's
  replacements stand, and the original is never revived. One the kill switch already
  replaced (same nonce, other hash) is never re-broadcast either;
- every re-broadcast, and every one the gate refused, is an event (`tx_rebroadcast`),
  which the `tx_rebroadcast` alert rule turns into an alert.

Replacing with bumped fees is not done here: a bump means a new signature the gate did
not check at decision time and a price the guards did not see; the same bytes are what
the operator approved. A transaction whose fee cap the base fee outgrew is a fee problem
the kill switch (or the next block's base fee) settles, not a drop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine import protocol
from engine.market.evm.endpoints import ProviderSet
from engine.market.evm.rpc import NodeRpcError, ProviderUnavailable, RpcClient

if TYPE_CHECKING:
    from engine.market.evm.routes import SubmissionRoutes

log = logging.getLogger("arbctl.evm")

TOPIC = protocol.TOPIC_TX_REBROADCAST
DEFAULT_AFTER_S = 30.0

SendCheck = Callable[[], None]  # raises (the gate's GateClosed) when sending is closed
EventSink = Callable[[str, dict[str, Any]], Any]


@dataclass(slots=True)
class DropStats:
    rebroadcasts: int = 0
    refused_by_gate: int = 0
    last: dict[str, Any] = field(default_factory=dict)


class DropWatch:
    """Decides, per unmined transaction of ours, when to ask the node and re-send."""

    def __init__(
        self,
        providers: ProviderSet,
        after_s: float = DEFAULT_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._providers = providers
        self.after_s = after_s
        self._clock = clock
        self._check: SendCheck | None = None
        self._events: EventSink | None = None
        self.stats = DropStats()
        # set by the sender: where a transaction was sent (a private route that has it,
        # else the active RPC endpoint); None: the active RPC endpoint
        self.routes: SubmissionRoutes | None = None

    def attach(self, check: SendCheck | None = None, events: EventSink | None = None) -> None:
        """The send gate's check (without it nothing is ever re-sent) and the event sink."""
        if check is not None:
            self._check = check
        if events is not None:
            self._events = events

    def due(self, broadcast_at: float) -> bool:
        return self._clock() - broadcast_at >= self.after_s

    async def resend_if_dropped(self, tx_hash: str, raw: str, nonce: int, what: str) -> bool:
        """Re-send `raw` if the node does not know `tx_hash`; True when it was re-sent
        (the caller restarts its clock). False: the node has it, the gate is closed, or
        the node could not be asked (tried again after the next interval)."""
        client = self._client_for(tx_hash)
        try:
            if await client.call("eth_getTransactionByHash", [tx_hash]) is not None:
                return False
        except (ProviderUnavailable, NodeRpcError):
            return False
        if self._check is None:
            return False
        try:
            self._check()
        except Exception as exc:  # the gate's GateClosed: a halt or pause
            self.stats.refused_by_gate += 1
            self._emit(tx_hash, nonce, what, "refused", str(exc))
            log.warning(
                "tx %s (nonce %d) dropped by the node; not re-sent: %s", tx_hash, nonce, exc
            )
            return False
        # No await between the check and the send's start: a kill on this loop cannot
        # slip in between (the send gate's rule).
        try:
            await client.call("eth_sendRawTransaction", [raw])
        except NodeRpcError as exc:
            text = exc.message.lower()
            if "already known" not in text and "already imported" not in text:
                self._emit(tx_hash, nonce, what, "rejected", exc.message)
                log.warning("re-broadcast of tx %s rejected: %s", tx_hash, exc.message)
                return False
        except ProviderUnavailable as exc:
            log.warning("re-broadcast of tx %s failed: %s", tx_hash, exc)
            return False
        self.stats.rebroadcasts += 1
        self._emit(tx_hash, nonce, what, "rebroadcast", "")
        log.warning(
            "tx %s (nonce %d, %s) was dropped by the node: re-broadcast the same signed bytes",
            tx_hash,
            nonce,
            what,
        )
        return True

    def _client_for(self, tx_hash: str) -> RpcClient:
        """The node that was sent `tx_hash`: asked whether it knows it, and sent it again."""
        if self.routes is not None:
            return self.routes.lookup(tx_hash)
        return self._providers.active.client

    def _emit(self, tx_hash: str, nonce: int, what: str, outcome: str, detail: str) -> None:
        event = {
            "tx_hash": tx_hash,
            "nonce": nonce,
            "order": what,
            "outcome": outcome,  # rebroadcast | refused (gate closed) | rejected (node)
            "detail": detail,
            "after_s": self.after_s,
            "ts": time.time(),
        }
        self.stats.last = event
        if self._events is not None:
            self._events(TOPIC, event)
