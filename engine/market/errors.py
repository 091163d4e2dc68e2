"""The market's errors: one base for everything a venue, a pool or a node refuses.

Its children live next to what raises them: `VenueError` (venue.py), the simulator's
`Rejected`, the AMM's `UniswapV2Error`, and the EVM venue's node, pool, provider and
sender errors. A caller that only needs "the market said no" catches `MarketError`.
Stdlib only.
"""

from __future__ import annotations

from engine.errors import ArbctlError


class MarketError(ArbctlError):
    """A venue, a pool, a node or the simulated chain refused or failed."""
