"""A console model filled from a recorded engine session, with a frozen clock.

Snapshots need the same pixels every run; a live engine gives different latencies,
timestamps and CPU readings each time. So the dashboard snapshots replay what a real
engine served (tests/screens/data/session.json, made by record_session.py) into the
same ConsoleModel the live console uses, with the clock stopped at the recording's time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from screens.app import ArbConsole
from screens.state import ConsoleModel

SESSION = Path(__file__).parent / "data" / "session.json"


def load_session() -> dict[str, Any]:
    return json.loads(SESSION.read_text())


def pnl_samples(session: dict[str, Any], count: int = 12) -> list[dict[str, Any]]:
    """Today's P&L as the console's poller would have seen it while the trades came in."""
    final = session["pnl"]
    trades = sorted(session["trades"], key=lambda t: t["mined_at"])
    samples = []
    for i in range(count):
        later = trades[len(trades) * (i + 1) // count :]
        net = final["net_profit_quote"] - sum(t["profit_quote"] for t in later)
        samples.append({**final, "net_profit_quote": net})
    return samples


class FrozenClock:
    """The recording's time, still until a test moves it (`advance`)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def recorded_model(
    session: dict[str, Any] | None = None, clock: FrozenClock | None = None
) -> ConsoleModel:
    session = session or load_session()
    model = ConsoleModel(clock=clock or FrozenClock(float(session["clock"])))
    model.link_up()
    model.apply_status(session["status"])
    for event in session["heartbeats"]:
        model.apply_event(event)
    model.apply_trades(session["trades"])
    model.apply_guards(session["guards"])
    for pnl in pnl_samples(session):
        model.apply_pnl(pnl)
    for event in session["audit"]:
        model.apply_event(event)
    model.notices.clear()  # toasts would fade at their own pace: not in a snapshot
    return model


def recorded_console(model: ConsoleModel | None = None, read_only: bool = False) -> ArbConsole:
    """The console on a recording: no socket, frozen clock."""
    model = model or recorded_model()
    socket = Path(str(model.engine.get("socket")))
    return ArbConsole(socket, clock=model.clock, model=model, connect=False, read_only=read_only)
