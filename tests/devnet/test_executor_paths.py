"""Every executor path (route kind × lender) runs on the devnet and leaves no allowance.

The same measurement `scripts/bench/executor_gas.py` prints (engine/devnet/gas_paths.py):
each from one snapshot, made profitable by a donation to the last pool, so the test is
about the paths, not the devnet's prices.
"""

from __future__ import annotations

import pytest
from web3 import Web3

from engine.devnet import gas_paths
from engine.devnet.world import World

pytestmark = [pytest.mark.devnet, pytest.mark.usefixtures("clean_chain")]


def test_every_route_kind_runs_through_every_lender_and_leaves_no_allowance_behind(
    w3: Web3, world: World, operator_key: bytes
) -> None:
    measured = gas_paths.measure_all(w3, world, operator_key)

    paths = {(m.route, m.lender) for m in measured}
    assert len(paths) == 2 * 5 + 2 * 4  # V2 routes: five lenders; V3 mixes: no first-hop
    for m in measured:
        assert m.allowance_left == 0, m
        assert m.profit > 0, m
        assert 100_000 < m.gas_used < 600_000, m
