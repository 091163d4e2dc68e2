"""Fixtures for the ledger suite: real SQLite files and the real PostgreSQL, no mocks.

Every test gets its own SQLite file (under tmp_path) or its own PostgreSQL schema, dropped
afterwards, so tests never see each other's rows and can run in parallel.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from engine.config import LedgerSection
from engine.ledger.factory import create_store
from engine.ledger.records import TradeRecord
from engine.ledger.store import LedgerStore
from tests.services import PG_DSN

BACKENDS = ["sqlite", "postgres"]

# A Tuesday afternoon, deliberately not on an hour boundary.
T0 = 1_700_000_000.0

StoreMaker = Callable[[], Awaitable[LedgerStore]]


async def pg_admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(PG_DSN)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL at {PG_DSN} is not reachable ({exc}); bring it up with "
            "`scripts/services.sh up` (ports from ARBCTL_PG_PORT / ARBCTL_REDIS_PORT)"
        )


async def drop_schema(schema: str) -> None:
    admin = await pg_admin()
    try:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await admin.close()


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=BACKENDS)
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreMaker]:
    """Opens stores on this test's own database (the same one each call), via the factory."""
    schema = unique_name("arbctl_test")
    config = LedgerSection(backend=request.param, dsn=PG_DSN, schema=schema)
    opened: list[LedgerStore] = []

    async def make() -> LedgerStore:
        store = create_store(config, tmp_path)
        await store.open()
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()
    if request.param == "postgres":
        await drop_schema(schema)


@pytest.fixture
async def store(make_store: StoreMaker) -> LedgerStore:
    return await make_store()


def make_trade(**overrides: Any) -> TradeRecord:
    """A plausible successful 2-hop WETH cycle; override what the test is about."""
    fields: dict[str, Any] = {
        "id": "trade-1",
        "opportunity_id": "opp-1",
        "venue": "sim",
        "route": [
            {"pool": "0xpool1", "token_in": "0xweth", "token_out": "0xusdc"},
            {"pool": "0xpool2", "token_in": "0xusdc", "token_out": "0xweth"},
        ],
        "token": "0xweth",
        "token_symbol": "WETH",
        "amount_in": 10 * 10**18,
        "amount_out": 10 * 10**18 + 3 * 10**16,
        "status": "success",
        "revert_reason": "",
        "gas_used": 130_000,
        "gas_price": 20 * 10**9,
        "gas_cost_wei": 130_000 * 20 * 10**9,
        "flash_fee": 9 * 10**15,
        "profit_token": 3 * 10**16,
        "profit_native": 3 * 10**16 - 130_000 * 20 * 10**9,
        "profit_quote": 50_000_000,
        "expected_profit": 31 * 10**15,
        "block_number": 19_000_000,
        "tx_hash": "0x" + "ab" * 32,
        "detected_at": T0,
        "submitted_at": T0 + 0.2,
        "mined_at": T0 + 12.0,
        "gas_cost_quote": 6_500_000,
        "flash_fee_quote": 22_000_000,
    }
    fields.update(overrides)
    return TradeRecord(**fields)


TOKENS = [("0xweth", "WETH"), ("0xusdc", "USDC"), ("0xdai", "DAI")]


def random_trades(seed: int, count: int, hours: int = 80) -> list[TradeRecord]:
    """Trades with big, often negative amounts spread over `hours` hours from T0 (several
    whole UTC days); some sit exactly on hour boundaries, where an off-by-one in the
    rollup would show."""
    rng = random.Random(seed)
    first_hour = int(T0 // 3600 + 1) * 3600
    trades = []
    for i in range(count):
        token, symbol = rng.choice(TOKENS)
        if rng.random() < 0.1:
            detected = float(first_hour + 3600 * rng.randrange(hours - 1))
        else:
            detected = T0 + rng.random() * 3600 * hours
        status = rng.choice(["success", "success", "reverted", "failed"])
        trades.append(
            make_trade(
                id=f"trade-{seed}-{i}",
                token=token,
                token_symbol=symbol,
                status=status,
                detected_at=detected,
                gas_cost_wei=rng.randrange(10**18),
                gas_cost_quote=rng.randrange(10**9),
                flash_fee=rng.randrange(2**120),
                flash_fee_quote=rng.randrange(10**9),
                profit_token=rng.randrange(-(2**130), 2**130),
                profit_native=rng.randrange(-(2**100), 2**100),
                profit_quote=rng.randrange(-(10**12), 10**12),
            )
        )
    return trades
