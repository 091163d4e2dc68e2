"""What one RPC endpoint has been like lately: the shared provider health model.

The evm venue keeps no health logic of its own: every request (`RpcClient`) and every
head an endpoint reports are folded into `engine.providers.health.Health`, the same
record the simulated providers and the liquidity sources use, so the status screen,
the guards and the automatic failover read one set of numbers whatever the venue.
`ProviderHealth(name, priority)` is that record under the name the evm code uses.
"""

from __future__ import annotations

from engine.providers.health import DOWN_FAILURES, DOWN_LAG, EWMA_WEIGHT, WINDOW, Health, Status

ProviderHealth = Health

__all__ = ["DOWN_FAILURES", "DOWN_LAG", "EWMA_WEIGHT", "WINDOW", "ProviderHealth", "Status"]
