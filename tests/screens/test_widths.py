"""Finding 7: what the console shows at 60, 80 and 160 columns.

At 80 columns guard values, rule names and revert reasons used to be cut mid-word, the
socket path took header space, and profit and gas had no unit; at 60 the breaker and
`?`/`q` vanished; at 160x48 three providers held 20 rows and the guard panel was empty.
"""

from __future__ import annotations

from screens.widgets.synced_table import SyncedTable
from tests.screens.recorded import recorded_console
from tests.screens.screen_text import screen_lines, screen_text


async def _text(size: tuple[int, int]) -> tuple[str, list[str]]:
    app = recorded_console()
    async with app.run_test(size=size) as pilot:
        app.paint()
        await pilot.pause()
        return screen_text(app), screen_lines(app)


async def test_at_80_columns_values_names_and_reasons_are_whole_and_money_has_units() -> None:
    text, lines = await _text((80, 24))
    assert "INSUFFICIENT_OUTPUT_AMOUNT" in text, text
    assert "min_net_profit" in text and "min_net_profi…" not in text
    assert "0.8147 / 1.00 USDC" in text or "0.8147/1.00 USDC" in text, text
    assert "engine.sock" not in lines[2], lines[2]
    title = next(line for line in lines if "newest first" in line)
    assert "in USDC" in title, title


async def test_at_60_columns_the_breaker_and_help_and_quit_stay_visible() -> None:
    text, lines = await _text((60, 20))
    assert "breaker CLOSED" in text, text
    footer = lines[-1]
    assert "? Help" in footer and "q Quit" in footer, footer


async def test_at_160x48_the_panels_use_the_space() -> None:
    app = recorded_console()
    async with app.run_test(size=(160, 48)) as pilot:
        app.paint()
        await pilot.pause()
        providers = app.screen.query_one("#providers", SyncedTable)
        trades = app.screen.query_one("#trades", SyncedTable)
        rows = len(app.model.providers)
        assert providers.size.height <= rows + 3, providers.size
        assert trades.size.height >= 30, trades.size
        text = screen_text(app)
        assert "max_failed_trades_per_hour" in text or "…" not in text.split("guard")[1][:40]
