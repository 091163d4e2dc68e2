"""A V3 route's hops keep their pool kind and fee tier through both ledger backends."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from engine.ledger.store import LedgerStore
from tests.ledger.conftest import make_trade
from tests.test_pool_labels import V3_ROUTE


async def test_a_v3_route_keeps_its_kind_and_fee_in_the_ledger(
    make_store: Callable[[], Awaitable[LedgerStore]],
) -> None:
    store = await make_store()
    await store.record_trades([make_trade(route=V3_ROUTE)])
    (back,) = await store.list_trades(limit=10)
    assert back.route == V3_ROUTE
