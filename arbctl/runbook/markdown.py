"""Markdown for reports and post-mortems: tables, lists, and writing files safely.

Markdown because it is the runbooks' own format (the post-mortem template is markdown),
it reads as plain text in a terminal or an email, and it renders in a ticket or a wiki.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


def cell(value: Any) -> str:
    """A table cell: pipes escaped, line breaks folded, None as an em dash."""
    if value is None or value == "":
        return "—"
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def fields(rows: Iterable[tuple[str, Any]]) -> list[str]:
    """A two-column table of key and value: the shape of a status block."""
    return table(["", ""], rows)


def code(lines: Iterable[str]) -> list[str]:
    """A fenced block: charts keep their alignment in every renderer."""
    return ["```", *lines, "```"]


def section(title: str, body: Iterable[str]) -> list[str]:
    return [f"## {title}", "", *body, ""]


def write(path: Path, text: str) -> Path:
    """Write beside the target and rename: a reader never sees half a report."""
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path.absolute()
