"""What the dashboard looks like, pixel for pixel, at 80x24 and 160x48.

Deterministic by construction: the console replays a recorded engine session with a
frozen clock (tests/screens/recorded.py). Update after a deliberate visual change with
`pytest tests/screens/test_snapshots.py --snapshot-update` and review the SVGs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from screens.state import ConsoleModel
from tests.screens.recorded import FrozenClock, load_session, recorded_console, recorded_model

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


# --- issue 16: the dialogs and sub-screens, and the states an operator must not miss ------
def after(*keys: str) -> Callable[[Any], Awaitable[None]]:
    """Press `keys`, then paint every view before the picture: under load the timed
    repaint (and a pushed screen's first one) may not have run when it is taken."""

    async def settle(pilot: Any) -> None:
        for _ in range(3):
            pilot.app.paint()
            await pilot.pause(0.1)

    async def run_before(pilot: Any) -> None:
        if keys:  # the dashboard laid out and painted first: a dialog's backdrop is stable
            await settle(pilot)
        for key in keys:  # each key's screen (imported on first open) mounted before the next
            await pilot.press(key)
            await pilot.pause()
        await settle(pilot)

    return run_before


painted = after()


def _with_open_breaker() -> ConsoleModel:
    model = recorded_model()
    now = model.clock()
    model.apply_event(
        {
            "topic": "heartbeat",
            "seq": 2,
            "ts": now,
            "data": {
                "state": "running",
                "breaker": {
                    "state": "open",
                    "guard": "consecutive_failures",
                    "reason": "3 failed trades in a row (limit 3)",
                    "since": now - 20,
                    "retry_at": now + 40,
                },
            },
        }
    )
    model.apply_alerts({"active": [BREAKER_ALERT | {"since": now - 20, "fired_at": now - 20}]})
    return model


BREAKER_ALERT = {
    "id": "breaker_open-1",
    "rule": "breaker_open",
    "severity": "P1",
    "status": "firing",
    "summary": "circuit breaker OPEN (consecutive_failures: 3 failed trades in a row)",
    "action": "`arbctl breaker`; review logs; `arbctl breaker reset` if a false positive",
    "acked_at": None,
}


def test_breaker_open_with_its_alert_at_80x24(snap_compare: Snap) -> None:
    assert snap_compare(
        recorded_console(_with_open_breaker()), run_before=painted, terminal_size=(80, 24)
    )


def test_not_answering_at_80x24(snap_compare: Snap) -> None:
    session = load_session()
    clock = FrozenClock(float(session["clock"]))
    model = recorded_model(session, clock)
    clock.advance(7)
    assert snap_compare(recorded_console(model), run_before=painted, terminal_size=(80, 24))


def test_dashboard_at_60x20(snap_compare: Snap) -> None:
    assert snap_compare(recorded_console(), run_before=painted, terminal_size=(60, 20))


@pytest.mark.parametrize("key", ["p", "K", "f", "o", "question_mark"])
def test_each_dialog_at_80x24(snap_compare: Snap, key: str) -> None:
    assert snap_compare(recorded_console(), run_before=after(*[key]), terminal_size=(80, 24))


def test_the_pause_dialog_asking_for_the_second_enter(snap_compare: Snap) -> None:
    assert snap_compare(
        recorded_console(), run_before=after(*["p", "enter"]), terminal_size=(80, 24)
    )


def test_the_alerts_screen_at_80x24(snap_compare: Snap) -> None:
    assert snap_compare(
        recorded_console(_with_open_breaker()),
        press=["a"],
        run_before=painted,
        terminal_size=(80, 24),
    )


def test_the_trades_screen_and_a_trade_at_80x24(snap_compare: Snap) -> None:
    assert snap_compare(recorded_console(), run_before=after(*["t"]), terminal_size=(80, 24))
    assert snap_compare(
        recorded_console(), run_before=after(*["t", "enter"]), terminal_size=(80, 24)
    )


def test_the_trades_filter_at_80x24(snap_compare: Snap) -> None:
    press = ["slash", *"revert"]
    assert snap_compare(recorded_console(), run_before=after(*press), terminal_size=(80, 24))


def _with_a_v3_trade() -> ConsoleModel:
    """The recording, its newest trade routed through a V3 pool (0.05 %) and a V2 pair:
    the fields a trade of this engine carries since pools have kinds."""
    session = load_session()
    newest = max(session["trades"], key=lambda t: t["mined_at"])
    kinds = [("v3", 500)] + [("v2", 3000)] * (len(newest["route"]) - 1)
    for hop, (kind, fee) in zip(newest["route"], kinds, strict=True):
        hop.update(kind=kind, fee_pips=fee)
    return recorded_model(session)


def test_a_v3_trade_shows_its_pools_kind_and_fee_tier_at_80x24(snap_compare: Snap) -> None:
    assert snap_compare(
        recorded_console(_with_a_v3_trade()),
        run_before=after(*["t", "enter"]),
        terminal_size=(80, 24),
    )
