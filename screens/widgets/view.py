"""The contract between the model and the widgets that show it.

A `ModelView` names the panels it reads; the app repaints it at its bounded render rate
only when one of those panels' versions moved. So a thousand events a second that do not
touch the providers never cost the providers table a repaint.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text

from screens.state import ConsoleModel

VIEW_CLASS = "model-view"  # CSS class the app queries to find views on a screen


class ModelView:
    """Mixin for widgets fed from the ConsoleModel."""

    panels: ClassVar[tuple[str, ...]] = ()
    _painted_versions: tuple[int, ...] | None = None

    def refresh_from(self, model: ConsoleModel, force: bool = False) -> None:
        """Repaint if a panel this view reads changed since the last paint."""
        if not getattr(self, "columns_ready", True):
            return  # a table painted before its columns exist would hold broken rows
        versions = tuple(model.versions[p] for p in self.panels)
        if not force and versions == self._painted_versions:
            return
        self._painted_versions = versions
        self.show(model)

    def show(self, model: ConsoleModel) -> None:
        raise NotImplementedError

    def rows_lost(self) -> None:
        """The widget lost what it showed (a table rebuilt its columns): paint it again."""
        self._painted_versions = None


def cell(value: object, style: str = "", justify: str = "left") -> Text:
    """A table cell that is never parsed as markup: engine text may contain '['."""
    return Text("" if value is None else str(value), style=style, justify=justify, no_wrap=True)  # type: ignore[arg-type]


def number(value: object, style: str = "") -> Text:
    return cell(value, style, justify="right")
