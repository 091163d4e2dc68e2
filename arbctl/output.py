"""How results reach the operator: JSON for scripts, rich tables for humans.

rich is imported only inside the human renderers: `arbctl status --json` runs under a
monitoring agent every few seconds and must not pay for a terminal library it never uses.
Errors go to stderr for humans and as `{"error": {...}}` on stdout with --json, so a script
that parses stdout always gets a JSON document.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from arbctl import exitcodes
from arbctl.client import EngineUnreachable, RpcError
from engine import units

if TYPE_CHECKING:
    from rich.console import Console

_consoles: dict[bool, Console] = {}


def console(stderr: bool = False) -> Console:
    """A shared rich console, created on first human output."""
    if stderr not in _consoles:
        from rich.console import Console

        _consoles[stderr] = Console(stderr=stderr, highlight=False, soft_wrap=False)
    return _consoles[stderr]


def emit_json(value: Any) -> None:
    """One JSON document on stdout; ints stay exact (wei amounts exceed 2**53)."""
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")
    sys.stdout.flush()


def emit_json_line(value: Any) -> None:
    """One compact JSON object per line, flushed, for streams piped into jq."""
    sys.stdout.write(json.dumps(value, separators=(",", ":"), default=str) + "\n")
    sys.stdout.flush()


def say(message: str) -> None:
    """A human line on stdout (rich markup allowed)."""
    console().print(message)


def note(message: str) -> None:
    """A side remark for humans on stderr; never pollutes a JSON stdout."""
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()


def fail(message: str, code: int, as_json: bool, **fields: Any) -> NoReturn:
    """Report a failure the same way everywhere and exit with `code`."""
    if as_json:
        kind = {"kind": "usage"} if code == exitcodes.USAGE else {}
        emit_json({"error": {**kind, "message": message, **fields}})
    else:
        note(f"arbctl: {message}")
    raise typer.Exit(code)


def fail_unreachable(exc: EngineUnreachable, as_json: bool) -> NoReturn:
    if as_json:
        emit_json({"error": exc.to_dict()})
    else:
        note(f"arbctl: {exc}")
    raise typer.Exit(exitcodes.UNREACHABLE)


def fail_rpc(exc: RpcError, as_json: bool) -> NoReturn:
    if as_json:
        emit_json({"error": exc.to_dict()})
    else:
        note(f"arbctl: engine refused ({exc.name}): {exc.message}")
    raise typer.Exit(exitcodes.FAILED)


def esc(value: Any) -> str:
    """Text from the engine or the operator, made safe to embed in rich markup.

    A reason like "[urgent] gas spike" would otherwise be parsed as a style tag.
    """
    from rich.markup import escape

    return escape(str(value))


def _cell(value: Any, markup: bool) -> Any:
    from rich.text import Text

    text = "" if value is None else str(value)
    return text if markup else Text(text)


@dataclass(frozen=True, slots=True)
class Col:
    """A table column that knows how to give way on a narrow terminal.

    `shrink` > 0: free text (ids, reasons, routes) that may be cut with "…" down to that
    many characters. `drop` > 0: the column goes when the table is still too wide, the
    lowest number first; 0 means it always stays. Numbers are never split or cut: a
    column of amounts is either whole or absent.
    """

    name: str
    drop: int = 0
    shrink: int = 0
    right: bool = False
    middle: bool = False  # an id: keep both ends, cut the middle ("sim-1a2…000042")


@dataclass(frozen=True, slots=True)
class Styled:
    """A cell with a rich style (a status colour); its text is shown verbatim."""

    text: str
    style: str

    def __str__(self) -> str:
        return self.text


SEPARATOR = 3  # rich's SIMPLE_HEAD box puts " │ "-wide gaps (as spaces) between columns


def _span(widths: Sequence[int]) -> int:
    return sum(widths) + SEPARATOR * max(0, len(widths) - 1)


def fit_columns(columns: Sequence[Col], rows: Sequence[Sequence[str]], width: int) -> list[int]:
    """Which columns to show, and how wide, so the table fits `width` characters.

    Free text first gives way down to its minimum, then whole columns go in their drop
    order, then the room left is handed back to the free text, last column first (a revert
    reason before an id). Returns one width per
    column; 0 for a dropped one.
    """
    natural = [max([len(c.name), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    widths = [
        min(n, max(c.shrink, len(c.name))) if c.shrink else n
        for n, c in zip(natural, columns, strict=True)
    ]
    for i in sorted((i for i, c in enumerate(columns) if c.drop), key=lambda i: columns[i].drop):
        if _span([w for w in widths if w]) <= width:
            break
        widths[i] = 0
    for i in reversed(range(len(columns))):  # the last free text (a reason) first
        if columns[i].shrink and widths[i]:
            room = width - _span([w for w in widths if w])
            widths[i] += max(0, min(room, natural[i] - widths[i]))
    return widths


def ellipsize(text: str, width: int, middle: bool = False) -> str:
    """`text` cut to `width` characters, the cut marked with "…" (at the end, or in the
    middle for ids, whose two ends are what tells them apart)."""
    if len(text) <= width:
        return text
    if middle and width >= 5:
        tail = (width - 1) // 2
        return text[: width - 1 - tail] + "…" + text[-tail:]
    return text[: max(0, width - 1)] + "…"


def print_fitted(
    columns: Sequence[Col], rows: Iterable[Sequence[Any]], title: str | None = None
) -> None:
    """A table that fits the terminal (80 columns in tmux) without splitting a number."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    raw = [list(row) for row in rows]
    cells = [["" if v is None else str(v) for v in row] for row in raw]
    widths = fit_columns(columns, cells, console().size.width)
    table = Table(
        title=title,
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
    )
    shown = [i for i, w in enumerate(widths) if w]
    for i in shown:
        table.add_column(
            columns[i].name,
            justify="right" if columns[i].right else "left",
            no_wrap=True,
            min_width=widths[i],
        )
    for values, row in zip(raw, cells, strict=True):
        table.add_row(
            *(
                Text(
                    ellipsize(row[i], widths[i], columns[i].middle),
                    style=values[i].style if isinstance(values[i], Styled) else "",
                )
                for i in shown
            )
        )
    console().print(table)


