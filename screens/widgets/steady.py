"""An Input whose cursor does not blink: a console left open all night is calmer, and
its snapshots are the same picture every time."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input


def steady_input(**kwargs: Any) -> Input:
    field = Input(**kwargs)
    field.cursor_blink = False
    return field
