"""The logs screen: a tail of the engine's JSON log with search.

The console runs where the engine runs (the control socket is a Unix socket), so it
reads `<state_dir>/logs/engine.log` itself — the state dir comes from `status`. The tail
follows appends, notices rotation or truncation (the file got smaller or was replaced),
and keeps a bounded number of lines. `/` searches: only matching lines are shown. Long
lines wrap (a cut line hides the part that says why), and the level is coloured and, for
warnings and errors, bold, so it survives NO_COLOR.
"""

from __future__ import annotations

import json
import os
from collections import deque
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Label, RichLog

from screens import formats
from screens.subscreen import SubScreen
from screens.widgets.banner import StateBanner
from screens.widgets.footer import KeysFooter
from screens.widgets.steady import steady_input

MAX_LINES = 2000
TAIL_BYTES = 256 * 1024  # read this much of the end of the file when opening
POLL_S = 0.5


LEVEL_STYLES = {
    "CRITICAL": "bold reverse red",
    "ERROR": "bold red",
    "WARNING": "bold yellow",
    "INFO": "cyan",
    "DEBUG": "dim",
}


def styled_line(line: str) -> Text:
    """A rendered line with its level word styled (the level is the second word)."""
    text = Text(line)
    parts = line.split(" ", 2)
    if len(parts) >= 2 and parts[1] in LEVEL_STYLES:
        start = len(parts[0]) + 1
        text.stylize(LEVEL_STYLES[parts[1]], start, start + len(parts[1]))
    return text


def render_line(raw: str) -> str:
    """One JSON log record as 'HH:MM:SS LEVEL logger: msg'; other lines as they are."""
    try:
        record = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(record, dict):
        return raw
    when = formats.clock(record.get("ts"))
    level = str(record.get("level") or "?")
    extra = f" [{record['exc']}]" if record.get("exc") else ""
    return f"{when} {level:<7} {record.get('logger', '')}: {record.get('msg', '')}{extra}"


class LogTail:
    """Follows one log file by offset; survives rotation, truncation and absence."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.inode: int | None = None
        self.partial = ""

    def read_new(self) -> list[str]:
        """Complete lines appended since the last call (the last TAIL_BYTES at first)."""
        try:
            stat = self.path.stat()
        except OSError:
            return []
        first = self.inode is None
        if first or stat.st_ino != self.inode or stat.st_size < self.offset:
            self.inode, self.partial = stat.st_ino, ""
            self.offset = max(0, stat.st_size - TAIL_BYTES) if first else 0
        if stat.st_size == self.offset:
            return []
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read(stat.st_size - self.offset)
        mid_line = first and self.offset > 0
        self.offset += len(chunk)
        lines = (self.partial + chunk.decode("utf-8", errors="replace")).split("\n")
        self.partial = lines.pop()
        if mid_line:
            lines = lines[1:]  # we started reading inside a line
        return [line for line in lines if line]


def matches(line: str, words: list[str]) -> bool:
    lowered = line.lower()
    return all(word in lowered for word in words)


class LogsScreen(SubScreen):
    """The engine log, newest at the bottom, with search."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search"),
    ]

    def __init__(self, state_dir: str | None) -> None:
        super().__init__(id="logs-screen")
        self.log_path = Path(state_dir) / "logs" / "engine.log" if state_dir else None
        self.tail = LogTail(self.log_path) if self.log_path else None
        self.lines: deque[str] = deque(maxlen=MAX_LINES)
        self.shown: deque[str] = deque(maxlen=MAX_LINES)  # what the view holds now
        self.words: list[str] = []

    def compose(self) -> ComposeResult:
        yield StateBanner(id="banner")
        where = str(self.log_path) if self.log_path else "unknown (engine not reached yet)"
        yield Label(f"Engine log {where} — / search · Esc back", classes="screen-title")
        yield steady_input(placeholder="search: words that must all appear", id="search")
        yield RichLog(max_lines=MAX_LINES, id="log", wrap=True, markup=False, highlight=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#log", RichLog).focus()
        if self.log_path is None or not os.access(self.log_path.parent, os.R_OK):
            self._write([f"cannot read the engine log at {self.log_path}"])
        self.follow()
        self.set_interval(POLL_S, self.follow)

    def _write(self, lines: list[str]) -> None:
        view = self.query_one("#log", RichLog)
        for line in lines:
            view.write(styled_line(line))
        self.shown.extend(lines)

    def follow(self) -> None:
        """Append new lines; only those matching the search reach the view."""
        if self.tail is None:
            return
        fresh = [render_line(line) for line in self.tail.read_new()]
        self.lines.extend(fresh)
        shown = [line for line in fresh if matches(line, self.words)]
        if shown:
            self._write(shown)

    @on(Input.Changed, "#search")
    def search(self, message: Input.Changed) -> None:
        message.input.set_class(bool(message.value.strip()), "-active")
        self.words = message.value.lower().split()
        self.query_one("#log", RichLog).clear()
        self.shown.clear()
        self._write([line for line in self.lines if matches(line, self.words)])

    @on(Input.Submitted, "#search")
    def done_searching(self) -> None:
        self.query_one("#log", RichLog).focus()

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()
