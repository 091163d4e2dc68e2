"""The EIP-1559 fee policy: what we bid per gas, and by how much a replacement outbids.

Policy (all ints, wei per gas), refreshed every block from `eth_feeHistory` over the
last `HISTORY_BLOCKS` blocks at the 50th reward percentile:

- base fee: the next block's, which fee history reports as its last entry (exact: the
  protocol computes it from the parent block).
- priority fee (tip): the median of recent blocks' median tips, ignoring empty blocks
  (they report 0), at least 1 wei and at most `evm.max_priority_fee_gwei`. Arbitrage
  that needs to outbid a rival's tip by a lot is not worth doing; the cap says how much.
  With no recent non-empty block the tip is the cap.
- max fee: 2 × next base fee + tip. The base fee can rise 12.5 % per full block, so this
  stays valid for ~6 full blocks, and only base fee + tip is actually charged.
- the price the search prices gas at (`gas_price()`): next base fee + tip, what the
  transaction will actually pay per gas if included in the next block.
- a replacement (kill switch cancel) bumps both caps by ≥ 12.5 % over the replaced
  transaction (nodes require ≥ 10 %), and never bids below the current policy.

Gas limits: anvil's (and geth's) `eth_estimateGas` under-estimates Uniswap V2 flash
swaps: it simulates at the head's timestamp, where a pair already updated in that block
skips its price-oracle SSTOREs, but the real transaction lands in a later block and
pays them (see `engine.devnet.chain`). Limit = estimate × 1.25 + 100,000; unused gas
is not charged.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

GWEI = 10**9
HISTORY_BLOCKS = 10
REWARD_PERCENTILE = 50
MAX_FEE_BASE_MULTIPLIER = 2
REPLACEMENT_BUMP_PER_MILLE = 1125  # ≥ 12.5 % over the replaced transaction's caps
GAS_MARGIN_PERCENT = 125
GAS_MARGIN_FIXED = 100_000
TRANSFER_GAS = 21_000


@dataclass(frozen=True, slots=True)
class FeeBid:
    base_fee: int  # the next block's base fee
    priority_fee: int  # maxPriorityFeePerGas
    max_fee: int  # maxFeePerGas

    @property
    def expected_price(self) -> int:
        """What one gas costs if the transaction lands in the next block."""
        return min(self.max_fee, self.base_fee + self.priority_fee)


def max_fee_for(base_fee: int, tip: int) -> int:
    """maxFeePerGas for a tip: room for the base fee to rise for a few full blocks."""
    return MAX_FEE_BASE_MULTIPLIER * base_fee + tip


def gas_limit_with_margin(estimate: int) -> int:
    return estimate * GAS_MARGIN_PERCENT // 100 + GAS_MARGIN_FIXED


def fee_history_call(block: int | str = "latest") -> tuple[str, list[Any]]:
    tag = hex(block) if isinstance(block, int) else block
    return "eth_feeHistory", [hex(HISTORY_BLOCKS), tag, [REWARD_PERCENTILE]]


class FeePolicy:
    def __init__(self, max_priority_fee_wei: int) -> None:
        if max_priority_fee_wei < 1:
            raise ValueError("evm.max_priority_fee_gwei must allow at least 1 wei")
        self._cap = max_priority_fee_wei
        self._bid = FeeBid(0, max_priority_fee_wei, max_priority_fee_wei)

    @classmethod
    def from_gwei(cls, max_priority_fee_gwei: float) -> FeePolicy:
        return cls(max(1, round(max_priority_fee_gwei * GWEI)))

    def update(self, history: dict[str, Any]) -> FeeBid:
        """Fold one `eth_feeHistory` answer in; returns the new bid."""
        base_fees = history.get("baseFeePerGas") or []
        if not base_fees:
            return self._bid
        base = int(base_fees[-1], 16)
        tip = self._tip(history.get("reward") or [], history.get("gasUsedRatio") or [])
        self._bid = FeeBid(base, tip, max_fee_for(base, tip))
        return self._bid

    def bid(self) -> FeeBid:
        return self._bid

    def replacement(self, max_fee: int, priority_fee: int) -> tuple[int, int]:
        """(max fee, tip) for a transaction replacing one with these caps."""
        tip = max(_bumped(priority_fee), self._bid.priority_fee)
        cap = max(_bumped(max_fee), self._bid.max_fee, tip)
        return cap, tip

    def _tip(self, rewards: list[list[str]], used: list[float]) -> int:
        tips = [
            int(row[0], 16) for row, ratio in zip(rewards, used, strict=False) if row and ratio > 0
        ]
        if not tips:
            return self._cap
        return max(1, min(self._cap, int(statistics.median_low(tips))))


def _bumped(value: int) -> int:
    return -(-value * REPLACEMENT_BUMP_PER_MILLE // 1000) + 1
