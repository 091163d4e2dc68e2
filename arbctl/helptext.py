"""Docstrings as `--help` text: paragraphs reflowed to the terminal's width.

Docstrings are wrapped at 100 columns for the source; typer's rich help keeps those line
breaks, which reads badly in an 80-column SSH session. Joining each paragraph's lines
lets rich wrap it to whatever terminal the operator has.
"""

from __future__ import annotations

import inspect
from typing import Any


def reflow(doc: str | None) -> str | None:
    """Paragraphs joined, and every "[" escaped: typer renders help as rich markup, which
    would eat `[[providers]]` or `[engine]` as a style tag (a docstring is prose, never
    markup)."""
    if not doc:
        return doc
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    text = "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)
    return text.replace("[", "\\[")


def reflow_app(app: Any) -> None:
    """Apply `reflow` to every command of a typer app and of its sub-apps."""
    for info in app.registered_commands:
        if info.help is None and info.callback is not None:
            info.help = reflow(info.callback.__doc__)
    for group in app.registered_groups:
        reflow_app(group.typer_instance)
