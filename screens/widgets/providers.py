"""Provider health: which endpoint is active or pinned, and how each one is doing."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text

from screens import formats
from screens.state import HEADER, PROVIDERS, ConsoleModel
from screens.widgets.synced_table import Row, SyncedTable
from screens.widgets.view import VIEW_CLASS, ModelView, cell, number

STATUS_STYLES = {
    "healthy": "green",
    "degraded": "bold yellow",
    "down": "bold reverse red",
    "stalled": "bold red",
    "offline": "bold reverse",
}
NARROW = [("provider", 14), ("status", 9), ("lat", 6), ("ok", 5)]
WIDE = [
    ("provider", 16),
    ("status", 10),
    ("latency", 8),
    ("success", 8),
    ("fails", 6),
    ("lag", 4),
]


def is_pinned(provider: dict[str, Any], model: ConsoleModel) -> bool:
    """The engine's own word if it says (`pinned`), else the status' `pinned_provider`."""
    if "pinned" in provider:
        return bool(provider["pinned"])
    pinned = model.engine.get("pinned_provider")
    return bool(pinned) and pinned == provider.get("name")


def provider_cells(provider: dict[str, Any], model: ConsoleModel) -> dict[str, Text]:
    mark = "▶" if provider.get("active") else " "
    pin = "⚑" if is_pinned(provider, model) else " "
    status = "stalled" if provider.get("stalled") else str(provider.get("status") or "?")
    if not model.fresh:
        status = "unknown"  # yesterday's "healthy" says nothing about now
    fails = provider.get("consecutive_failures")
    latency = number(formats.ms(provider.get("latency_ms_ewma")) + " ")
    success = number(formats.percent(provider.get("success_rate")) + " ")
    failures = number(f"{fails if fails is not None else '–'} ", "red" if fails else "")
    lag = number(f"{provider.get('head_lag', '–')} ")
    return {
        "provider": cell(f"{mark}{pin}{provider.get('name')}", "bold" if mark != " " else ""),
        "status": cell(status, STATUS_STYLES.get(status, "")),
        "lat": latency,
        "latency": latency,
        "ok": success,
        "success": success,
        "cf": failures,
        "fails": failures,
        "lag": lag,
    }


class ProvidersTable(ModelView, SyncedTable):
    """One row per provider, in the engine's priority order. ▶ active, ⚑ pinned."""

    panels: ClassVar[tuple[str, ...]] = (PROVIDERS, HEADER)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(NARROW, WIDE, 16, watch=True, classes=VIEW_CLASS, **kwargs)

    def show(self, model: ConsoleModel) -> None:
        rows: list[Row] = [(str(p.get("name")), provider_cells(p, model)) for p in model.providers]
        self.sync(rows)
