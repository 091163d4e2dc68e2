"""The key footer, drawn with its keys in the screen's first frame.

Textual's `Footer` composes nothing until the screen's first refresh has published its
bindings, then recomposes itself after the next refresh: the dashboard's first frames
went out without the keys, and the first complete dashboard waited two frames and a
recompose for them (issue 19: ≤ 400 ms to the first complete dashboard). The keys a
screen shows do not depend on that refresh (the app's and the screen's bindings), so
this footer composes them at once, and recomposes only when the keys shown change
(focus moved to a widget with keys of its own, a binding disabled): the same picture,
one recompose fewer.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer

KeysShown = tuple[tuple[str, str, bool], ...]  # (key, description, enabled) in order


def keys_shown(screen: Screen[Any]) -> KeysShown:
    """What a footer on `screen` shows: the bindings marked `show`, in order."""
    return tuple(
        (binding.key, binding.description, enabled)
        for _, binding, enabled, _ in screen.active_bindings.values()
        if binding.show
    )


class KeysFooter(Footer):
    """`Footer(compact=True)` with its keys in the first frame."""

    def __init__(self) -> None:
        super().__init__(compact=True)
        self.set_reactive(Footer._bindings_ready, True)
        self._shown: KeysShown | None = None

    def compose(self) -> Any:
        self._shown = keys_shown(self.screen)
        return super().compose()

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if self._shown is not None and screen is self.screen and keys_shown(screen) == self._shown:
            return
        super().bindings_changed(screen)
