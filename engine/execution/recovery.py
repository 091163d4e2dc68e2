"""Start-up recovery: what a previous run sent and never booked is booked from the chain.

Invariant: before a session trades (and before it reads its starting balances), every
transaction the wallet got mined since the last check is in the ledger, once. One that
was sent and never booked (the engine was SIGKILLed, or stopped, between the send and
the booking) is booked from its receipt and marked `recovered`.

How it is found, and why this way: the chain is the record. The wallet's nonce count
on chain says how many transactions the key got mined; the ledger stores the sender and
nonce of every trade, so the nonces at or after the last check that the ledger lacks
are exactly the transactions to find (engine/market/evm/sent.py locates each by
bisecting the count over blocks). The alternative, a journal row written before each
broadcast and resolved at start, was rejected: it puts a durable write between signing
and sending (the latency the head-to-send path is measured on, and trading would depend
on the ledger being writable), and it still misses what happens after it is written: the
kill switch's replacement mined instead of the original, or a send that "failed" but
reached the node. The nonce gap misses nothing the key got mined, and costs one
request on a clean start.

Bounds and choices:
- nonces from the mark left by the last start (engine_state `evm.sent_mark.<chain>.<owner>`),
  at most GAP_WINDOW below the last booked one; blocks at most MAX_LOOKBACK_BLOCKS back;
- a transaction of ours still in the pool at start is waited for (PENDING_WAIT_S, while
  the engine is `starting` and sends nothing); one still pending after that is left for
  the next start (the mark stops below it) and reported in `status.recovery.pending`;
- idempotent: a recovered trade's id is made of its tx hash (the store ignores an id it
  has), and once booked its nonce counts as booked;
- a transaction at a missing nonce that the engine does not make (not `execute` on our
  executor, not a kill-switch cancel) is reported, not booked;
- if the chain or the ledger fails, nothing is half-done: the trades are written in one
  batch and the mark moves only after; the next start tries again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.execution.evm import EvmExecutor
from engine.ledger.records import TradeRecord
from engine.ledger.store import LedgerStore, LedgerUnavailable
from engine.market.evm.rpc import NodeRpcError, ProviderUnavailable
from engine.market.evm.sent import WalletCount

log = logging.getLogger("arbctl.recovery")

GAP_WINDOW = 256  # nonces below the last booked one still checked (out-of-order bookings)
PENDING_WAIT_S = 60.0


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What the start-up check did: shown under `status.recovery`."""

    first_nonce: int | None = None  # nonces [first_nonce, end_nonce) were compared
    end_nonce: int | None = None
    recovered: tuple[str, ...] = ()  # ids of the trades booked `recovered`
    not_ours: tuple[str, ...] = ()  # hashes at missing nonces that are no engine trade
    unresolved: tuple[int, ...] = ()  # missing nonces not found within the lookback
    pending: int = 0  # our transactions still unmined after the wait: next start
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "checked": [self.first_nonce, self.end_nonce],
            "recovered": len(self.recovered),
            "trades": list(self.recovered),
            "not_ours": list(self.not_ours),
            "unresolved": list(self.unresolved),
            "pending": self.pending,
            "error": self.error,
        }


async def recover_unbooked(
    executor: EvmExecutor,
    store: LedgerStore,
    flash_fee_bps: int,
    wait_s: float = PENDING_WAIT_S,
    clock: Callable[[], float] = time.time,
) -> RecoveryReport:
    """Book what the wallet got mined and the ledger lacks. Never raises for a chain or
    ledger failure: the report says what went wrong and the next start tries again."""
    try:
        return await _recover(executor, store, flash_fee_bps, wait_s, clock)
    except (ProviderUnavailable, NodeRpcError, LedgerUnavailable) as exc:
        log.error("start-up recovery failed (tried again at the next start): %s", exc)
        return RecoveryReport(error=str(exc))


async def _recover(
    executor: EvmExecutor,
    store: LedgerStore,
    flash_fee_bps: int,
    wait_s: float,
    clock: Callable[[], float],
) -> RecoveryReport:
    venue = executor.venue
    owner = venue.owner
    key = f"evm.sent_mark.{venue.chain_id}.{owner}"
    lookup = venue.sent_lookup()
    count = await lookup.count()
    if count.pending > count.mined:
        log.info(
            "start-up recovery: waiting up to %.0f s for %d pending transaction(s) of %s",
            wait_s,
            _pending(count),
            owner,
        )
        count = await lookup.wait_mined(wait_s, venue.poll_interval)
    window = nonce_window(await store.get_state(key), await store.last_booked_nonce(owner))
    if window is None:
        await store.set_state(key, _mark(count, clock()))
        log.info("start-up recovery: first check for %s; from nonce %d on", owner, count.mined)
        return RecoveryReport(count.mined, count.mined, pending=_pending(count))
    first, first_block = window
    booked = await store.booked_nonces(owner, first, count.mined)
    missing = [n for n in range(first, count.mined) if n not in booked]
    found, unresolved = await lookup.find(missing, first_block, count) if missing else ([], [])
    trades: list[TradeRecord] = []
    not_ours: list[str] = []
    for mined in found:
        trade = await executor.book_mined(mined, flash_fee_bps, clock())
        if trade is None:
            not_ours.append(mined.hash)
        else:
            trades.append(trade)
    await store.record_trades(trades)
    await store.set_state(key, _mark(count, clock()))
    report = RecoveryReport(
        first,
        count.mined,
        tuple(t.id for t in trades),
        tuple(not_ours),
        tuple(unresolved),
        _pending(count),
    )
    _log(report, owner)
    return report


def nonce_window(
    mark: dict[str, Any] | None, last: tuple[int, int] | None
) -> tuple[int, int] | None:
    """(first nonce, first block) to check: from the last start's mark, and never more
    than GAP_WINDOW below the last booked nonce; None when neither exists (first run)."""
    if mark is None and last is None:
        return None
    if mark is None:
        assert last is not None
        return last[0] + 1, last[1]
    first, block = int(mark["nonce"]), int(mark["block"]) + 1
    if last is not None and last[0] + 1 - GAP_WINDOW > first:
        first = last[0] + 1 - GAP_WINDOW
    return first, block


def _mark(count: WalletCount, now: float) -> dict[str, Any]:
    """Every nonce below `nonce` is booked or reported; later ones were mined after `block`."""
    return {"nonce": count.mined, "block": count.head, "at": now}


def _pending(count: WalletCount) -> int:
    return count.pending - count.mined


def _log(report: RecoveryReport, owner: str) -> None:
    if report.recovered:
        log.warning(
            "start-up recovery: booked %d transaction(s) sent by %s and never booked: %s",
            len(report.recovered),
            owner,
            ", ".join(report.recovered),
        )
    if report.not_ours:
        log.warning(
            "start-up recovery: %s sent transaction(s) that are no engine trade (key used "
            "elsewhere?), not booked: %s",
            owner,
            ", ".join(report.not_ours),
        )
    if report.unresolved:
        log.error(
            "start-up recovery: nonce(s) %s of %s not found on chain within the lookback; "
            "book them by hand",
            report.unresolved,
            owner,
        )
    if report.pending:
        log.warning(
            "start-up recovery: %d transaction(s) of %s still pending; checked at the next start",
            report.pending,
            owner,
        )
