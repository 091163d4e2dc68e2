"""The guards screen: every rule with its threshold and current value, the breaker, and
the trigger history — what the runbook's "RiskGuard triggered — review guard conditions"
asks the operator to look at. Rules and breaker are polled while the screen is open;
triggers stream in through the model like on the dashboard.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Label, Static

from screens import formats
from screens.connection import EngineUnreachable, RpcError
from screens.state import ConsoleModel, as_dict
from screens.subscreen import SubScreen
from screens.widgets.banner import StateBanner
from screens.widgets.footer import KeysFooter
from screens.widgets.guard_triggers import GuardTriggersTable
from screens.widgets.header import BREAKER_STYLES
from screens.widgets.synced_table import Row, SyncedTable
from screens.widgets.view import cell, number

Fetch = Callable[[str, dict[str, Any]], Awaitable[Any]]
POLL_S = 2.0
RULES_NARROW = [("rule", 27), ("limit", 15), ("now", 17), ("state", 9), ("hits", 6), ("last", 9)]
RULES_WIDE = [
    ("rule", 28),
    ("kind", 12),
    ("limit", 18),
    ("now", 22),
    ("state", 10),
    ("hits", 8),
    ("last hit", 10),
    ("observes", None),
]


def rule_cells(rule: dict[str, Any]) -> dict[str, Text]:
    if not rule.get("enabled", True):
        verdict, style = "off", "dim"
    elif rule.get("breached"):
        verdict, style = "BREACHED", "bold red"
    else:
        verdict, style = "ok", "green"
    last = cell(f" {formats.clock(rule.get('last_triggered_at'))}")
    return {
        "rule": cell(rule.get("name")),
        "kind": cell(rule.get("kind")),
        "limit": cell(rule.get("threshold_text") or rule.get("threshold")),
        "now": cell(rule.get("current_text") or rule.get("current") or "–"),
        "state": cell(verdict, style),
        "hits": number(f"{rule.get('triggers', 0)} "),
        "last": last,
        "last hit": last,
        "observes": cell(rule.get("observes") or ""),
    }


def breaker_text(guards: dict[str, Any]) -> Text:
    b = as_dict(guards.get("breaker"))
    state = str(b.get("state") or "?")
    text = Text("breaker ")
    text.append(state.upper().replace("_", "-"), style=BREAKER_STYLES.get(state, ""))
    text.append(f" since {formats.clock(b.get('since'))}Z — {b.get('reason') or ''}")
    if b.get("retry_at"):
        text.append(f" · probes from {formats.clock(b.get('retry_at'))}Z")
    if carried := as_dict(b.get("carried_over")):
        text.append(
            f"\ncounts {carried.get('trades')} trades ({carried.get('failed')} failed) booked "
            f"before this engine started, until {formats.clock(carried.get('until'))}Z",
            style="yellow",
        )
    counts = (guards.get("reviewed"), guards.get("approved"), guards.get("blocked"))
    if None not in counts:
        text.append(f"\nreviewed {counts[0]} · approved {counts[1]} · blocked {counts[2]}")
    return text


class GuardsScreen(SubScreen):
    """Rules, breaker, triggers."""

    def __init__(self, model: ConsoleModel, fetch: Fetch) -> None:
        super().__init__(id="guards-screen")
        self.model = model
        self.fetch = fetch

    def compose(self) -> ComposeResult:
        yield StateBanner(id="banner")
        yield Label("Guards — rules, breaker, triggers · Esc back", classes="screen-title")
        yield Static(Text("breaker: loading…"), id="breaker")
        rules = SyncedTable(RULES_NARROW, RULES_WIDE, 64, id="rules")
        rules.border_title = "rules"
        yield rules
        triggers = GuardTriggersTable(limit=200, id="all-triggers")
        triggers.border_title = "guard triggers (newest first)"
        yield triggers
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#rules", SyncedTable).focus()
        self.run_worker(self.poll(), group="guards-poll", exclusive=True, exit_on_error=False)
        self.set_interval(POLL_S, self._schedule_poll)

    def _schedule_poll(self) -> None:
        self.run_worker(self.poll(), group="guards-poll", exclusive=True, exit_on_error=False)

    async def poll(self) -> None:
        """Rules and breaker now; on failure say so in the breaker line, keep the rest."""
        try:
            guards = await self.fetch("guards", {"limit": 50})
        except (EngineUnreachable, RpcError) as exc:
            self.query_one("#breaker", Static).update(Text(f"guards unavailable: {exc}"))
            return
        if not isinstance(guards, dict):
            return
        rows: list[Row] = [(str(r.get("name")), rule_cells(r)) for r in guards.get("rules") or []]
        self.query_one("#rules", SyncedTable).sync(rows)
        self.query_one("#breaker", Static).update(breaker_text(guards))
        self.model.apply_guards(guards)
