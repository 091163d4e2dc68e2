"""The dashboard: the one screen an operator on call keeps open.

Readable at 80x24 (the grid stacks), richer at 160x48 (two columns, tall sparklines):
the layout follows the app's width breakpoints in styles.tcss.
"""

from __future__ import annotations

from typing import TypeVar

from textual.app import ComposeResult
from textual.containers import Grid
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer

from screens.widgets.banner import StateBanner
from screens.widgets.guard_triggers import GuardTriggersTable
from screens.widgets.header import EngineHeader
from screens.widgets.providers import ProvidersTable
from screens.widgets.resources import ResourcesPanel
from screens.widgets.trades_table import TradesTable

W = TypeVar("W", bound=Widget)


class DashboardScreen(Screen[None]):
    """Header, banner, trades, providers, guard triggers, resources."""

    def __init__(self, read_only: bool = False) -> None:
        super().__init__(id="dashboard")
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        yield EngineHeader(read_only=self.read_only, id="header")
        yield StateBanner(id="banner")
        with Grid(id="panels"):
            yield _titled(TradesTable(id="trades"), "trades (newest first)")
            yield _titled(ProvidersTable(id="providers"), "providers")
            yield _titled(GuardTriggersTable(watch=True, id="triggers"), "guard triggers")
            yield _titled(ResourcesPanel(id="resources"), "resources")
        yield Footer(compact=True)


def _titled(widget: W, title: str) -> W:
    widget.border_title = title
    return widget
