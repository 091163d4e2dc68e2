"""Fixtures for guard tests: a real SQLite ledger for unit tests, and real engines
(`arbctl up`) configured per scenario for the end-to-end ones."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from arbctl.client import Client
from engine.ledger.sqlite import SqliteLedger
from engine.protocol import TOPIC_GUARD
from tests.conftest import EngineHandle, new_engine_dir, wait_until

# Fast blocks; rivals never take our trades unless a scenario says so.
SIM = {"block_ms": 20, "competitor_probability": 0.0, "v3_pools": False}
# The breaker stays closed unless a scenario is about trade outcomes.
QUIET_TRADE_RULES = (
    "max_failed_trades_per_hour",
    "min_success_rate",
    "consecutive_failures",
    "max_hourly_loss",
    "max_daily_loss",
)


def toml_table(name: str, values: dict[str, object]) -> str:
    lines = [f"[{name}]"]
    for key, value in values.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str):
            text = f'"{value}"'
        elif isinstance(value, list | tuple):
            text = "[" + ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in value) + "]"
        else:
            text = repr(value)
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[SqliteLedger]:
    store = SqliteLedger(tmp_path / "ledger.sqlite3")
    await store.open()
    yield store
    await store.close()


def start_engine(
    guards: dict[str, object] | None = None, sim: dict[str, object] | None = None
) -> EngineHandle:
    """A running engine whose [sim] (over SIM) and [guards] are the scenario's."""
    text = toml_table("sim", {**SIM, **(sim or {})}) + toml_table("guards", guards or {})
    handle = EngineHandle(dir=new_engine_dir(), config_text=text)
    try:
        handle.start()
    except BaseException:
        handle.cleanup()
        raise
    return handle


GuardedEngine = Callable[..., EngineHandle]


@pytest.fixture
def guarded_engine() -> Iterator[GuardedEngine]:
    """`guarded_engine(guards={...}, sim={...})`: one engine per scenario, stopped after."""
    handles: list[EngineHandle] = []

    def make(
        guards: dict[str, object] | None = None, sim: dict[str, object] | None = None
    ) -> EngineHandle:
        handles.append(start_engine(guards, sim))
        return handles[-1]

    yield make
    for handle in handles:
        handle.cleanup()


@pytest.fixture(scope="module")
def quiet_engine() -> Iterator[EngineHandle]:
    """One engine per module with the trade rules off: its breaker stays closed, so
    tests that only read can share it."""
    handle = start_engine({"disabled": list(QUIET_TRADE_RULES)})
    yield handle
    handle.cleanup()


# --- talking to an engine ------------------------------------------------------------------
def rpc(engine: EngineHandle, method: str, params: dict[str, Any] | None = None) -> Any:
    """One call on a fresh connection, the way `arbctl` makes it."""
    return Client(engine.socket, timeout=15.0).call(method, params)


def wait_for_trigger(
    engine: EngineHandle, guard: str, action: str, timeout: float = 30.0
) -> dict[str, Any]:
    """Poll `guards` until a stored trigger of `guard` with `action` shows up."""
    found: list[dict[str, Any]] = []

    def stored() -> bool:
        recent = rpc(engine, "guards", {"limit": 500})["recent"]
        found[:] = [t for t in recent if t["guard"] == guard and t["action"] == action]
        return bool(found)

    assert wait_until(stored, timeout), f"no {action} trigger from {guard} within {timeout}s"
    return found[0]


def guard_event(engine: EngineHandle, trigger_id: str) -> dict[str, Any]:
    """The `guard_trigger` event published for a stored trigger."""
    events = rpc(engine, "events.recent", {"topics": [TOPIC_GUARD], "limit": 100_000})["events"]
    matching = [e["data"] for e in events if e["data"]["id"] == trigger_id]
    assert matching, f"no guard_trigger event for {trigger_id}"
    return matching[0]