def print_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    title: str | None = None,
    markup: bool = True,
) -> None:
    """A table; with markup=False cells are shown verbatim (for engine-supplied text)."""
    from rich.table import Table

    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")  # ids and amounts wrap, never "…"
    for row in rows:
        table.add_row(*(_cell(cell, markup) for cell in row))
    console().print(table)


def print_fields(
    rows: Iterable[tuple[str, Any]], title: str | None = None, markup: bool = True
) -> None:
    """A two-column key/value grid: the shape of `status` and `trade ID`."""
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for key, value in rows:
        grid.add_row(key, _cell("—" if value is None or value == "" else value, markup))
    if title:
        console().print(f"[bold]{esc(title)}[/bold]")
    console().print(grid)


def clock(ts: float | None) -> str:
    """Local time of an epoch timestamp, short for tables: the date only if not today."""
    if not ts:
        return "—"
    moment = time.localtime(ts)
    if time.strftime("%Y-%m-%d", moment) == time.strftime("%Y-%m-%d"):
        return time.strftime("%H:%M:%S", moment)
    return time.strftime("%Y-%m-%d %H:%M", moment)


def ago(ts: float | None) -> str:
    if not ts:
        return "—"
    return f"{duration(time.time() - ts)} ago"


# The CLI's presets of the one units module: tenths of a second under a minute, an em dash
# for "no value"; money as a person reads it (units.money), or with --exact the exact base
# units followed by every decimal place.
duration = partial(units.duration, tenths=True)
exact_amount = units.exact_and_tokens


def amount(value: Any, unit: Any, exact: bool = False, *, plus: bool = False) -> str:
    """One amount for humans: `8.33 USDC`; with `exact`, `8330034 (8.330034 USDC)`."""
    return units.exact_and_tokens(value, unit) if exact else units.money(value, unit, plus=plus)
