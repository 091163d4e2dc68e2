"""What every screen over the dashboard shares: Esc goes back, and a shorter footer.

The app's keys keep working here (t, g, l switch screens; p, K, f act), but at 80
columns the footer cannot list them all, so the screen-switching ones are hidden from
it (they are in `?`), leaving room for the screen's own keys, the actions and Help.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.screen import Screen


class SubScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("t", "app.trades", "Trades", show=False),
        Binding("g", "app.guards", "Guards", show=False),
        Binding("l", "app.logs", "Logs", show=False),
        Binding("a", "app.alerts", "Alerts", show=False),
    ]

    def action_back(self) -> None:
        self.app.pop_screen()
