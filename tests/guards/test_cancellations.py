"""Orders the engine withdrew itself are not execution failures for the guards."""

from __future__ import annotations

from engine.guards.approver import was_cancelled
from engine.market.venue import CANCELLED_BY_KILL, VENUE_STOPPED
from tests.guards.build import trade


def test_a_sim_order_dropped_by_the_kill_switch_is_a_cancellation() -> None:
    assert was_cancelled(trade("failed", revert_reason=CANCELLED_BY_KILL, block_number=0))


def test_a_chain_order_replaced_by_the_kill_switch_is_a_cancellation() -> None:
    """On a chain the 0-value replacement is mined, so the trade has a block number and
    a longer reason; counting it as a failure opened the breaker after a few kills."""
    reason = f"{CANCELLED_BY_KILL}: nonce 7 taken by a 0-value self-transfer 0xab"
    assert was_cancelled(trade("failed", revert_reason=reason, block_number=1234))


def test_an_order_dropped_at_shutdown_is_a_cancellation() -> None:
    reason = f"{VENUE_STOPPED} before the transaction was mined"
    assert was_cancelled(trade("failed", revert_reason=reason, block_number=0))


def test_a_reverted_trade_is_not_a_cancellation() -> None:
    assert not was_cancelled(trade("reverted", revert_reason="ArbExecutor: profit below minimum"))
