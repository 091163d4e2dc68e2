"""The trades screen: every recent trade, a `/` filter, and one trade in detail.

The filter matches words against id, status, token, revert reason, block and tx hash,
so `/reverted` or `/slippage` answers the runbook's "why are trades failing?" at once.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Static

from engine.units import pool_label
from screens import formats
from screens.state import ConsoleModel, Units
from screens.subscreen import SubScreen
from screens.widgets.banner import StateBanner
from screens.widgets.footer import KeysFooter
from screens.widgets.steady import steady_input
from screens.widgets.trades_table import TradesTable

SCREEN_LIMIT = 500


class TradesScreen(SubScreen):
    """All trades the console holds, filterable, Enter for detail."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter"),
    ]

    def __init__(self, model: ConsoleModel, filtering: bool = False) -> None:
        super().__init__(id="trades-screen")
        self.model = model
        self.filtering = filtering

    def compose(self) -> ComposeResult:
        yield StateBanner(id="banner")
        yield Label("Trades — / filter · Enter detail · Esc back", classes="screen-title")
        yield steady_input(
            placeholder="filter: words in id, status, token, reason, block, hash",
            id="filter",
        )
        table = TradesTable(long=True, limit=SCREEN_LIMIT, id="all-trades")
        table.border_title = "trades (newest first)"
        yield table
        yield KeysFooter()

    def on_mount(self) -> None:
        if self.filtering:
            self.query_one("#filter", Input).focus()
        else:
            self.query_one("#all-trades", TradesTable).focus()

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    @on(Input.Changed, "#filter")
    def refilter(self, message: Input.Changed) -> None:
        message.input.set_class(bool(message.value.strip()), "-active")
        table = self.query_one("#all-trades", TradesTable)
        table.words = message.value.lower().split()
        table.refresh_from(self.model, force=True)

    @on(Input.Submitted, "#filter")
    def done_filtering(self) -> None:
        self.query_one("#all-trades", TradesTable).focus()

    @on(DataTable.RowSelected, "#all-trades")
    def open_detail(self, message: DataTable.RowSelected) -> None:
        trade = self.model.trades.get(str(message.row_key.value))
        if trade is not None:
            self.app.push_screen(TradeDetailScreen(trade, self.model.units))


def _amount(value: Any, decimals: int | None, symbol: str) -> str:
    """Exact base units, plus the human amount when the token's decimals are known."""
    if not isinstance(value, int):
        return "–"
    if decimals is None:
        return f"{value} (base units)"
    return f"{formats.money(value, decimals)} {symbol}  [{value}]"


def detail_lines(trade: dict[str, Any], units: Units) -> list[tuple[str, str]]:
    """(label, value) pairs for one trade, money exact and in its own token."""
    token = str(trade.get("token") or "")
    symbol = str(trade.get("token_symbol") or "?")
    t_dec = units.decimals_of(token)
    q, n = units.quote_decimals, units.native_decimals
    qs, ns = units.quote_symbol, units.native_symbol
    hops = trade.get("route") or []
    route = " → ".join(formats.short(h.get("pool"), 14) for h in hops)
    kinds = " → ".join(pool_label(h) or "?" for h in hops)
    return [
        ("id", str(trade.get("id"))),
        ("status", str(trade.get("status"))),
        ("revert reason", str(trade.get("revert_reason") or "–")),
        ("venue", str(trade.get("venue") or "–")),
        ("route", f"{len(hops)} hops: {route}"),
        *([("pools", kinds)] if any(pool_label(h) for h in hops) else []),
        ("token", f"{symbol} {token}"),
        ("amount in", _amount(trade.get("amount_in"), t_dec, symbol)),
        ("amount out", _amount(trade.get("amount_out"), t_dec, symbol)),
        ("profit (token)", _amount(trade.get("profit_token"), t_dec, symbol)),
        ("expected profit", _amount(trade.get("expected_profit"), t_dec, symbol)),
        ("net profit", _amount(trade.get("profit_quote"), q, qs)),
        ("net profit (native)", _amount(trade.get("profit_native"), n, ns)),
        ("gas used", str(trade.get("gas_used", "–"))),
        ("gas price", _amount(trade.get("gas_price"), 9, "gwei")),
        ("gas cost", _amount(trade.get("gas_cost_wei"), n, ns)),
        ("gas cost (quote)", _amount(trade.get("gas_cost_quote"), q, qs)),
        ("flash fee", _amount(trade.get("flash_fee"), t_dec, symbol)),
        ("block", str(trade.get("block_number", "–"))),
        ("tx hash", str(trade.get("tx_hash") or "–")),
        ("detected", formats.stamp(trade.get("detected_at"))),
        ("submitted", formats.stamp(trade.get("submitted_at"))),
        ("mined", formats.stamp(trade.get("mined_at"))),
        ("opportunity", str(trade.get("opportunity_id") or "–")),
    ]


class TradeDetailScreen(ModalScreen[None]):
    """One trade, every field, exact amounts. Esc goes back to the list."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back"),
        Binding("enter", "close", "Back", show=False),
    ]

    def __init__(self, trade: dict[str, Any], units: Units) -> None:
        super().__init__(id="trade-detail")
        self.trade = trade
        self.units = units

    def compose(self) -> ComposeResult:
        body = Text()
        for label, value in detail_lines(self.trade, self.units):
            body.append(f"{label:>20}  ", style="bold")
            body.append(f"{value}\n")
        with Vertical(classes="dialog dialog-wide"):
            yield Label(Text(f"Trade {self.trade.get('id')}", style="bold"), classes="dialog-title")
            with VerticalScroll():
                yield Static(body, id="trade-fields")
            yield Label("Esc back", classes="dialog-hint")

    def action_close(self) -> None:
        self.dismiss(None)
