"""Rivals bid: the block orders transactions by priority fee, so ours wins only by bidding more.

A rival's priority fee is `sim.competitor_bid_share` of its expected profit (in native
wei) per gas; an order of ours goes ahead of the rival racing it only with a strictly
higher `priority_fee_per_gas` (a tie goes to the rival, as today's default of no bid
always lost).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from engine.config import SimSection
from engine.market.sim import swap
from engine.market.sim.chain import SimChain
from engine.market.sim.competitors import RivalBid, block_order
from engine.market.venue import ArbOrder, Receipt
from tests.market.sim.drive import Rig, make_rig, sim_section
from tests.market.sim.test_chain import QUIET, best_order
from tests.market.sim.test_paper import a_dislocation

RACED = {"competitor_probability": 1.0}


def raced_chain(**sim: object) -> SimChain:
    """A quiet chain where a whale just sold WETH into one WETH/USDC pool, and a rival
    races every order."""
    chain = SimChain(
        dataclasses.replace(SimSection(v3_pools=False, seed=4), **{**QUIET, **RACED, **sim})
    )  # type: ignore[arg-type]
    market = chain.market
    pool = next(
        p for p in market.pools.values() if {p.token0, p.token1} == {market.native, market.quote}
    )
    swap.swap(pool, market.native, pool.reserves_for(market.native)[0] // 50)
    return chain


def bidding(order: ArbOrder, fee: int) -> ArbOrder:
    """The order with a priority fee of `fee` wei per gas, paid on top of its price."""
    return dataclasses.replace(order, gas_price=order.gas_price + fee, priority_fee_per_gas=fee)


def mine_one(chain: SimChain, order: ArbOrder) -> Receipt:
    chain.submit(order, now=0.0)
    (receipt,) = chain.mine(now=1.0).receipts
    return receipt


def test_a_rival_bids_a_share_of_its_expected_profit() -> None:
    half, quarter = raced_chain(), raced_chain(competitor_bid_share=0.25)
    mine_one(half, best_order(half))
    mine_one(quarter, best_order(quarter))
    assert half.rivals.last_bid > 0
    assert abs(quarter.rivals.last_bid - half.rivals.last_bid // 2) <= 1


def test_an_order_bidding_no_more_than_the_rival_lands_after_it() -> None:
    probe = raced_chain()
    mine_one(probe, best_order(probe))
    rival_bid = probe.rivals.last_bid
    for fee in (0, rival_bid):  # no bid, and a tie: the rival's goes first
        chain = raced_chain()
        mine_one(chain, bidding(best_order(chain), fee))
        assert (chain.rivals.front_runs, chain.rivals.outbid) == (1, 0)


def test_an_order_bidding_more_than_the_rival_lands_first_and_succeeds() -> None:
    probe = raced_chain()
    mine_one(probe, best_order(probe))
    chain = raced_chain()
    order = bidding(best_order(chain), probe.rivals.last_bid + 1)
    receipt = mine_one(chain, order)
    assert receipt.status == "success"
    assert (chain.rivals.front_runs, chain.rivals.outbid) == (0, 1)
    assert receipt.gas_price == order.gas_price  # the bid is paid


def test_the_block_goes_by_priority_fee_but_keeps_our_nonce_order() -> None:
    def order(fee: int) -> ArbOrder:
        return ArbOrder(f"o{fee}", "t", 1, (), 0, 0, 1, 1, priority_fee_per_gas=fee)

    ours = [order(5), order(1)]
    rival_3, rival_7 = RivalBid(1, order(3), 3), RivalBid(0, order(7), 7)
    assert block_order(ours, [rival_3, rival_7]) == [rival_7, 0, rival_3, 1]
    later_bids_more = [order(1), order(9)]  # cannot jump its own earlier nonce
    rival_5 = RivalBid(1, order(5), 5)
    assert block_order(later_bids_more, [rival_5]) == [rival_5, 0, 1]
    assert block_order(ours, []) == [0, 1]


# --- in paper mode: through the send gate and the venue ------------------------------------
async def send_with_bid(tmp_path: Path, fee: int) -> tuple[Rig, Receipt]:
    rig = make_rig(sim_section(seed=6, noise_swaps_per_block=0, **RACED), tmp_path)
    order = rig.executor.order_for(a_dislocation(rig))
    await rig.venue.start()
    try:
        receipt: Receipt = await rig.gate.send(bidding(order, fee))
    finally:
        await rig.venue.stop()
    return rig, receipt


async def test_in_paper_mode_an_order_outbidding_the_rival_lands_first_and_succeeds(
    tmp_path: Path,
) -> None:
    rig, _ = await send_with_bid(tmp_path / "probe", 0)
    rival_bid = rig.venue.status()["rival_last_bid"]
    assert rig.venue.status()["rival_front_runs"] == 1
    rig, receipt = await send_with_bid(tmp_path / "bid", rival_bid + 1)
    assert receipt.status == "success"
    status = rig.venue.status()
    assert (status["rival_front_runs"], status["rival_outbid"]) == (0, 1)


async def test_in_paper_mode_an_order_bidding_less_than_the_rival_lands_after_it(
    tmp_path: Path,
) -> None:
    rig, _ = await send_with_bid(tmp_path / "probe", 0)
    rival_bid = rig.venue.status()["rival_last_bid"]
    assert rival_bid > 1
    rig, receipt = await send_with_bid(tmp_path / "bid", rival_bid - 1)
    status = rig.venue.status()
    assert (status["rival_front_runs"], status["rival_outbid"]) == (1, 0)
    assert receipt.block_number > 0
