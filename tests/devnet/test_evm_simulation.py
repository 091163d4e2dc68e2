"""Simulation at the head (issue 18): the dry run meets the state the transaction will
meet, on the devnet's anvil: the next block's environment, and state the engine knows
will land first written over the node's (a V2 pair's reserves slot)."""

from __future__ import annotations

import pytest

from engine.devnet.world import World
from engine.execution.evm import execute_calldata
from engine.market.evm.simulation import NextBlock, head_call, v2_reserves_override
from tests.devnet.test_evm_trading import Rig, first_opportunities, rig  # noqa: F401

pytestmark = pytest.mark.devnet


async def test_a_dry_run_sees_state_overrides_written_over_the_latest_state(
    world: World,
    rig: Rig,  # noqa: F811
) -> None:
    opportunity = (await first_opportunities(rig))[0]
    data = execute_calldata(rig.executor.order_for(opportunity))
    assert (await rig.venue.simulate(data)).returned is not None  # profitable as it is

    pool = rig.venue.market.pools[opportunity.route[0].pool]
    drained = v2_reserves_override(pool.address, 10**6, 10**6, 0)  # the pool emptied
    result = await rig.venue.simulate(data, state=drained)
    assert result.returned is None and result.reason


async def test_the_head_call_carries_the_next_blocks_environment(
    world: World,
    rig: Rig,  # noqa: F811
) -> None:
    await first_opportunities(rig)
    head = rig.venue._follower.last if rig.venue._follower else None
    assert head is not None
    next_block = NextBlock.after(head, 7)
    method, params = head_call({"to": rig.venue.executor, "data": "0x"}, head, next_block)
    assert (method, params[1]) == ("eth_call", hex(head.number))
    assert params[3] == {
        "number": hex(head.number + 1),
        "time": hex(head.timestamp + 12),
        "baseFee": hex(7),
    }
    # anvil takes the overrides (state and block) on a pinned head
    await rig.venue.client.call(method, [{"to": rig.venue.owner, "data": "0x"}, *params[1:]])
