"""`trading`: one engine for a module, trading on the simulated market with rivals so some
trades revert (the failed-trade tables, revert reasons and gas shares need them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.arbctl.runbook.conftest import start, wait_for_trades
from tests.conftest import EngineHandle, wait_until
from tests.guards.conftest import QUIET_TRADE_RULES, rpc, toml_table

REVERTING = toml_table(
    "sim", {"block_ms": 50, "competitor_probability": 0.4, "v3_pools": False}
) + toml_table("guards", {"disabled": list(QUIET_TRADE_RULES)})


@pytest.fixture(scope="module")
def trading() -> Iterator[EngineHandle]:
    handle = start(REVERTING)
    wait_for_trades(handle, 12)

    def reverted() -> bool:
        return len(rpc(handle, "trades", {"limit": 500, "failed": True})["trades"]) >= 8

    assert wait_until(reverted, 60.0)
    yield handle
    handle.cleanup()
