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
        emit_json({"error": {"message": message, **fields}})
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
# for "no value", and money as exact base units followed by the readable amount.
duration = partial(units.duration, tenths=True)
amount = units.exact_and_tokens
