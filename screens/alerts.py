"""The alerts screen: what fires now, how bad, since when, and the runbook's next step.

The engine judges the alert rules itself (engine/telemetry/alerts); this screen polls
its `alerts` method while open and also follows the `alert` events through the model.
Enter acknowledges the selected alert (`alerts.ack`, audited, with a reason): it stays
listed while its condition holds, marked with who saw it, and stops re-notifying.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Label, Static

from screens import formats
from screens.connection import EngineUnreachable, RpcError
from screens.state import ALERTS, ConsoleModel
from screens.subscreen import SubScreen
from screens.widgets.banner import StateBanner
from screens.widgets.footer import KeysFooter
from screens.widgets.synced_table import Row, SyncedTable
from screens.widgets.view import VIEW_CLASS, ModelView, cell

Fetch = Callable[[str, dict[str, Any]], Awaitable[Any]]
POLL_S = 2.0
SEVERITY_STYLES = {"P0": "bold reverse red", "P1": "bold red", "P2": "yellow", "P3": ""}
NARROW = [("sev", 4), ("rule", 21), ("since", 9), ("ack", 6), ("summary", None)]
WIDE = [("sev", 4), ("rule", 26), ("since", 10), ("ack", 8), ("summary", 60), ("next step", None)]


def alert_cells(alert: dict[str, Any]) -> dict[str, Text]:
    severity = str(alert.get("severity") or "?")
    acked = alert.get("acked_at")
    return {
        "sev": cell(severity, SEVERITY_STYLES.get(severity, "bold")),
        "rule": cell(alert.get("rule"), "" if acked else "bold"),
        "since": cell(formats.clock(alert.get("fired_at") or alert.get("since"))),
        "ack": cell("acked" if acked else "NEW", "" if acked else "bold reverse"),
        "summary": cell(alert.get("summary") or ""),
        "next step": cell(alert.get("action") or ""),
    }


def alert_detail(alert: dict[str, Any] | None) -> Text:
    """The selected alert in full: what, since, the runbook's next step, who acked."""
    if alert is None:
        return Text("No alert fires. (The engine judges its rules every few seconds.)")
    text = Text()
    text.append(f"{alert.get('severity')} {alert.get('rule')}", style="bold")
    text.append(f" since {formats.clock(alert.get('fired_at') or alert.get('since'))}Z\n")
    text.append(f"{alert.get('summary') or ''}\n")
    text.append("next step: ", style="bold")
    text.append(f"{alert.get('action') or '–'}\n")
    if alert.get("acked_at"):
        by = alert.get("acked_by") or {}
        text.append(
            f"acked {formats.clock(alert.get('acked_at'))}Z by uid {by.get('uid', '?')} "
            f"({by.get('client') or '?'}): {alert.get('ack_reason') or ''}"
        )
    else:
        text.append("Enter acknowledges (stops the reminders until it resolves)", style="bold")
    return text


class AlertsTable(ModelView, SyncedTable):
    """Firing alerts, unacknowledged first, most severe first."""

    panels: ClassVar[tuple[str, ...]] = (ALERTS,)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(NARROW, WIDE, 64, classes=VIEW_CLASS, **kwargs)  # type: ignore[arg-type]
        self.model: ConsoleModel | None = None

    def show(self, model: ConsoleModel) -> None:
        self.model = model
        rows: list[Row] = [(str(a.get("rule")), alert_cells(a)) for a in model.firing_alerts()]
        self.sync(rows)
        self.border_subtitle = f"{len(rows)} firing"


class AlertDetail(ModelView, Static):
    """The selected alert in full, repainted when the alerts change."""

    panels: ClassVar[tuple[str, ...]] = (ALERTS,)

    def __init__(self, selected: Callable[[], dict[str, Any] | None], **kwargs: object) -> None:
        super().__init__(alert_detail(None), classes=VIEW_CLASS, **kwargs)  # type: ignore[arg-type]
        self.selected = selected

    def show(self, model: ConsoleModel) -> None:
        self.update(alert_detail(self.selected()))


class AlertsScreen(SubScreen):
    """Firing alerts; Enter acknowledges the selected one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "acknowledge", "Acknowledge"),
    ]

    def __init__(
        self,
        model: ConsoleModel,
        fetch: Fetch | None,
        acknowledge: Callable[[str], None],
    ) -> None:
        """`fetch` None: a console replaying a recording, which shows the model only."""
        super().__init__(id="alerts-screen")
        self.model = model
        self.fetch = fetch
        self.acknowledge = acknowledge

    def compose(self) -> ComposeResult:
        yield StateBanner(id="banner")
        yield Label("Alerts — Enter acknowledges · Esc back", classes="screen-title")
        table = AlertsTable(id="alerts")
        table.border_title = "firing alerts (unacknowledged first)"
        yield table
        yield AlertDetail(self.selected, id="alert-detail")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#alerts", AlertsTable).focus()
        if self.fetch is not None:
            self._schedule_poll()
            self.set_interval(POLL_S, self._schedule_poll)

    def _schedule_poll(self) -> None:
        self.run_worker(self.poll(), group="alerts-poll", exclusive=True, exit_on_error=False)

    async def poll(self) -> None:
        if self.fetch is None:
            return
        try:
            answer = await self.fetch("alerts", {"limit": 20})
        except (EngineUnreachable, RpcError) as exc:
            self.query_one("#alert-detail", Static).update(Text(f"alerts unavailable: {exc}"))
            return
        if isinstance(answer, dict):
            self.model.apply_alerts(answer)

    def selected(self) -> dict[str, Any] | None:
        tables = self.query("#alerts")
        key = tables.first(AlertsTable).selected_key if tables else None
        return self.model.alerts.get(key) if key else None

    @on(DataTable.RowHighlighted, "#alerts")
    def _highlighted(self) -> None:
        self.query_one("#alert-detail", AlertDetail).show(self.model)

    @on(DataTable.RowSelected, "#alerts")
    def _selected(self) -> None:
        self.action_acknowledge()

    def action_acknowledge(self) -> None:
        alert = self.selected()
        if alert is None:
            self.app.notify("no alert selected", severity="warning")
            return
        self.acknowledge(str(alert.get("rule")))
