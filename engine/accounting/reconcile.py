"""Reconciliation: does the ledger explain the wallet, to the base unit?

For each token, since this engine session started:

    expected change = sum of the trades' `profit_token` in that token
                      - sum of every trade's `gas_cost_wei`   (gas token only)
    actual change   = wallet balance now - wallet balance at session start
    difference      = actual - expected          (0 for every token: reconciled)

`profit_token` is the realised change of the cycle's token (flash fee already paid) and
gas is paid in the native token, so these two fields are exactly what moves the wallet;
the executors book them from the receipt (docs/accounting.md).

The one hard part is taking both sides at the same moment without pausing trading. A
trade moves the wallet when its transaction is mined and reaches the ledger a moment
later, when its execution books it. So the balances are read at a *quiet point*: a loop
step in which no execution is in flight (none sent and not yet booked). At that step,
every trade detected before it is booked, and every trade booked later is detected after
it (the search stamps `detected_at` in the same step it dispatches). The ledger side is
then the trades detected in [session start, quiet point), summed after the writer has
flushed: trading carries on meanwhile, and what it does is simply outside the window.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from engine.errors import ArbctlError
from engine.ledger.records import PnlSummary
from engine.ledger.store import LedgerStore, LedgerUnavailable
from engine.ledger.writer import LedgerWriter
from engine.market.model import BlockRef
from engine.market.venue import BlockUpdate, Venue

log = logging.getLogger("arbctl.accounting")

STATE_KEY = "accounting.session_start"
QUIET_TIMEOUT_S = 10.0
BALANCE_POLL_S = 0.05


class NotQuiet(ArbctlError):
    """Executions never all finished within the timeout: no consistent point to read."""


class InFlight(Protocol):
    """The pipeline, as reconciliation sees it (`TradingPipeline.drain`)."""

    last_update: BlockUpdate | None

    async def drain(self, timeout: float) -> int:
        """Wait for the executions in flight now; returns how many are in flight after."""


@runtime_checkable
class TradeScan(Protocol):
    """Both ledgers can total the raw trades, bypassing the hourly/daily rollup. The
    books are checked against what each trade row says, so an edited or damaged row
    shows up even when its hour is summed from the rollup elsewhere."""

    async def pnl_from_trades(self, since: float, until: float | None = None) -> PnlSummary: ...


# --- the session's starting point -------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SessionStart:
    """The wallet when this engine session began, before its first trade."""

    session_id: str
    taken_at: float
    balances: dict[str, int]

    def to_state(self) -> dict[str, Any]:
        """Balances as decimal strings: JSON readers that parse numbers as doubles (jq,
        PostgreSQL's jsonb) would round an 18-decimal balance."""
        return {
            "session_id": self.session_id,
            "taken_at": self.taken_at,
            "balances": {token: str(amount) for token, amount in self.balances.items()},
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> SessionStart:
        balances = {token: int(amount) for token, amount in state["balances"].items()}
        return cls(str(state["session_id"]), float(state["taken_at"]), balances)


async def record_session_start(
    store: LedgerStore, venue: Venue, session_id: str, clock: Callable[[], float] = time.time
) -> SessionStart:
    """Read the wallet (call before the pipeline runs) and persist it in engine_state.
    The balances are read before the first await, so nothing can trade in between; a
    failed write is logged and reconciliation falls back to the copy in memory."""
    start = SessionStart(session_id, clock(), venue.wallet_balances())
    try:
        await store.set_state(STATE_KEY, start.to_state())
    except Exception as exc:
        log.warning("starting balances not persisted (reconcile uses memory): %s", exc)
    return start


# --- the result -------------------------------------------------------------------------
@dataclass(slots=True)
class TokenLine:
    token: str
    symbol: str
    decimals: int | None
    start: int = 0
    current: int = 0
    profit_token: int = 0  # the trades' realised change of this token
    gas_cost_wei: int = 0  # gas paid in this token (the gas token only)
    trades: int = 0

    @property
    def actual_change(self) -> int:
        return self.current - self.start

    @property
    def expected_change(self) -> int:
        return self.profit_token - self.gas_cost_wei

    @property
    def difference(self) -> int:
        return self.actual_change - self.expected_change

    def to_dict(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "symbol": self.symbol,
            "decimals": self.decimals,
            "start": self.start,
            "current": self.current,
            "actual_change": self.actual_change,
            "profit_token": self.profit_token,
            "gas_cost_wei": self.gas_cost_wei,
            "expected_change": self.expected_change,
            "difference": self.difference,
            "trades": self.trades,
            "status": "reconciled" if self.difference == 0 else "difference",
        }


@dataclass(slots=True)
class Reconciliation:
    session_id: str
    since: float
    until: float
    gas_token: str
    start_source: str  # "ledger" (read back from engine_state) or "memory"
    waited_s: float
    summary: PnlSummary
    block: int | None = None
    tokens: list[TokenLine] = field(default_factory=list)

    @property
    def reconciled(self) -> bool:
        return all(line.difference == 0 for line in self.tokens)

    def to_dict(self) -> dict[str, Any]:
        s = self.summary
        return {
            "reconciled": self.reconciled,
            "session_id": self.session_id,
            "since": self.since,
            "until": self.until,
            "block": self.block,
            "gas_token": self.gas_token,
            "start_source": self.start_source,
            "waited_s": round(self.waited_s, 3),
            "tokens": [line.to_dict() for line in self.tokens],
            "trades": {
                "total": s.total_trades,
                "successful": s.successful_trades,
                "reverted": s.reverted_trades,
                "failed": s.failed_trades,
            },
        }


# --- the procedure ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _QuietPoint:
    at: float
    balances: dict[str, int]
    block: int | None


class Reconciler:
    def __init__(
        self,
        venue: Venue,
        pipeline: InFlight,
        writer: LedgerWriter,
        start: SessionStart,
        clock: Callable[[], float] = time.time,
        books_checked: Callable[[], BlockRef | None] | None = None,
    ) -> None:
        self._venue = venue
        self._pipeline = pipeline
        self._writer = writer
        self._start = start
        self._clock = clock
        # On a chain: the head the reorg watch last compared the books with and wrote
        # its corrections for (engine/execution/reorgs.py); it returns None until its
        # first check. No callable: no watch.
        self._books_checked = books_checked

    async def reconcile(self, timeout: float = QUIET_TIMEOUT_S) -> Reconciliation:
        """Raises NotQuiet, or LedgerUnavailable when the ledger cannot be read."""
        began = time.monotonic()
        point = await self._quiet_point(began + timeout)
        waited = time.monotonic() - began
        if not await self._writer.flush():
            raise LedgerUnavailable(self._writer.last_error or "ledger writes are failing")
        start, source = await self._recorded_start()
        summary = await self._ledger_totals(start.taken_at, point.at)
        result = Reconciliation(
            session_id=start.session_id,
            since=start.taken_at,
            until=point.at,
            gas_token=gas_token(self._venue),
            start_source=source,
            waited_s=waited,
            summary=summary,
            block=point.block,
        )
        result.tokens = self._lines(start.balances, point.balances, summary, result.gas_token)
        return result

    async def _quiet_point(self, deadline: float) -> _QuietPoint:
        """Balances read in the step where no execution is in flight. `drain` returns in
        the very step its count is taken, with no await after it, so the count and the
        balances describe the same instant."""
        while True:
            left = await self._pipeline.drain(timeout=max(0.0, deadline - time.monotonic()))
            if left == 0 and self._balances_current():
                balances = self._venue.wallet_balances()
                return _QuietPoint(self._clock(), balances, _head(self._venue))
            if time.monotonic() >= deadline:
                raise NotQuiet(
                    f"{left} executions in flight, or wallet balances older than the "
                    "newest block, after the timeout: no consistent point, try again"
                )
            if left == 0:
                await asyncio.sleep(BALANCE_POLL_S)

    def _balances_current(self) -> bool:
        """A chain venue reads balances a moment after each head: until it has read them
        at (or after) the newest block the pipeline traded on, they may predate a trade
        the ledger already holds."""
        read_at = _head(self._venue)
        seen = self._pipeline.last_update
        if not self._books_caught_up():
            return False
        return read_at is None or seen is None or read_at >= seen.block.number

    def _books_caught_up(self) -> bool:
        """A reorg before the balances' block changed the wallet: its correction must be
        in the ledger too, or the books would be read without it. So the reorg watch
        must have checked the very block the balances were read at, by hash: after a
        reorg the new chain can reach the checked head's number (or stop below it)
        without the watch having looked at it. Not a later block either: a trade it
        found mined again after the balances' block is in the books, not in the wallet."""
        if self._books_checked is None:
            return True
        checked = self._books_checked()
        return checked is not None and checked == _balances_at(self._venue)

    async def _recorded_start(self) -> tuple[SessionStart, str]:
        """The starting balances as the ledger recorded them; the copy in memory if the
        ledger lost them or holds another session's (written by a newer engine)."""
        state = await self._writer.store.get_state(STATE_KEY)
        if state is not None and state.get("session_id") == self._start.session_id:
            return SessionStart.from_state(state), "ledger"
        log.warning("starting balances of session %s not in the ledger", self._start.session_id)
        return self._start, "memory"

    async def _ledger_totals(self, since: float, until: float) -> PnlSummary:
        store = self._writer.store
        if isinstance(store, TradeScan):
            return await store.pnl_from_trades(since, until)
        return await store.pnl(since, until)

    def _lines(
        self,
        start: Mapping[str, int],
        now: Mapping[str, int],
        summary: PnlSummary,
        gas: str,
    ) -> list[TokenLine]:
        tokens = set(start) | set(now) | set(summary.by_token) | {gas}
        lines = {token: self._line(token, summary, gas) for token in tokens}
        for token, line in lines.items():
            line.start, line.current = start.get(token, 0), now.get(token, 0)
            totals = summary.by_token.get(token, {})
            line.profit_token = int(totals.get("profit_token", 0))
            line.trades = int(totals.get("count", 0))
        lines[gas].gas_cost_wei = summary.gas_cost_wei
        return sorted(lines.values(), key=lambda line: (line.symbol, line.token))

    def _line(self, token: str, summary: PnlSummary, gas: str) -> TokenLine:
        market = self._venue.market
        known = market.tokens.get(token)
        if known is not None:
            return TokenLine(token, known.symbol, known.decimals)
        wrapped = market.tokens.get(market.native)
        if token == gas and wrapped is not None:
            # the chain's own asset, which its wrapped token mirrors 1:1 (WETH → ETH)
            return TokenLine(token, unwrapped_symbol(wrapped.symbol), wrapped.decimals)
        return TokenLine(token, summary.token_symbols.get(token, token), None)


def unwrapped_symbol(wrapped: str) -> str:
    """`ETH` for `WETH`, `BNB` for `WBNB`: the native asset its wrapped token stands for."""
    return wrapped[1:] if len(wrapped) > 1 and wrapped[0] in "Ww" else wrapped


def _head(venue: Venue) -> int | None:
    """The chain head the balances were read at, when the venue says (the sim does)."""
    head = getattr(venue, "head", None)
    return head if isinstance(head, int) else None


def _balances_at(venue: Venue) -> BlockRef | None:
    """The block, by hash, the balances were read at, when the venue says (a chain)."""
    at = getattr(venue, "balances_at", None)
    return at if isinstance(at, BlockRef) else None


def gas_token(venue: Venue) -> str:
    """The token gas is paid in: the venue's `gas_token` when it names one (an on-chain
    wallet pays in the chain's own asset, not its wrapped ERC-20), else the market's
    native token (the simulated chain charges gas in WETH)."""
    named = getattr(venue, "gas_token", None)
    return named if isinstance(named, str) and named else venue.market.native
