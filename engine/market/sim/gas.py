"""The simulated gas market: an EIP-1559 base fee that drifts, and priority-fee spikes.

The base fee moves at most 12.5 % per block (the protocol's bound) as a random walk
pulled back toward `gas_base_gwei`, so gas cost is a slow-moving input to profitability.
Spikes model bidding wars: the priority fee jumps to a multiple of the base fee for a
few blocks and halves each block after, which is when the engine's gas guards matter.
Integer wei throughout; the stream is the process's own so it never perturbs the rest.
"""

from __future__ import annotations

import random

GWEI = 10**9
PPM = 1_000_000
MAX_STEP_PPM = 125_000  # EIP-1559: base fee changes by at most 1/8 per block
WALK_PPM = 40_000  # typical random step
PULL_PPM = 100_000  # fraction of the gap to the target closed per block
TIP_RANGE_GWEI = (1, 2)  # normal priority fee
SPIKE_MULTIPLE = (2, 6)  # priority fee during a spike, in base fees


class GasProcess:
    """Advance once per block; read `base_fee` and `price` (what a sender pays)."""

    def __init__(self, base_gwei: float, spike_probability: float, rng: random.Random) -> None:
        self._target = max(1, int(base_gwei * GWEI))
        self._spike_probability = spike_probability
        self._rng = rng
        self.base_fee = self._target
        self.priority_fee = TIP_RANGE_GWEI[0] * GWEI

    @property
    def price(self) -> int:
        """Wei per gas a transaction needs to bid now: base fee plus priority fee."""
        return self.base_fee + self.priority_fee

    @property
    def spiking(self) -> bool:
        return self.priority_fee > TIP_RANGE_GWEI[1] * GWEI

    def advance(self) -> int:
        """Move to the next block; returns the new base fee."""
        self.base_fee = self._next_base_fee()
        self.priority_fee = self._next_priority_fee()
        return self.base_fee

    def _next_base_fee(self) -> int:
        pull = (self._target - self.base_fee) * PULL_PPM // self.base_fee
        step = self._rng.randint(-WALK_PPM, WALK_PPM) + pull
        step = max(-MAX_STEP_PPM, min(MAX_STEP_PPM, step))
        return max(1, self.base_fee * (PPM + step) // PPM)

    def _next_priority_fee(self) -> int:
        normal = self._rng.randint(*TIP_RANGE_GWEI) * GWEI
        if self._rng.random() < self._spike_probability:
            return self.base_fee * self._rng.randint(*SPIKE_MULTIPLE)
        return max(normal, self.priority_fee // 2)
