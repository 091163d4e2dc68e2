"""The dashboard: the one screen an operator on call keeps open.

Readable at 80x24 (the grid stacks), richer at 160x48 (two columns, tall sparklines):
the layout follows the app's width breakpoints in styles.tcss.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid
from textual.screen import Screen
from textual.widget import Widget

from screens import formats
from screens.state import BANNER, HEADER, ConsoleModel
from screens.widgets.banner import StateBanner
from screens.widgets.footer import KeysFooter
from screens.widgets.guard_triggers import GuardTriggersTable
from screens.widgets.header import EngineHeader
from screens.widgets.providers import ProvidersTable
from screens.widgets.resources import ResourcesPanel
from screens.widgets.trades_table import TradesTable
from screens.widgets.view import VIEW_CLASS, ModelView

W = TypeVar("W", bound=Widget)


class DashboardScreen(Screen[None]):
    """Header, banner, trades, providers, guard triggers, resources."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "app.trades_filter", "Filter", show=False),
    ]

    def __init__(self, read_only: bool = False, paint: Callable[[], None] | None = None) -> None:
        super().__init__(id="dashboard")
        self.read_only = read_only
        self._paint = paint

    def on_mount(self) -> None:
        """The panels are mounted and the first frame not yet drawn: paint what the model
        holds now, so the first frame shows it (not an empty dashboard, then the data)."""
        if self._paint is not None:
            self._paint()

    def compose(self) -> ComposeResult:
        yield EngineHeader(read_only=self.read_only, id="header")
        yield StateBanner(id="banner")
        with Panels(id="panels"):
            yield _titled(TradesTable(id="trades"), "trades, newest first · profit, gas in {quote}")
            yield _titled(ProvidersTable(id="providers"), "providers")
            yield _titled(GuardTriggersTable(watch=True, id="triggers"), "guard triggers")
            yield _titled(ResourcesPanel(id="resources"), "resources")
        yield KeysFooter()


def _titled(widget: W, title: str) -> W:
    widget.border_title = title
    TITLES[widget.id or ""] = title
    return widget


TITLES: dict[str, str] = {}  # each panel's own title, before any "as of"


class Panels(ModelView, Grid):
    """The dashboard's panels, dimmed and dated ("as of HH:MM:SS") while the engine is
    silent or unreachable: what they show is then history, and must look like it."""

    panels: ClassVar[tuple[str, ...]] = (HEADER, BANNER)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(classes=VIEW_CLASS, **kwargs)  # type: ignore[arg-type]

    def show(self, model: ConsoleModel) -> None:
        stale = not model.fresh and model.last_heard is not None
        self.set_class(stale, "-stale")
        suffix = f" · as of {formats.clock(model.last_heard)}Z" if stale else ""
        for child in self.children:
            title = TITLES.get(child.id or "")
            if title is not None:
                child.border_title = title.format(quote=model.units.quote_symbol) + suffix
