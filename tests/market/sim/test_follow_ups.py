"""Follow-ups in the same block (issue 13.2), on the simulated venue through the pipeline.

Two dislocations that share a pool are planned one after the other on the exact reserves
the first leaves, and sent together, the most valuable first; when our trade's receipt
comes after its block was searched, the follow-up it leaves is found at once, not at
the next block. Staged markets (tests/market/sim/staged.py): nothing else moves pools.
"""

from __future__ import annotations

from pathlib import Path

from engine.market.model import Market
from tests.market.sim.staged import (
    Staged,
    dislocate,
    hold_receipts_until_searched,
    make_staged,
    pool_of,
    replace_strategy,
    start,
)


def two_sharing_a_pool(market: Market, prices: dict[str, int]) -> None:
    """uniswap's WETH 6 % dear, sushiswap's 2 % cheap, pancake at the reference price:
    every profitable cycle goes through one of the two, most through both."""
    dislocate(market, pool_of(market, "uniswap", "WETH", "USDC"), "WETH", 600)
    dislocate(market, pool_of(market, "sushiswap", "WETH", "USDC"), "WETH", -200)


def settled(staged: Staged, blocks: int) -> bool:
    pipeline = staged.pipeline
    return pipeline.blocks_seen >= blocks and pipeline.market_status()["in_flight"] == 0


async def test_two_dislocations_sharing_a_pool_are_both_sent_in_value_order_in_one_block(
    tmp_path: Path,
) -> None:
    staged = make_staged(tmp_path, two_sharing_a_pool)
    await start(staged)
    try:
        await staged.run_until(lambda: settled(staged, 4), "the engine to settle")
        trades = await staged.trades()
    finally:
        await staged.stop()

    from_genesis = [order for order in staged.sent if order.order_id.startswith("0-")]
    assert len(from_genesis) >= 2, [o.order_id for o in staged.sent]
    by_order = {t.opportunity_id: t for t in trades}
    first, second = (by_order[o.order_id] for o in from_genesis[:2])
    assert first.status == second.status == "success"
    assert first.block_number == second.block_number == 1  # one block, mempool order kept
    assert first.expected_profit >= second.expected_profit > 0
    shared = {h["pool"] for h in first.route} & {h["pool"] for h in second.route}
    assert shared, "the follow-up shares a pool with the first order"
    assert all(t.profit_token > 0 for t in trades)


async def test_after_our_trade_is_mined_its_follow_up_is_found_without_a_new_block(
    tmp_path: Path,
) -> None:
    # One opportunity per block: the follow-up is not in the first block's plan, and the
    # receipt comes after the block that mined it was searched (its pools still busy).
    staged = make_staged(
        tmp_path, two_sharing_a_pool, replace_strategy(top_n=1), plan_candidates=1, block_ms=50
    )
    hold_receipts_until_searched(staged)
    await start(staged)
    try:
        await staged.run_until(lambda: settled(staged, 4), "the engine to settle")
        trades = await staged.trades()
    finally:
        await staged.stop()

    first = min(trades, key=lambda t: t.block_number)
    assert first.opportunity_id.startswith("0-") and first.block_number == 1
    follow_up = [t for t in trades if t.block_number == first.block_number + 1]
    assert follow_up, [(t.opportunity_id, t.block_number) for t in trades]
    # found in the block that mined our trade, i.e. before any further block arrived
    assert follow_up[0].opportunity_id.startswith(f"{first.block_number}-")
    assert follow_up[0].status == "success" and follow_up[0].profit_token > 0
    assert staged.pipeline.market_status()["researches"] >= 1
