"""What the fleet screen looks like, pixel for pixel, at 80x24 and 160x48.

Deterministic by construction: a fixed fleet (three engines on different chains and
quote tokens, one with an open breaker and a firing P1 alert, one on another host that
stopped answering) with a frozen clock and no polling. Update after a deliberate visual
change with `--snapshot-update` and review the SVGs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from screens.fleet.app import FleetConsole, FleetSources
from screens.fleet.kill import EngineKill, FleetKillReport
from screens.fleet.model import (
    FleetSnapshot,
    SocketAnswers,
    merge_rows,
    row_from_presence,
    row_from_socket,
)

Snap = Callable[..., bool]
NOW = 1_795_271_040.0


@pytest.fixture(autouse=True)
def colour_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)


def _heartbeat(chain: str, **extra: Any) -> dict[str, Any]:
    return {
        "chain": chain,
        "state": "running",
        "breaker": {"state": "closed"},
        "alerts": {"active": 0, "worst": None},
        "ts": NOW - 0.4,
        **extra,
    }


def _presence(name: str, host: str, state: str = "running", age: float = 0.4) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": "prod",
        "pid": 1000 + len(name),
        "host": host,
        "state": state,
        "reason": "",
        "socket": f"/run/arbctl/{name}.sock",
        "state_dir": f"/var/lib/arbctl/{name}",
        "ts": NOW - age,
    }


def _answers(
    name: str, chain: str, quote: str, decimals: int, pnl: int, **hb: Any
) -> SocketAnswers:
    status = {"state": "running", "pid": 1000 + len(name), "chain": chain}
    units = {"quote": {"symbol": quote, "decimals": decimals}}
    event = {"topic": "heartbeat", "ts": NOW - 0.6, "data": _heartbeat(chain, **hb)}
    return SocketAnswers(
        status, {"net_profit_quote": pnl, "units": units}, event, ("prod", name), ""
    )


def fleet_snapshot(halt: dict[str, Any] | None = None) -> FleetSnapshot:
    breaker = {"state": "open", "reason": "3 reverts in 10 blocks", "retry_at": NOW + 25}
    alerts = {"active": 2, "worst": "P1"}
    redis_rows = [
        row_from_presence(_presence("arb-dai", "box-a"), _heartbeat("sim-11"), here="box-a"),
        row_from_presence(
            _presence("bsc-usdt", "box-a"),
            _heartbeat("sim-23", breaker=breaker, alerts=alerts),
            here="box-a",
        ),
        row_from_presence(_presence("eth-usdc", "box-a"), _heartbeat("sim-7"), here="box-a"),
        row_from_presence(
            _presence("base-usdc", "box-b", age=42.0),
            _heartbeat("sim-8453", ts=NOW - 42.0),
            here="box-a",
        ),
    ]
    socket_rows = [
        row_from_socket(
            Path("/run/arbctl/arb-dai.sock"),
            _answers("arb-dai", "sim-11", "DAI", 18, 12_345_670_000_000_000_000),
        ),
        row_from_socket(
            Path("/run/arbctl/bsc-usdt.sock"),
            _answers("bsc-usdt", "sim-23", "USDT", 6, -8_207_779, breaker=breaker, alerts=alerts),
        ),
        row_from_socket(
            Path("/run/arbctl/eth-usdc.sock"),
            _answers("eth-usdc", "sim-7", "USDC", 6, 1_234_567_890),
        ),
    ]
    return FleetSnapshot(
        rows=tuple(merge_rows(redis_rows, socket_rows)),
        halt=halt,
        redis_problem="",
        read_at=NOW,
        namespace="prod",
    )


def fleet_console(snapshot: FleetSnapshot | None = None) -> FleetConsole:
    return FleetConsole(
        FleetSources(), clock=lambda: NOW, snapshot=snapshot or fleet_snapshot(), poll=False
    )


def test_fleet_at_80x24(snap_compare: Snap) -> None:
    assert snap_compare(fleet_console(), terminal_size=(80, 24))


def test_fleet_at_160x48(snap_compare: Snap) -> None:
    assert snap_compare(fleet_console(), terminal_size=(160, 48))


def test_fleet_kill_dialog_at_80x24(snap_compare: Snap) -> None:
    assert snap_compare(fleet_console(), press=["K"], terminal_size=(80, 24))


def test_fleet_after_an_incomplete_kill_at_80x24(snap_compare: Snap) -> None:
    flag = {"reason": "emergency kill from the fleet console", "user": "ops", "host": "box-a"}
    before = fleet_snapshot(halt=flag)
    rows = [r if r.name == "base-usdc" else replace(r, state="halted") for r in before.rows]
    app = fleet_console(replace(before, rows=tuple(rows)))
    app.fleet.last_kill = FleetKillReport(
        flag_set=True,
        flag_detail="global halt flag set in namespace prod",
        results=(
            EngineKill("arb-dai", True, "acknowledged by the engine"),
            EngineKill("base-usdc", False, "no socket on this host: halts via the shared flag"),
            EngineKill("bsc-usdt", True, "acknowledged by the engine"),
            EngineKill("eth-usdc", True, "acknowledged by the engine"),
        ),
        finished_at=NOW - 3,
    )
    assert snap_compare(app, terminal_size=(80, 24))
