"""Trades, newest first: status coloured, profit and gas in the quote token, and why
a failed one failed. The dashboard shows a short version, the trades screen a long one
with a filter."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text

from screens import formats
from screens.state import TRADES, ConsoleModel, Units
from screens.widgets.synced_table import Row, SyncedTable
from screens.widgets.view import VIEW_CLASS, ModelView, cell, number

# Colour is never the only mark (NO_COLOR turns it grey): a failure also gets a ✗ and
# reverse video, a loss and a revert reason bold.
STATUS_STYLES = {
    "success": "green",
    "reverted": "bold reverse red",
    "failed": "bold reverse magenta",
}
STATUS_LABELS = {"success": "✓ success", "reverted": "✗ revert", "failed": "✗ failed"}

DASHBOARD_NARROW = [
    ("time", 9),
    ("status", 10),
    ("tok", 5),
    ("profit", 10),
    ("gas", 7),
    ("why", None),
]
DASHBOARD_WIDE = [
    ("time", 9),
    ("status", 10),
    ("tok", 6),
    ("profit", 11),
    ("gas", 9),
    ("block", 9),
    ("why", None),
]
SCREEN_NARROW = [
    ("time", 9),
    ("id", 10),
    ("status", 10),
    ("tok", 5),
    ("profit", 10),
    ("gas", 7),
    ("why", None),
]
SCREEN_WIDE = [
    ("time", 9),
    ("id", 24),
    ("status", 10),
    ("tok", 6),
    ("profit", 11),
    ("gas", 9),
    ("block", 9),
    ("hops", 5),
    ("why", None),
]


def trade_matches(trade: dict[str, Any], words: list[str]) -> bool:
    """Every word must appear in the trade's id, status, token, reason, block or hash."""
    if not words:
        return True
    haystack = " ".join(
        str(trade.get(k, ""))
        for k in ("id", "status", "token_symbol", "revert_reason", "block_number", "tx_hash")
    ).lower()
    return all(word in haystack for word in words)


def _profit(trade: dict[str, Any], units: Units) -> Text:
    value = trade.get("profit_quote")
    amount = value if isinstance(value, int) else None
    style = "green" if (amount or 0) > 0 else "bold red" if (amount or 0) < 0 else ""
    return number(formats.signed_money(amount, units.quote_decimals) + " ", style)


def _gas(trade: dict[str, Any], units: Units) -> Text:
    value = trade.get("gas_cost_quote")
    amount = value if isinstance(value, int) else None
    return number(formats.money(amount, units.quote_decimals) + " ")


def short_reason(reason: Any) -> str:
    """'UniswapV2: INSUFFICIENT_OUTPUT_AMOUNT' → 'INSUFFICIENT_OUTPUT_AMOUNT': in a table the
    contract's name costs the words that say why (the detail view keeps it)."""
    text = str(reason or "")
    head, sep, rest = text.partition(": ")
    return rest if sep and head.isidentifier() and rest else text


def trade_cells(trade: dict[str, Any], units: Units) -> dict[str, Text]:
    """Every column a trades table may show, by label."""
    status = str(trade.get("status") or "?")
    when = trade.get("mined_at") or trade.get("submitted_at") or trade.get("detected_at")
    hops = len(trade.get("route") or [])
    failed = status != "success"
    return {
        "time": cell(formats.clock(when)),
        "id": cell(formats.tail(trade.get("id"), 9)),
        "status": cell(STATUS_LABELS.get(status, status), STATUS_STYLES.get(status, "yellow")),
        "tok": cell(formats.short(trade.get("token_symbol") or "?", 5)),
        "profit": _profit(trade, units),
        "gas": _gas(trade, units),
        "block": number(f"{trade.get('block_number', '')} "),
        "hops": number(f"{hops or ''} "),
        # a leading space: the number column before it is right-aligned with no padding
        "why": cell(f" {short_reason(trade.get('revert_reason'))}", "bold red" if failed else ""),
    }


class TradesTable(ModelView, SyncedTable):
    """Live trades from the model; `words` filters them (the trades screen's `/`)."""

    panels: ClassVar[tuple[str, ...]] = (TRADES,)

    def __init__(self, long: bool = False, limit: int = 50, **kwargs: object) -> None:
        narrow, wide = (SCREEN_NARROW, SCREEN_WIDE) if long else (DASHBOARD_NARROW, DASHBOARD_WIDE)
        super().__init__(narrow, wide, limit, watch=not long, classes=VIEW_CLASS, **kwargs)
        self.long = long
        self.words: list[str] = []

    def show(self, model: ConsoleModel) -> None:
        wanted: list[Row] = []
        for trade in model.newest_trades(len(model.trades)):
            if trade_matches(trade, self.words):
                wanted.append((str(trade.get("id")), trade_cells(trade, model.units)))
                if len(wanted) >= self.limit:
                    break
        self.sync(wanted)
        self.border_subtitle = f"{len(wanted)} shown" if self.long else ""
