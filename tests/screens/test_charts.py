"""Finding 8 and point 6: the charts have a scale, and one sample is one sample.

A single sample used to fill a whole sparkline, and no sparkline said what its top and
bottom meant. Now each chart draws one column per sample from the right, says its
minimum and maximum, and at 160x48 the P&L and latency charts have a labelled axis.
"""

from __future__ import annotations

from screens.widgets.chart import chart_lines
from tests.screens.recorded import recorded_console
from tests.screens.screen_text import screen_text


def test_one_sample_is_one_column_not_a_filled_chart() -> None:
    lines = chart_lines([5.0], width=20, height=2, fmt=str)
    assert [len(line.rstrip()) for line in lines] != [20, 20]
    assert sum(1 for ch in lines[-1] if ch not in " ") == 1


def test_the_axis_carries_the_maximum_and_minimum() -> None:
    lines = chart_lines([1.0, 4.0, 2.0, 9.0], width=30, height=4, fmt=lambda v: f"{v:g}ms")
    assert lines[0].startswith("9ms") and lines[-1].startswith("1ms")
    assert all("┤" in line or "│" in line for line in lines)


def test_equal_samples_draw_a_low_line_not_a_full_block() -> None:
    lines = chart_lines([3.0] * 10, width=10, height=2, fmt=str)
    assert "█" not in "".join(lines)


async def test_the_dashboard_charts_say_their_range_at_80_and_draw_an_axis_at_160() -> None:
    app = recorded_console()
    async with app.run_test(size=(80, 24)) as pilot:
        app.paint()
        await pilot.pause()
        assert "loop 0.3ms" in screen_text(app)
        assert "ev/s 17 (6–30)" in screen_text(app)  # the range, where it fits
    app = recorded_console()
    async with app.run_test(size=(160, 48)) as pilot:
        app.paint()
        await pilot.pause()
        text = screen_text(app)
        assert "┤" in text, text
        assert "P&L today" in text
