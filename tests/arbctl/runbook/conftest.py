"""Fixtures for the runbook suite: real engines (`arbctl up`) on the simulated market,
healthy and broken, shared per module because the procedures under test only read.

- `healthy`: no rivals, no provider errors or stalls, no gas spikes, trade rules off.
- `broken`: rivals revert half the trades and `max_failed_trades_per_hour = 0`, so the
  first revert opens the breaker (held for an hour); the first RPC provider fails every
  request, so it is down and the engine fails over.
- `crashed`: an engine that traded, snapshotted, then was SIGKILLed.
The ledger-unreachable engine is per test (tests/arbctl/runbook/test_ledger_down.py): it needs
a PostgreSQL role of its own that the test cuts off.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import EngineHandle, new_engine_dir, wait_until
from tests.guards.conftest import QUIET_TRADE_RULES, rpc, toml_table

HEALTHY = toml_table(
    "sim",
    {
        "block_ms": 50,
        "v3_pools": False,
        "competitor_probability": 0.0,
        "provider_error_rate": [0.0, 0.0, 0.0],
        "provider_stall_probability": [0.0, 0.0, 0.0],
        "gas_spike_probability": 0.0,
    },
) + toml_table("guards", {"disabled": list(QUIET_TRADE_RULES)})

BROKEN = toml_table(
    "sim",
    {
        "block_ms": 50,
        "v3_pools": False,
        "competitor_probability": 0.5,
        "provider_error_rate": [1.0, 0.0, 0.0],
        "provider_stall_probability": [0.0, 0.0, 0.0],  # only the first one fails
    },
) + toml_table("guards", {"max_failed_trades_per_hour": 0, "breaker_wait_s": 3600.0})

SNAPSHOT_EVERY_S = toml_table("engine", {"snapshot_interval_s": 1})


def start(config_text: str) -> EngineHandle:
    handle = EngineHandle(dir=new_engine_dir(), config_text=config_text)
    try:
        handle.start()
    except BaseException:
        handle.cleanup()
        raise
    return handle


def wait_for_trades(engine: EngineHandle, count: int) -> None:
    def booked() -> bool:
        return int(rpc(engine, "status")["trades_booked"] or 0) >= count

    assert wait_until(booked, 30.0), f"no {count} trades: {rpc(engine, 'status')}"


@pytest.fixture(scope="module")
def healthy() -> Iterator[EngineHandle]:
    handle = start(HEALTHY + SNAPSHOT_EVERY_S)
    wait_for_trades(handle, 10)
    yield handle
    handle.cleanup()


@pytest.fixture(scope="module")
def broken() -> Iterator[EngineHandle]:
    handle = start(BROKEN)

    def tripped() -> bool:
        status = rpc(handle, "status")
        down = [p for p in status["providers"] if p["status"] == "down"]
        return status["breaker"]["state"] == "open" and bool(down)

    assert wait_until(tripped, 30.0), f"breaker/provider not broken: {rpc(handle, 'status')}"
    yield handle
    handle.cleanup()


@pytest.fixture(scope="module")
def crashed() -> Iterator[EngineHandle]:
    """Traded, took a periodic snapshot, then died without a word (SIGKILL)."""
    handle = start(HEALTHY + SNAPSHOT_EVERY_S)
    wait_for_trades(handle, 5)
    ledger = handle.state_dir / "ledger.sqlite3"
    assert wait_until(lambda: _has_snapshot(ledger), 15.0), "no periodic snapshot written"
    os.kill(handle.pid, signal.SIGKILL)
    assert wait_until(lambda: not _alive(handle.pid), 10.0)
    yield handle
    handle.cleanup()


def _has_snapshot(path: Any) -> bool:
    from arbctl.runbook import local

    return bool(local.last_snapshot(path.parent).get("found"))


def _alive(pid: int) -> bool:
    from arbctl import process

    return process.is_alive(pid)


def by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A checklist's checks by name."""
    return {check["name"]: check for check in doc["checks"]}


def keys(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A triage's findings by key."""
    return {finding["key"]: finding for finding in doc["findings"]}


RANK = {"PASS": 0, "WARN": 1, "FAIL": 2}


def consistent_exit(code: int, doc: dict[str, Any]) -> None:
    """The checklist exit code is the worst status: 0 all pass · 1 warn · 2 fail."""
    worst = max((RANK[c["status"]] for c in doc["checks"]), default=0)
    assert code == worst == doc["exit_code"], (code, doc["verdict"])
