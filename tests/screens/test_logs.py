"""Finding 8: log lines are whole (wrapped, not cut at the edge) and levels stand out."""

from __future__ import annotations

import json
from pathlib import Path

from screens.logs import LogsScreen
from tests.screens.recorded import recorded_console
from tests.screens.screen_text import screen_text, styles_of

LONG = "provider bravo-rpc failed over to charlie-rpc after 3 timeouts; " * 3 + "END-OF-LINE"


async def test_long_log_lines_wrap_and_levels_are_marked(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    records = [
        {"ts": 1795271150.0, "level": "ERROR", "logger": "arbctl.rpc", "msg": LONG},
        {"ts": 1795271151.0, "level": "WARNING", "logger": "arbctl.guards", "msg": "gas high"},
        {"ts": 1795271152.0, "level": "INFO", "logger": "arbctl", "msg": "block 12"},
    ]
    lines = "".join(json.dumps(r) + "\n" for r in records)
    (tmp_path / "logs" / "engine.log").write_text(lines)
    app = recorded_console()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(LogsScreen(str(tmp_path)))
        await pilot.pause(0.3)
        text = screen_text(app)
        assert "END-OF-LINE" in text, text
        assert all(s.bold for s in styles_of(app, "ERROR")), styles_of(app, "ERROR")
        assert any(s.color is not None for s in styles_of(app, "WARNING"))
