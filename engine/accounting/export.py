"""Trades as CSV rows: every ledger field exact, then a few columns for people.

The first columns are the `TradeRecord` fields under their own names, in declaration
order, and they are exact: money and counts as decimal integers in base units (never
rounded, never a float), times as epoch seconds written with `repr` (which reads back to
the same float), the route as compact JSON. `trade_from_row` reads such a row back into
the very record the ledger holds, so an export is also a faithful copy of the books.

The human columns come after, with a suffix saying what they are (`_dec`: the amount in
whole tokens, `_utc`: ISO time); they are derived, and empty when the token's decimals
are not known (a token the current market does not list). docs/accounting.md lists them.

Rows are produced by the engine and only written out by `arbctl export`, so the column
definition lives in one place and the command line stays a thin client.
"""

from __future__ import annotations

import json
import math
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from engine.ledger.records import TradeRecord
from engine.ledger.store import LedgerStore
from engine.market.model import Market
from engine.units import hop_suffix, to_text

EXACT_COLUMNS = tuple(f.name for f in fields(TradeRecord))
_TYPES = typing.get_type_hints(TradeRecord)

# (column, source field, whose decimals): the human amounts.
_TOKEN, _NATIVE, _QUOTE, _GWEI = "token", "native", "quote", "gwei"
_AMOUNTS = (
    ("amount_in_dec", "amount_in", _TOKEN),
    ("amount_out_dec", "amount_out", _TOKEN),
    ("flash_fee_dec", "flash_fee", _TOKEN),
    ("profit_token_dec", "profit_token", _TOKEN),
    ("expected_profit_dec", "expected_profit", _TOKEN),
    ("gas_price_gwei", "gas_price", _GWEI),
    ("gas_cost_native_dec", "gas_cost_wei", _NATIVE),
    ("profit_native_dec", "profit_native", _NATIVE),
    ("profit_quote_dec", "profit_quote", _QUOTE),
    ("gas_cost_quote_dec", "gas_cost_quote", _QUOTE),
    ("flash_fee_quote_dec", "flash_fee_quote", _QUOTE),
)
_TIMES = (
    ("detected_utc", "detected_at"),
    ("submitted_utc", "submitted_at"),
    ("mined_utc", "mined_at"),
)
HUMAN_COLUMNS = (
    "route_symbols",
    *(column for column, _ in _TIMES),
    *(column for column, _, _ in _AMOUNTS),
)
COLUMNS = EXACT_COLUMNS + HUMAN_COLUMNS
DEFAULT_PAGE = 1_000
MAX_PAGE = 10_000


@dataclass(frozen=True, slots=True)
class Units:
    """What the human columns need from the market: symbols and decimals by address."""

    symbols: Mapping[str, str]
    decimals: Mapping[str, int]
    native: str
    quote: str

    @classmethod
    def of(cls, market: Market) -> Units:
        tokens = market.tokens.values()
        return cls(
            symbols={t.address: t.symbol for t in tokens},
            decimals={t.address: t.decimals for t in tokens},
            native=market.native,
            quote=market.quote,
        )


# --- rows -------------------------------------------------------------------------------
def trade_row(trade: TradeRecord, units: Units) -> list[str]:
    """One CSV row, in `COLUMNS` order; every cell a string."""
    exact = [_exact(getattr(trade, name)) for name in EXACT_COLUMNS]
    human = [_route_symbols(trade.route, units)]
    human += [_utc(getattr(trade, name)) for _, name in _TIMES]
    human += [
        _decimal(getattr(trade, name), _decimals(whose, trade, units))
        for _, name, whose in _AMOUNTS
    ]
    return exact + human


def trade_from_row(row: Mapping[str, str]) -> TradeRecord:
    """The ledger record a row was written from (the exact columns; the rest is ignored)."""
    values: dict[str, Any] = {}
    for name in EXACT_COLUMNS:
        text, kind = row[name], _TYPES[name]
        if name == "route":
            values[name] = json.loads(text)
        elif kind is int:
            values[name] = int(text)
        elif kind == int | None:
            values[name] = int(text) if text else None
        elif kind is bool:
            values[name] = text == "true"
        elif kind is float:
            values[name] = float(text)
        else:
            values[name] = text
    return TradeRecord(**values)


def _exact(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _decimals(whose: str, trade: TradeRecord, units: Units) -> int | None:
    if whose == _GWEI:
        return 9
    address = {_TOKEN: trade.token, _NATIVE: units.native, _QUOTE: units.quote}[whose]
    return units.decimals.get(address)


def _decimal(amount: int, decimals: int | None) -> str:
    return "" if decimals is None else to_text(amount, decimals)


def _utc(ts: float) -> str:
    if not ts:
        return ""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _route_symbols(route: Sequence[Mapping[str, Any]], units: Units) -> str:
    """`WETH>USDC>WETH`, a V3 hop with its kind and fee tier (`WETH>USDC v3·0.05%>WETH`);
    an address the market does not know stays an address."""
    if not route:
        return ""
    named = [units.symbols.get(t, t) for t in [route[0].get("token_in", "?")]]
    for hop in route:
        token = hop.get("token_out", "?")
        named.append(units.symbols.get(token, token) + hop_suffix(hop))
    return ">".join(named)


# --- pages ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the previous page ended: its oldest `detected_at` and the ids already sent
    at exactly that time. Trades found in one block share a `detected_at`, so a page can
    end inside such a group; the ids say which of it were sent. Compared by set, not by
    sort order, so a database collation cannot make a trade appear twice or never."""

    detected_at: float
    ids: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"detected_at": self.detected_at, "ids": list(self.ids)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Cursor:
        detected_at, ids = data.get("detected_at"), data.get("ids")
        if not isinstance(detected_at, int | float) or isinstance(detected_at, bool):
            raise ValueError('"cursor.detected_at" must be a number')
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ValueError('"cursor.ids" must be a list of trade ids')
        return cls(float(detected_at), tuple(ids))


async def trade_page(
    store: LedgerStore, since: float, until: float, cursor: Cursor | None, limit: int
) -> tuple[list[TradeRecord], Cursor | None]:
    """Up to `limit` trades detected in [since, until), newest first, after `cursor`;
    and the cursor of the next page (None: this was the last)."""
    if cursor is None:
        found = await store.list_trades(since=since, until=until, limit=limit + 1)
    else:
        # detected_at <= cursor time, then drop the ids already sent at that time.
        upper = min(until, math.nextafter(cursor.detected_at, math.inf))
        sent = set(cursor.ids)
        found = await store.list_trades(since=since, until=upper, limit=limit + 1 + len(sent))
        found = [t for t in found if not (t.detected_at == cursor.detected_at and t.id in sent)]
    page, more = found[:limit], len(found) > limit
    return page, _next_cursor(page, cursor) if more else None


def _next_cursor(page: list[TradeRecord], previous: Cursor | None) -> Cursor:
    last = page[-1].detected_at
    ids = [t.id for t in page if t.detected_at == last]
    if previous is not None and previous.detected_at == last:
        ids = [*previous.ids, *ids]
    return Cursor(last, tuple(ids))
