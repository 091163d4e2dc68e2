"""The fleet table: one row per engine — chain, state, P&L today, breaker, worst alert,
heartbeat age — readable at 80 columns and without colour.

Every warning is a word as well as a colour (NOT ANSWERING, OPEN, P1), so NO_COLOR and a
monochrome SSH session read the same table. Money is each engine's own quote token,
formatted from integer base units: the fleet has no common currency.
"""

from __future__ import annotations

from rich.text import Text

from engine import protocol
from screens import formats
from screens.fleet.model import NOT_ANSWERING, EngineRow
from screens.widgets.synced_table import SyncedTable
from screens.widgets.view import cell, number

# A right-aligned cell loses any trailing space (justification strips it), so the column
# after P&L and after the heartbeat starts with one: header and cells alike.
GAP = " "
STALE_AFTER_S = 5.0  # a heartbeat older than this is shown as a problem
NO_HEARTBEAT = "no heartbeat"
STATE_STYLES = {
    protocol.RUNNING: "bold green",
    protocol.PAUSED: "bold yellow",
    protocol.HALTED: "bold red",
    NOT_ANSWERING: "bold reverse red",
    NO_HEARTBEAT: "bold reverse yellow",
}
BREAKER_STYLES = {"closed": "green", "half-open": "yellow", "OPEN": "bold red"}

# (key of row_cells, header, width incl. spacing; None: the rest)
NARROW = [
    ("engine", "engine", 14),
    ("chain", "chain", 9),
    ("state", "state", 14),
    ("pnl", "P&L today", 16),
    ("breaker", GAP + "breaker", 10),
    ("alert", "alert", 7),
    ("heartbeat", "hb", 7),
]
WIDE = [
    ("engine", "engine", 20),
    ("host", "host", 12),
    ("chain", "chain", 11),
    ("state", "state", 14),
    ("pnl", "P&L today", 22),
    ("breaker", GAP + "breaker", 10),
    ("alert", "worst alert", 22),
    ("heartbeat", "heartbeat", 10),
    ("detail", GAP + "detail", None),
]


def row_cells(row: EngineRow, now: float) -> dict[str, str]:
    """The row as plain text, by column key (also what the tests read)."""
    return {
        "engine": row.label,
        "host": row.host or "–",
        "chain": row.chain or "–",
        "state": _state(row, now).upper(),
        "pnl": _money(row),
        "breaker": _breaker(row.breaker),
        "alert": _alert(row),
        "alert_wide": _alert(row, with_rule=True),
        "heartbeat": _age(row, now),
        "detail": _detail(row),
    }


def _state(row: EngineRow, now: float) -> str:
    """What the engine last said — unless it went silent: a frozen engine must not look
    healthy because its last word was "running"."""
    if row.answering is not False and _stale(row, now) and row.heartbeat_ts is not None:
        return NO_HEARTBEAT
    return row.shown_state


def _stale(row: EngineRow, now: float) -> bool:
    return row.heartbeat_ts is None or now - row.heartbeat_ts > STALE_AFTER_S


def _money(row: EngineRow) -> str:
    if row.pnl_today is None or row.quote_decimals is None:
        return "–"
    amount = formats.signed_money(row.pnl_today, row.quote_decimals)
    return f"{amount} {row.quote_symbol}".strip()


def _breaker(state: str) -> str:
    if not state:
        return "–"
    return {"open": "OPEN", "half_open": "half-open"}.get(state, state)


def _alert(row: EngineRow, with_rule: bool = False) -> str:
    if not row.alerts_known:
        return "–"
    if row.alerts_active == 0:
        return "none"
    text = row.worst_alert or "?"
    if row.alerts_active > 1:
        text += f" ×{row.alerts_active}"
    return f"{text} {row.worst_rule}".strip() if with_rule else text


def _age(row: EngineRow, now: float) -> str:
    if row.heartbeat_ts is None:
        return "–"
    return formats.age(max(0.0, now - row.heartbeat_ts))


def _detail(row: EngineRow) -> str:
    if row.problem:
        return row.problem
    if row.breaker == "open" and row.breaker_reason:
        return f"breaker: {row.breaker_reason}"
    return row.reason or (str(row.dial) if row.dial else "Redis only: no socket here")


def styled_cells(row: EngineRow, now: float) -> dict[str, Text]:
    """The same cells, coloured, keyed by the table's headers."""
    plain = row_cells(row, now)
    stale = _stale(row, now)
    styled = {
        "engine": cell(formats.tail(plain["engine"], 20), "bold"),
        "host": cell(plain["host"]),
        "chain": cell(plain["chain"]),
        "state": cell(plain["state"], STATE_STYLES.get(_state(row, now), "")),
        "P&L today": number(plain["pnl"], _money_style(row)),
        GAP + "breaker": cell(GAP + plain["breaker"], BREAKER_STYLES.get(plain["breaker"], "")),
        "alert": cell(plain["alert"], _alert_style(row)),
        "worst alert": cell(plain["alert_wide"], _alert_style(row)),
        "hb": number(plain["heartbeat"], "bold red" if stale else ""),
        "heartbeat": number(plain["heartbeat"], "bold red" if stale else ""),
        GAP + "detail": cell(GAP + plain["detail"], "red" if row.problem else "dim"),
    }
    return styled


def _money_style(row: EngineRow) -> str:
    if row.pnl_today is None:
        return "dim"
    return "red" if row.pnl_today < 0 else "green" if row.pnl_today > 0 else ""


def _alert_style(row: EngineRow) -> str:
    if not row.alerts_active:
        return "dim"
    return "bold red" if row.worst_alert in ("P1", "critical") else "yellow"


class FleetTable(SyncedTable):
    """The engines, sorted by name; the cursor stays on the engine the operator chose."""

    def __init__(self, **kwargs: object) -> None:
        narrow = [(header, width) for _, header, width in NARROW]
        wide = [(header, width) for _, header, width in WIDE]
        super().__init__(narrow, wide, limit=500, watch=False, **kwargs)

    def show(self, rows: tuple[EngineRow, ...], now: float) -> None:
        if self.columns_ready:
            self.sync([(row.key, styled_cells(row, now)) for row in rows])
