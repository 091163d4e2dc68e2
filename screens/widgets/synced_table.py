"""A DataTable kept in step with a list of rows: updated in place, never rebuilt.

Rebuilding a table on every event is what makes consoles stutter over SSH: every row
is re-measured and repainted and the cursor jumps to the top. Here rows are keyed, a
changed cell is updated with `update_cell`, vanished rows are removed, new rows added,
and the order is restored with one `sort` only when it changed.

The cursor never drifts away from the newest rows on its own: a table that only watches
(`watch=True`, the dashboard's) has no cursor and stays scrolled to the top, and a table
the operator browses follows the top while its cursor is on the first row, and stays on
the operator's row once they moved it down (as k9s does).

Columns come in two sets, for narrow (80 columns) and wide terminals; crossing the
breakpoint is the one time the table is rebuilt. Cells have no padding: the widths
include the spacing, which is what lets five columns fit in 40 characters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual import events
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

Row = tuple[str, Mapping[str, Text]]  # (row key, cell by column label)
Columns = Sequence[tuple[str, int | None]]  # (label, width incl. spacing; None: the rest)
WIDE_AT = 120  # terminal columns from which the wide column set is used


def _signature(cell: Text) -> tuple[str, str]:
    return cell.plain, str(cell.style)


def fit(cell: Text, width: int | None) -> Text:
    """Cut a left-aligned cell to leave one space before the next column (no padding),
    at a word boundary (space, _ or /) when one is near the end, never mid-word if avoidable."""
    if width is None or cell.justify == "right" or len(cell.plain) < width:
        return cell
    keep = width - 2  # the characters kept before the ellipsis
    plain = cell.plain
    boundary = max(plain.rfind(mark, 0, keep + 1) for mark in (" ", "_", "/"))
    if boundary >= keep * 0.6:
        keep = boundary + (plain[boundary] != " ")
    cut = cell.copy()
    cut.truncate(keep)
    cut.append("…")
    return cut


class SyncedTable(DataTable[Text]):
    """A DataTable whose rows mirror `sync(rows)`, in that order, at most `limit` of them."""

    def __init__(
        self,
        narrow: Columns,
        wide: Columns | None = None,
        limit: int = 100,
        watch: bool = False,
        **kwargs: object,
    ) -> None:
        super().__init__(cursor_type="row", cell_padding=0, **kwargs)  # type: ignore[arg-type]
        self.limit = limit
        self.watch_only = watch
        if watch:
            self.show_cursor = False
            self.can_focus = False
        self._column_sets = (list(narrow), list(wide or narrow))
        self._is_wide: bool | None = None
        self._column_keys: list[ColumnKey] = []
        self._labels: list[str] = []
        self._widths: list[int | None] = []
        self._cells: dict[str, tuple[Text, ...]] = {}
        self._order: list[str] = []

    @property
    def wide(self) -> bool:
        return bool(self._is_wide)

    @property
    def columns_ready(self) -> bool:
        return self._is_wide is not None

    def on_mount(self) -> None:
        self._build_columns()

    def on_resize(self, event: events.Resize) -> None:
        if (self.app.size.width >= WIDE_AT) != self._is_wide:
            self.clear(columns=True)
            self._cells.clear()
            self._order = []
            self._build_columns()
            self.rows_lost()

    def _build_columns(self) -> None:
        self._is_wide = self.app.size.width >= WIDE_AT
        columns = self._column_sets[self._is_wide]
        self._labels = [label for label, _ in columns]
        self._widths = [width for _, width in columns]
        self._column_keys = [self.add_column(label, width=w, key=label) for label, w in columns]

    def rows_lost(self) -> None:
        """Called after a rebuild: whoever feeds the table should send every row again."""

    @property
    def row_keys(self) -> list[str]:
        """The keys in display order (what an operator sees, top to bottom)."""
        return list(self._order)

    @property
    def selected_key(self) -> str | None:
        if not self._order:
            return None
        try:
            key: RowKey = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:  # the cursor points past the rows: nothing selected
            return None
        return str(key.value)

    def sync(self, rows: Sequence[Row]) -> None:
        """Make the table show exactly `rows` (first `limit` of them), in place."""
        rows = list(rows)[: self.limit]
        keep = {key for key, _ in rows}
        following = self.watch_only or self.cursor_row <= 0
        focus = None if following else self.selected_key
        for key in [k for k in self._cells if k not in keep]:
            self.remove_row(key)
            del self._cells[key]
        blank = Text("")
        for key, cells in rows:
            picked = zip(self._labels, self._widths, strict=True)
            self._put(key, tuple(fit(cells.get(label, blank), w) for label, w in picked))
        order = [key for key, _ in rows]
        if order != self._order:
            self._reorder(order)
        if focus is not None and focus in self._cells:
            self.move_cursor(row=self.get_row_index(focus), scroll=False)
        elif following and self._order:
            self.move_cursor(row=0, scroll=False)
            self.scroll_to(y=0, animate=False, immediate=True)

    def _put(self, key: str, cells: tuple[Text, ...]) -> None:
        old = self._cells.get(key)
        if old is None:
            self.add_row(*cells, key=key)
            self._cells[key] = cells
            return
        merged = []
        for column, before, after in zip(self._column_keys, old, cells, strict=False):
            if _signature(before) == _signature(after):
                merged.append(before)  # keep the object the table holds (see _reorder)
                continue
            self.update_cell(key, column, after)
            merged.append(after)
        self._cells[key] = tuple(merged)

    def _reorder(self, order: list[str]) -> None:
        """One sort by rank; the key function sees the first cell, so rank by its identity."""
        self._order = order
        if not self._column_keys or not order:
            return
        rank = {id(self._cells[key][0]): index for index, key in enumerate(order)}
        self.sort(self._column_keys[0], key=lambda first: rank.get(id(first), len(rank)))
