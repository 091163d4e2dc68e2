"""Simulation at the head: the dry run meets the state the transaction will meet.

A plain dry run at "latest" answers in the environment of the block the node stands on.
The transaction will be mined in the next block: on the newest state (its own earlier
transactions included: never older than "latest", so the state stays the node's latest,
not the head the engine searched, which can lag by our own just-mined trade), in the
next block's environment (number, timestamp, base fee), and after whatever the engine
knows will land first. So the default dry run is `eth_call` at "latest" with block
overrides for the block after the engine's head and, where the engine knows state the
node does not show yet (its own orders ahead in a plan, say), state overrides
(`v2_reserves_override` writes a V2 pair's reserves slot). `head_call(..., head)` pins
the state to one head instead (measured; what a re-simulation on a given head needs).
Nodes that refuse the override parameters (some hosted providers) get the plain call;
that is remembered per endpoint.

Seams, measured in docs/benchmarks.md ("Simulation at the head"):
- `eth_callBundle` where a bundle route's relay offers it (`BundleCall`; the route
  implementation belongs to the submission routes, issue 18 point 1): the whole bundle
  at the next block, in one round trip;
- an in-process EVM forked from the RPC (pyrevm, an optional dependency): after the
  first call of a route the fork holds its state, and on a new head the reserves the
  block changed (the Sync logs the follower already reads) are written into the fork and
  the call re-run without a round trip. The figures decide whether it is the default.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from engine.market.evm.blocks import Head

BLOCK_INTERVAL_S = 12  # the next block's timestamp: head + this (post-merge mainnet)
V2_RESERVES_SLOT = 8  # UniswapV2Pair: reserve0 (112) | reserve1 (112) | blockTimestampLast (32)


@dataclass(frozen=True, slots=True)
class NextBlock:
    """The environment the transaction is meant for: the block after `head`."""

    number: int
    timestamp: int
    base_fee: int

    @classmethod
    def after(cls, head: Head, base_fee: int, interval_s: int = BLOCK_INTERVAL_S) -> NextBlock:
        return cls(head.number + 1, head.timestamp + interval_s, base_fee)

    def overrides(self) -> dict[str, str]:
        """geth's and anvil's `eth_call` block overrides (the fourth parameter)."""
        return {
            "number": hex(self.number),
            "time": hex(self.timestamp),
            "baseFee": hex(self.base_fee),
        }


StateOverrides = dict[str, dict[str, Any]]


def head_call(
    call: dict[str, Any],
    head: Head | None,
    next_block: NextBlock | None,
    state: StateOverrides | None = None,
) -> tuple[str, list[Any]]:
    """`eth_call` on the state of `head` (None: the node's latest), in the next block's
    environment when given, with `state` written over it."""
    params: list[Any] = [call, "latest" if head is None else hex(head.number)]
    if next_block is not None or state:
        params.append(state or {})
    if next_block is not None:
        params.append(next_block.overrides())
    return "eth_call", params


def v2_reserves_override(pair: str, reserve0: int, reserve1: int, timestamp: int) -> StateOverrides:
    """A V2 pair's reserves as the engine expects them when the transaction runs."""
    packed = reserve0 | (reserve1 << 112) | ((timestamp % 2**32) << 224)
    slot = "0x" + f"{V2_RESERVES_SLOT:064x}"
    return {pair: {"stateDiff": {slot: "0x" + f"{packed:064x}"}}}


class BundleCall(Protocol):
    """`eth_callBundle` of a bundle route (a relay or builder that offers it): the signed
    transactions simulated together on top of `state_block`, for block `block`."""

    def call_bundle(
        self, signed: Sequence[str], block: int, state_block: int
    ) -> Awaitable[dict[str, Any]]: ...
