"""The fleet screen: every engine on one table, and what is wrong with the fleet as a whole.

Three lines above the table: the title (namespace, how many engines, where they were
found, when last read), and a banner only when something needs the operator — the shared
halt flag is set, the last fleet kill was incomplete, Redis cannot be read. Words, not
only colours: NO_COLOR reads the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Static

from screens import formats
from screens.widgets.fleet_table import FleetTable
from screens.widgets.footer import KeysFooter

if TYPE_CHECKING:
    from screens.fleet.app import FleetState


class FleetScreen(Screen[None]):
    """Title, banner, the engines; Enter drills into one, K kills them all."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "drill", "Open", show=True),
        Binding("K", "app.fleet_kill", "KILL ALL"),
        Binding("r", "app.fleet_refresh", "Refresh"),
        Binding("question_mark", "app.fleet_help", "Help", key_display="?"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, read_only: bool = False) -> None:
        super().__init__(id="fleet")
        self.read_only = read_only
        self.painted: tuple[int, ...] = ()  # what the app last painted here (app.py)

    def compose(self) -> ComposeResult:
        yield Static(id="fleet-title", classes="screen-title")
        yield Static(id="fleet-banner")
        table = FleetTable(id="fleet-table")
        table.border_title = "engines"
        yield table
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(FleetTable).focus()

    def show(self, fleet: FleetState, now: float) -> None:
        """Repaint from the app's fleet state (called at the app's render rate)."""
        self.query_one("#fleet-title", Static).update(_title(fleet, now))
        banner = self.query_one("#fleet-banner", Static)
        text, level = _banner(fleet)
        banner.update(text)
        banner.set_class(bool(text), "-shown")
        banner.set_class(level == "error", "-error")
        banner.set_class(level == "warning", "-warning")
        self.query_one(FleetTable).show(fleet.snapshot.rows, now)

    def selected_key(self) -> str | None:
        return self.query_one(FleetTable).selected_key

    def action_drill(self) -> None:
        key = self.selected_key()
        if key is not None:
            self.app.drill_into(key)  # type: ignore[attr-defined]

    @on(DataTable.RowSelected, "#fleet-table")
    def _row_selected(self, message: DataTable.RowSelected) -> None:
        message.stop()
        self.app.drill_into(str(message.row_key.value))  # type: ignore[attr-defined]


def _title(fleet: FleetState, now: float) -> Text:
    snapshot = fleet.snapshot
    count = len(snapshot.rows)
    where = f"namespace {snapshot.namespace}" if snapshot.namespace else "sockets"
    read = "never read" if snapshot.read_at is None else f"read {formats.clock(snapshot.read_at)}"
    line = Text.assemble(("FLEET", "bold reverse"), " ")
    line.append(f"{count} engine{'' if count == 1 else 's'} · {where} · {read} UTC")
    line.no_wrap, line.overflow = True, "ellipsis"
    return line


def _banner(fleet: FleetState) -> tuple[str, str]:
    """(text, level) of the most important fleet-wide problem; ("", "") when none."""
    report, snapshot = fleet.last_kill, fleet.snapshot
    if report is not None and not report.complete:
        return report.summary(), "error"
    flag = snapshot.halt
    if flag:
        who = f"{flag.get('user', '?')}@{flag.get('host', '?')}"
        return f"GLOBAL HALT SET — {flag.get('reason')} (by {who})", "error"
    if report is not None:
        return report.summary(), "warning"
    if snapshot.redis_problem:
        return f"REDIS NOT READ — {snapshot.redis_problem}", "warning"
    return "", ""
