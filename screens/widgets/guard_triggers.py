"""Guard triggers, newest first: which rule, why, and the value against its threshold."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text

from screens import formats
from screens.state import TRIGGERS, ConsoleModel, Units
from screens.widgets.synced_table import Row, SyncedTable
from screens.widgets.view import VIEW_CLASS, ModelView, cell

ACTION_STYLES = {
    "blocked": "yellow",
    "breaker_open": "bold red",
    "breaker_half_open": "yellow",
    "breaker_closed": "green",
    "breaker_reset": "cyan",
}
NARROW = [("time", 9), ("guard", 18), ("value/limit", None)]
WIDE = [("time", 9), ("guard", 28), ("value / limit", 30), ("reason", None)]


def _as_int(text: Any) -> int | None:
    try:
        return int(str(text))
    except ValueError:
        return None


def value_vs_threshold(
    trigger: dict[str, Any], unit: str, units: Units, compact: bool = False
) -> str:
    """'0.71 / 1.00 USDC': exact base units shown in the rule's own unit. `compact`
    (80 columns) drops the spaces and shortens big amounts ('117.4k/100k USDC')."""
    observed, threshold = str(trigger.get("observed", "")), str(trigger.get("threshold", ""))
    o, t = _as_int(observed), _as_int(threshold)
    sep = "/" if compact else " / "
    if o is not None and t is not None and unit == "quote":
        q, symbol = units.quote_decimals, units.quote_symbol
        if compact and max(abs(o), abs(t)) >= 10_000 * 10**q:
            return f"{_short(o, q)}{sep}{_short(t, q)} {symbol}"
        return f"{formats.money(o, q)}{sep}{formats.money(t, q)} {symbol}"
    if o is not None and t is not None and unit == "wei":
        return f"{formats.units(o, 9, 1)}{sep}{formats.units(t, 9, 1)} gwei"
    if not threshold:
        return observed
    return f"{observed}{sep}{threshold} {unit}".strip()


def _short(amount: int, decimals: int) -> str:
    """117_380_000_000 (6 decimals) → '117.4k'; for a glance, the guards screen is exact."""
    whole = amount / 10**decimals
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(whole) >= size:
            return f"{whole / size:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{whole:.0f}"


def trigger_cells(trigger: dict[str, Any], model: ConsoleModel) -> dict[str, Text]:
    action = str(trigger.get("action") or "")
    guard = str(trigger.get("guard") or "?")
    unit = str(trigger.get("unit") or model.rule_units.get(guard, ""))
    repeats = trigger.get("repeats") or 0
    return {
        "time": cell(formats.clock(trigger.get("ts"))),
        "guard": cell(guard + (f" ×{repeats}" if repeats else ""), ACTION_STYLES.get(action, "")),
        "value/limit": cell(value_vs_threshold(trigger, unit, model.units, compact=True)),
        "value / limit": cell(value_vs_threshold(trigger, unit, model.units)),
        "reason": cell(trigger.get("reason") or action),
    }


class GuardTriggersTable(ModelView, SyncedTable):
    """The newest guard triggers from the model, in place."""

    panels: ClassVar[tuple[str, ...]] = (TRIGGERS,)

    def __init__(self, limit: int = 30, watch: bool = False, **kwargs: object) -> None:
        super().__init__(NARROW, WIDE, limit, watch=watch, classes=VIEW_CLASS, **kwargs)

    def show(self, model: ConsoleModel) -> None:
        rows: list[Row] = [
            (str(t.get("id")), trigger_cells(t, model)) for t in model.newest_triggers(self.limit)
        ]
        self.sync(rows)
