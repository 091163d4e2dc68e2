"""The header: what an operator must see first — is it trading, where, and is it fresh.

State (RUNNING / PAUSED / HALTED with the reason), venue and chain, block and head age,
uptime, today's net P&L in the quote token, the breaker, and the last action
anyone took (so several consoles attached at once all see who did what).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.widgets import Static

from engine import protocol
from screens import formats
from screens.state import (
    ACTIVITY,
    ALERTS,
    BANNER,
    HEADER,
    ConsoleModel,
    as_dict,
    describe_action,
)
from screens.widgets.view import VIEW_CLASS, ModelView

CLOCK = "clock"  # pseudo-panel the app bumps once a second: ages and uptime move

STATE_STYLES = {
    protocol.RUNNING: "bold black on green",
    protocol.PAUSED: "bold black on yellow",
    protocol.HALTED: "bold white on red",
    protocol.STARTING: "bold black on cyan",
    protocol.STOPPING: "bold black on cyan",
}
BREAKER_STYLES = {"closed": "green", "half_open": "yellow", "open": "bold red"}
NOT_ANSWERING_STYLE = "bold black on dark_orange"  # amber: not known dead, not known alive


ALERT_STYLES = {"P0": "bold reverse red", "P1": "bold reverse red", "P2": "bold reverse yellow"}


def alert_tag(alert: dict[str, Any], model: ConsoleModel) -> Text:
    """'▲ P1 breaker_open +1 (a)': the worst firing alert, and how many more fire."""
    severity = str(alert.get("severity") or "?")
    more = max(len(model.alerts), int(model.alert_counts.get("active") or 0)) - 1
    acked = " acked" if alert.get("acked_at") else ""
    text = Text(f"▲ {severity} {alert.get('rule')}{acked}", ALERT_STYLES.get(severity, "bold"))
    if more > 0:
        text.append(f" +{more}", style="bold")
    text.append(" (a)", style="dim")
    return text


class EngineHeader(ModelView, Static):
    """Four lines: state, market, money, activity."""

    panels: ClassVar[tuple[str, ...]] = (HEADER, BANNER, ACTIVITY, ALERTS, CLOCK)

    def __init__(self, read_only: bool = False, **kwargs: object) -> None:
        super().__init__(classes=VIEW_CLASS, **kwargs)  # type: ignore[arg-type]
        self.read_only = read_only

    def show(self, model: ConsoleModel) -> None:
        lines = [
            self._state_line(model),
            self._market_line(model),
            self._money_line(model),
            self._activity_line(model),
        ]
        text = Text("\n").join(lines)
        text.no_wrap = True
        text.overflow = "ellipsis"
        self.update(text)

    def _state_line(self, model: ConsoleModel) -> Text:
        if not model.link.connected:
            word, style = ("NO ENGINE", "bold white on red")
        elif not model.answering:
            silent = formats.duration(model.silent_s())
            word, style = (f"NOT ANSWERING ({silent})", NOT_ANSWERING_STYLE)
        else:
            word = model.state.upper()
            style = STATE_STYLES.get(model.state, "bold reverse")
        line = Text.assemble((f" {word} ", style), " ")
        alert = model.worst_alert()
        if alert is not None:
            line.append_text(alert_tag(alert, model))
            line.append(" ")
        line.append(str(model.engine.get("reason") or ""))
        since = model.engine.get("since")
        if since:
            line.append(f"  since {formats.clock(since)}Z", style="dim")
        if self.read_only:
            line.append("  READ-ONLY", style="bold")
        return line

    def _market_line(self, model: ConsoleModel) -> Text:
        """Breaker first: at 60 columns it is the part that must survive the cut."""
        e = model.engine
        breaker = str(as_dict(e.get("breaker")).get("state") or "?")
        line = Text("breaker ")
        if model.fresh:
            line.append(breaker.upper().replace("_", "-"), style=BREAKER_STYLES.get(breaker, ""))
        else:
            line.append("unknown", style="bold")  # a stale CLOSED would be a lie
        line.append(f" · {e.get('venue') or '?'} · chain {e.get('chain') or '?'}")
        line.append(f" · block {e.get('block', '?')} (head {formats.age(model.head_age_s())})")
        line.append(f" · up {formats.duration(model.uptime_s())}")
        if not model.fresh and model.last_heard:
            line.append(f" as of {formats.clock(model.last_heard)}Z", style="bold")
        return line

    def _money_line(self, model: ConsoleModel) -> Text:
        u = model.units
        today = model.pnl_today_quote()
        value = formats.signed_money(today, u.quote_decimals)
        style = "green" if (today or 0) > 0 else "red" if (today or 0) < 0 else ""
        line = Text("P&L today ")
        line.append(f"{value} {u.quote_symbol}", style=style)
        pnl = model.pnl or {}
        if pnl.get("total_trades") is not None:
            rate = formats.percent(pnl.get("success_rate"))
            line.append(f" ({pnl.get('total_trades')} trades, {rate} ok)", style="dim")
        return line

    def _activity_line(self, model: ConsoleModel) -> Text:
        entry = model.last_action
        if not entry:
            return Text("last action: none since the console opened", style="dim")
        when = formats.clock(entry.get("ts"))
        return Text(f"last action {when}Z: {describe_action(entry)}")
