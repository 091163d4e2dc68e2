"""The health check's market_data line reads the pipeline's typed head, not a status dict."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from engine.control.health_checks import OK, WARNING, _market_check
from engine.market.model import Block
from engine.market.venue import BlockUpdate, HeadStatus


def parts(head: HeadStatus | None) -> Any:
    """What `_market_check` reads of the control parts: the market view's head."""
    return SimpleNamespace(market=SimpleNamespace(head=lambda: head))


def test_the_head_is_the_newest_block_its_age_since_received_and_its_provider() -> None:
    update = BlockUpdate(Block(12, 1_000.0, 7), frozenset(), 1_005.0, "alpha-rpc")
    assert HeadStatus.of(update, now=1_007.5) == HeadStatus(12, 2.5, "alpha-rpc")


def test_the_market_check_reads_the_typed_head() -> None:
    none = _market_check(parts(None))
    assert (none.status, none.detail) == (WARNING, "no block received yet")
    old = _market_check(parts(HeadStatus(12, 31.25, "alpha-rpc")))
    assert (old.status, old.detail) == (WARNING, "head is 31.2 s old")
    fresh = _market_check(parts(HeadStatus(12, 2.0, "alpha-rpc")))
    assert (fresh.status, fresh.detail) == (OK, "block 12 2.0 s old")
