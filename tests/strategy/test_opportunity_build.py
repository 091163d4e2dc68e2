"""`new_opportunity`, the search's constructor of its Opportunity records (its slots set
directly, for speed), builds exactly what `Opportunity(...)` builds: equal, as frozen, and
with the same defaults for the fields the plan and the bidder fill in later."""

from __future__ import annotations

import dataclasses

import pytest

from engine.strategy.opportunity import Hop, Opportunity, new_opportunity

ROUTE = (Hop("0xp1", "0xa", "0xb"), Hop("0xp2", "0xb", "0xa", "v3", 500))


def test_an_opportunity_built_for_the_search_is_the_one_its_constructor_builds() -> None:
    fast = new_opportunity(
        "7-key", 7, ROUTE, "0xa", 1_000, 1_250, 180_000, 20, 30, 3, 217, 99, 12.5
    )
    slow = Opportunity(
        id="7-key",
        block_number=7,
        route=ROUTE,
        token="0xa",
        amount_in=1_000,
        amount_out=1_250,
        gross_profit=250,
        gas_units=180_000,
        gas_price=20,
        gas_cost=30,
        flash_fee=3,
        net_profit=217,
        net_profit_quote=99,
        detected_at=12.5,
    )
    assert fast == slow
    assert hash(fast) == hash(slow)
    assert repr(fast) == repr(slow)
    assert fast.to_dict() == slow.to_dict()
    assert dataclasses.replace(fast, priority_fee=5) == dataclasses.replace(slow, priority_fee=5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.net_profit = 1  # type: ignore[misc]
