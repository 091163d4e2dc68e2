"""What the dashboard looks like, pixel for pixel, at 80x24 and 160x48.

Deterministic by construction: the console replays a recorded engine session with a
frozen clock (tests/screens/recorded.py). Update after a deliberate visual change with
`pytest tests/screens/test_snapshots.py --snapshot-update` and review the SVGs.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.screens.recorded import recorded_console, recorded_model

Snap = Callable[..., bool]


@pytest.fixture(autouse=True)
def colour_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SVGs were taken in colour; an operator's NO_COLOR must not change them."""
    monkeypatch.delenv("NO_COLOR", raising=False)


def test_dashboard_at_80x24(snap_compare: Snap) -> None:
    assert snap_compare(recorded_console(), terminal_size=(80, 24))


def test_dashboard_at_160x48(snap_compare: Snap) -> None:
    assert snap_compare(recorded_console(), terminal_size=(160, 48))


def test_engine_down_banner_at_80x24(snap_compare: Snap) -> None:
    model = recorded_model()
    model.last_seq = 1795271029000000
    model.link_down("connection refused: nobody listens on the socket (engine down?)", 3, 0.8)
    model.link.since = model.clock() - 12
    assert snap_compare(recorded_console(model), terminal_size=(80, 24))


def test_halted_read_only_at_80x24(snap_compare: Snap) -> None:
    model = recorded_model()
    model.apply_event(
        {
            "topic": "state",
            "seq": 1,
            "ts": model.clock() - 5,
            "data": {"state": "halted", "reason": "emergency kill from the operator console"},
        }
    )
    model.notices.clear()
    assert snap_compare(recorded_console(model, read_only=True), terminal_size=(80, 24))
