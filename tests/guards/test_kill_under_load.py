"""The kill switch under load, with the guards in the pipeline: 200 kills at random
moments while the simulated market offers opportunities on (nearly) every block.

After each acknowledgement nothing leaves: the send gate's `sent` does not move while
the engine goes on receiving blocks, and no booked trade was submitted between a kill's
acknowledgement and the resume that followed it. Everything goes through the real socket
of a real engine, as `arbctl kill` and `arbctl resume` would.
"""

from __future__ import annotations

import random
import time
from typing import Any

from engine.market.sim import CANCELLED_BY_KILL
from tests.conftest import EngineHandle, wait_until
from tests.guards.conftest import rpc, start_engine

KILLS = 200
BLOCK_MS = 20
# Busy market: many noise swaps, no rival takes our orders, so there is work every block.
SIM = {"block_ms": BLOCK_MS, "noise_swaps_per_block": 30, "competitor_probability": 0.0}
# The guards run at their defaults, but trade outcomes must not open the breaker and
# starve the test of sends (orders the kills cancel are not failures anyway).
GUARDS = {
    "max_failed_trades_per_hour": 1_000_000,
    "min_success_rate_pct": 0.0,
    "consecutive_failures_limit": 1_000_000,
    "max_hourly_loss_quote": "1000000000",
    "max_daily_loss_quote": "1000000000",
}


def blocks_pass(engine: EngineHandle, count: int) -> dict[str, Any]:
    """Wait until the engine has taken in `count` more blocks; the status after them."""
    start = rpc(engine, "status")["blocks_seen"]
    last: list[dict[str, Any]] = [{}]

    def advanced() -> bool:
        last[0] = rpc(engine, "status")
        return last[0]["blocks_seen"] >= start + count

    assert wait_until(advanced, 10), "the engine stopped taking in blocks"
    return last[0]


def test_nothing_is_sent_after_any_of_200_kills_until_resume() -> None:
    engine = start_engine(GUARDS, SIM)
    try:
        _kill_repeatedly(engine, random.Random(20240607))
    finally:
        engine.cleanup()


def _kill_repeatedly(engine: EngineHandle, rng: random.Random) -> None:
    blocks_pass(engine, 5)
    began = time.time()
    halted_windows: list[tuple[float, float]] = []
    sent_while_running = 0
    for i in range(KILLS):
        before = rpc(engine, "status")["gate"]["sent"]
        time.sleep(rng.uniform(0, 3 * BLOCK_MS / 1000))  # a random moment in block handling
        ack = rpc(engine, "kill", {"reason": f"kill under load {i}", "client": "guards-test"})
        assert ack["state"] == "halted"
        after_ack = rpc(engine, "status")["gate"]["sent"]
        later = blocks_pass(engine, 2)  # blocks with opportunities arrive while halted
        assert later["gate"]["sent"] == after_ack, f"kill {i}: a send after the ack"
        sent_while_running += after_ack - before
        resumed_at = time.time()
        rpc(engine, "resume", {"reason": f"resume after kill {i}", "client": "guards-test"})
        halted_windows.append((ack["acknowledged_at"], resumed_at))
    trades = rpc(engine, "trades", {"since": began - 1, "limit": 100_000})["trades"]
    _assert_no_trade_submitted_while_halted(trades, halted_windows)
    _assert_the_kills_met_a_busy_engine(engine, trades, sent_while_running)


def _assert_no_trade_submitted_while_halted(
    trades: list[dict[str, Any]], windows: list[tuple[float, float]]
) -> None:
    late = [
        (t["id"], t["submitted_at"])
        for t in trades
        if any(acked <= t["submitted_at"] < resumed for acked, resumed in windows)
    ]
    assert late == [], f"trades submitted between a kill's ack and the resume: {late[:5]}"


def _assert_the_kills_met_a_busy_engine(
    engine: EngineHandle, trades: list[dict[str, Any]], sent: int
) -> None:
    """The load was real: opportunities on nearly every block, sends between kills, and
    kills that landed while orders were still on their way (the kill cancelled them)."""
    blocks = rpc(engine, "events.recent", {"topics": ["block"], "limit": 500})["events"]
    busy = sum(1 for e in blocks if e["data"]["opportunities"] > 0)
    assert busy >= 0.9 * len(blocks), f"opportunities on only {busy} of {len(blocks)} blocks"
    assert sent >= KILLS // 4, f"only {sent} sends between kills: the load was too light"
    cancelled = [t for t in trades if t["revert_reason"] == CANCELLED_BY_KILL]
    assert cancelled, "no kill ever met an order in flight"
