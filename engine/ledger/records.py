"""What the ledger stores. Money fields are ints in base units; times are epoch seconds.

A trade's costs are recorded where they were paid: the cycle's token for the flash fee
and the profit, the native token (wei) for gas. Reconciliation sums exactly these
fields per token and compares them with the wallet, so every field that moves a
balance must be here and must be exact.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Literal

TradeStatus = Literal["success", "reverted", "failed"]


@dataclass(slots=True)
class TradeRecord:
    id: str
    opportunity_id: str
    venue: str  # "sim" | "evm"
    route: list[dict[str, Any]]  # [{"pool", "token_in", "token_out", "kind", "fee_pips"}]
    token: str  # address of the cycle's start/end token
    token_symbol: str
    amount_in: int
    amount_out: int  # what came back at the end of the route (0 if reverted)
    status: TradeStatus
    revert_reason: str
    gas_used: int
    gas_price: int  # effective wei per gas
    gas_cost_wei: int  # gas_used * gas_price, paid in the native token
    flash_fee: int  # in `token` base units
    profit_token: int  # realised change of `token` in the wallet (0 when reverted)
    profit_native: int  # net: profit_token valued in wei, minus gas_cost_wei
    profit_quote: int  # net: in the quote token's base units (can be negative)
    expected_profit: int  # the opportunity's net profit estimate, token units
    block_number: int
    tx_hash: str
    detected_at: float
    submitted_at: float
    mined_at: float
    # The costs valued in the quote token at execution time, so P&L can say what was
    # spent on gas and fees in the operator's currency without re-pricing history.
    gas_cost_quote: int = 0
    flash_fee_quote: int = 0
    # The transaction's sender and nonce (on a chain; None and "" on the simulated one and
    # for trades booked before they were recorded): start-up recovery compares them with
    # the wallet's nonce on chain to find what was sent and never booked.
    nonce: int | None = None
    sender: str = ""
    # Booked at start-up from the chain's receipt, not by the execution that sent it (the
    # engine died in between): docs/accounting.md.
    recovered: bool = False
    # The hash of the block the receipt was read from ("" off-chain and before it was
    # recorded): the reorg watch compares it with the canonical chain (engine/ledger/
    # corrections.py), and a trade whose block left the chain gets a correction row.
    block_hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# Every TradeRecord field that is an amount of money. Stores keep them exact (never a
# float, never a 64-bit column) and refuse anything that is not an int.
TRADE_MONEY_FIELDS = (
    "amount_in",
    "amount_out",
    "gas_price",
    "gas_cost_wei",
    "flash_fee",
    "profit_token",
    "profit_native",
    "profit_quote",
    "expected_profit",
    "gas_cost_quote",
    "flash_fee_quote",
)


@dataclass(slots=True)
class GuardTrigger:
    id: str
    ts: float
    guard: str  # stable rule name, e.g. "max_gas_price"
    action: str  # "blocked" | "breaker_open" | "paused"
    reason: str
    observed: str  # as text: a value may be an int in wei or a ratio
    threshold: str
    opportunity_id: str = ""
    trade_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(slots=True)
class AuditEntry:
    ts: float
    uid: int  # peer uid from SO_PEERCRED (-1: the engine itself)
    client: str
    action: str  # "pause", "resume", "kill", ...
    reason: str
    params: dict[str, Any] = field(default_factory=dict)
    outcome: str = "ok"
    id: int = 0  # assigned by the store

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(slots=True)
class SessionSnapshot:
    session_id: str
    ts: float
    kind: str  # "periodic" | "shutdown"
    status: str  # "running" | "stopped"
    state: dict[str, Any]  # counters, last seq, provider choice, ... (JSON)
    id: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(slots=True)
class PnlSummary:
    """Totals over a period. Costs and profits per token; totals in native and quote."""

    since: float
    until: float
    total_trades: int = 0
    successful_trades: int = 0
    reverted_trades: int = 0
    failed_trades: int = 0
    gross_profit_quote: int = 0
    gas_cost_wei: int = 0
    gas_cost_quote: int = 0
    flash_fee_quote: int = 0
    net_profit_native: int = 0
    net_profit_quote: int = 0
    by_token: dict[str, dict[str, int]] = field(default_factory=dict)  # address → totals
    token_symbols: dict[str, str] = field(default_factory=dict)  # address → symbol

    @property
    def success_rate(self) -> float | None:
        if self.total_trades == 0:
            return None
        return self.successful_trades / self.total_trades

    def add_bucket(self, bucket: PnlBucket) -> None:
        """Fold one token's totals in. The one place the summary's totals are defined.

        Profits in the trade record are net (gas and flash fee already deducted), so
        gross_profit_quote = net_profit_quote + gas_cost_quote + flash_fee_quote: what the
        trades would have earned had execution been free.
        """
        self.total_trades += bucket.trades
        self.successful_trades += bucket.successful
        self.reverted_trades += bucket.reverted
        self.failed_trades += bucket.failed
        self.gas_cost_wei += bucket.gas_cost_wei
        self.gas_cost_quote += bucket.gas_cost_quote
        self.flash_fee_quote += bucket.flash_fee_quote
        self.net_profit_native += bucket.profit_native
        self.net_profit_quote += bucket.profit_quote
        self.gross_profit_quote += (
            bucket.profit_quote + bucket.gas_cost_quote + bucket.flash_fee_quote
        )
        per_token = self.by_token.setdefault(
            bucket.token, {"count": 0, "profit_token": 0, "flash_fee": 0}
        )
        per_token["count"] += bucket.trades
        per_token["profit_token"] += bucket.profit_token
        per_token["flash_fee"] += bucket.flash_fee
        self.token_symbols[bucket.token] = bucket.token_symbol

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["success_rate"] = self.success_rate
        return data


@dataclass(slots=True)
class PnlBucket:
    """One token's totals over a set of trades: a rollup row (one hour or one day), or
    what a scan of raw trades reduces to. Sums are exact ints (they outgrow 64 bits
    quickly: a million trades' gas in wei does), and adding buckets is how both backends
    build a `PnlSummary`, so rollup and raw scan cannot disagree on what a total means.
    """

    token: str
    token_symbol: str
    trades: int = 0
    successful: int = 0
    reverted: int = 0
    failed: int = 0
    gas_cost_wei: int = 0
    gas_cost_quote: int = 0
    flash_fee: int = 0
    flash_fee_quote: int = 0
    profit_token: int = 0
    profit_native: int = 0
    profit_quote: int = 0

    @classmethod
    def of_trades(cls, trades: Sequence[TradeRecord]) -> PnlBucket:
        """The totals of some trades of one token (the last one's symbol is kept)."""
        statuses = Counter(t.status for t in trades)
        money = {name: sum(map(attrgetter(name), trades)) for name in PNL_BUCKET_MONEY}
        return cls(
            token=trades[-1].token,
            token_symbol=trades[-1].token_symbol,
            trades=len(trades),
            successful=statuses["success"],
            reverted=statuses["reverted"],
            failed=statuses["failed"],
            **money,
        )

    def add(self, other: PnlBucket) -> None:
        """Add another bucket of the same token (the symbol of the later one wins)."""
        self.token_symbol = other.token_symbol
        for name in PNL_BUCKET_TOTALS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


# The additive columns of a bucket, in rollup-table order: counts first, then money. The
# one list of them: `CorrectionRecord` carries the same columns but the trade count as
# deltas (`CORRECTION_DELTAS`), the backends' SQL is built from these tuples, and
# tests/ledger/test_bucket_columns.py fails when a dataclass and its tuple disagree.
PNL_BUCKET_STATUSES = ("successful", "reverted", "failed")
PNL_BUCKET_COUNTS = ("trades", *PNL_BUCKET_STATUSES)
PNL_BUCKET_MONEY = (
    "gas_cost_wei",
    "gas_cost_quote",
    "flash_fee",
    "flash_fee_quote",
    "profit_token",
    "profit_native",
    "profit_quote",
)
PNL_BUCKET_TOTALS = PNL_BUCKET_COUNTS + PNL_BUCKET_MONEY
# What a correction adds to a bucket: every total but the trade count (a trade moved or
# undone is still the one trade), in the bucket's order.
CORRECTION_DELTAS = PNL_BUCKET_STATUSES + PNL_BUCKET_MONEY


CorrectionKind = Literal["reversed", "moved"]


@dataclass(slots=True)
class CorrectionRecord:
    """A booked trade's outcome changed on chain after it was booked: its block was
    reorged away. The trade row is never edited; this row says what changed, as exact
    deltas of every total a trade adds (status counts and money), so any sum of trades
    plus corrections is the chain's truth.

    - `reversed`: the transaction is no longer mined (the deltas undo the trade; nothing
      was paid); the drop logic may re-broadcast it, and a later `moved` row books it
      where it lands;
    - `moved`: mined in another block (`new_block`), possibly with another outcome.

    A correction counts in the period it was written (`corrected_at`), like a late entry
    in accounting: a closed hour's rollup row is never rewritten after it was reported,
    and a session's reconciliation sees the wallet change when the chain changed it. Its
    id names the trade and the block hash it corrects, so writing it twice is a no-op.
    """

    id: str
    trade_id: str
    tx_hash: str  # the transaction as the chain now has it ("" when reversed)
    kind: CorrectionKind
    token: str
    token_symbol: str
    corrected_at: float
    trade_detected_at: float
    old_block: int
    old_block_hash: str
    new_block: int  # 0: not mined on the canonical chain
    new_block_hash: str
    new_status: TradeStatus
    reason: str
    # deltas: new minus old, per status count and money total: CORRECTION_DELTAS, in order
    successful: int = 0
    reverted: int = 0
    failed: int = 0
    gas_cost_wei: int = 0
    gas_cost_quote: int = 0
    flash_fee: int = 0
    flash_fee_quote: int = 0
    profit_token: int = 0
    profit_native: int = 0
    profit_quote: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def bucket(self) -> PnlBucket:
        """What the correction adds to a token's totals: no trade, the status moved, the
        money deltas."""
        deltas = {name: getattr(self, name) for name in CORRECTION_DELTAS}
        return PnlBucket(self.token, self.token_symbol, trades=0, **deltas)


def correction_between(
    old: TradeRecord,
    new: TradeRecord | None,
    *,
    old_block_hash: str,
    corrected_at: float,
    reason: str,
) -> CorrectionRecord:
    """The correction from the trade as booked (`old`, at `old_block_hash`) to the chain's
    outcome now: `new` booked from the new receipt, or None when the transaction is no
    longer mined (then it is as if never sent: failed, nothing paid)."""
    new_hash = new.block_hash if new is not None else ""
    statuses = Counter({old.status: -1})
    statuses[new.status if new is not None else "failed"] += 1
    money = {
        name: (getattr(new, name) if new is not None else 0) - getattr(old, name)
        for name in PNL_BUCKET_MONEY
    }
    return CorrectionRecord(
        id=f"corr-{old.id}-{old_block_hash or 'unmined'}-{new_hash or 'unmined'}",
        trade_id=old.id,
        tx_hash=new.tx_hash if new is not None else "",
        kind="moved" if new is not None else "reversed",
        token=old.token,
        token_symbol=old.token_symbol,
        corrected_at=corrected_at,
        trade_detected_at=old.detected_at,
        old_block=old.block_number,
        old_block_hash=old_block_hash,
        new_block=new.block_number if new is not None else 0,
        new_block_hash=new_hash,
        new_status=new.status if new is not None else "failed",
        reason=reason,
        successful=statuses["success"],
        reverted=statuses["reverted"],
        failed=statuses["failed"],
        **money,
    )


CORRECTION_MONEY_FIELDS = PNL_BUCKET_MONEY
CORRECTION_COLUMNS = tuple(f.name for f in dataclasses.fields(CorrectionRecord))
