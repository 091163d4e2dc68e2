"""Finding 1: the dashboard's trades panel always shows the newest trade on top.

It used to keep a highlighted row on whichever trade was first when the console opened,
and follow that row down as trades arrived, so "newest first" showed trades minutes old.
"""

from __future__ import annotations

from typing import Any

import pytest

from screens.widgets.trades_table import TradesTable
from tests.screens.recorded import FrozenClock, load_session, recorded_console, recorded_model
from tests.screens.screen_text import screen_lines


def _new_trade(template: dict[str, Any], n: int, at: float) -> dict[str, Any]:
    return {**template, "id": f"late-{n:04d}", "mined_at": at, "block_number": 9000 + n}


@pytest.mark.parametrize("size", [(80, 24), (60, 20), (160, 48)])
async def test_the_newest_trade_stays_on_top_as_trades_arrive(size: tuple[int, int]) -> None:
    session = load_session()
    clock = FrozenClock(float(session["clock"]))
    model = recorded_model(session, clock)
    app = recorded_console(model)
    async with app.run_test(size=size) as pilot:
        table = app.screen.query_one("#trades", TradesTable)
        template = session["trades"][0]
        for n in range(30):
            clock.advance(1.0)
            model.apply_trades([_new_trade(template, n, clock.now)])
            app.paint()
            await pilot.pause()
        assert table.row_keys[0] == "late-0029"
        assert table.scroll_y == 0
        top = screen_lines(app)[table.region.y + 1]  # the first row under the column labels
        assert "9029" in top or table.cursor_row == 0, top
        assert not table.show_cursor or table.cursor_row == 0
