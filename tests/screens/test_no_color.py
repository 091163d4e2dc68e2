"""Finding 5: under NO_COLOR the failures are the most visible things, not the least.

Colour was the only mark of a reverted trade, a loss and a revert reason; with NO_COLOR
they became grey on grey. Now each carries a mark that survives without colour: a ✗ and
reverse video on the status, bold on losses and reasons.
"""

from __future__ import annotations

import pytest

from tests.screens.recorded import recorded_console
from tests.screens.screen_text import screen_text, styles_of


@pytest.fixture(autouse=True)
def no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")


def _marked(styles: list) -> bool:
    return bool(styles) and all(s.bold or s.reverse for s in styles)


async def test_reverted_trades_losses_and_reasons_are_marked_without_colour() -> None:
    app = recorded_console()
    async with app.run_test(size=(80, 24)) as pilot:
        app.paint()
        await pilot.pause()
        text = screen_text(app)
        assert "✗ revert" in text, text
        assert _marked(styles_of(app, "revert")), styles_of(app, "revert")
        assert _marked(styles_of(app, "-4.836")), styles_of(app, "-4.836")
        assert _marked(styles_of(app, "INSUFFICIENT")), styles_of(app, "INSUFFICIENT")
