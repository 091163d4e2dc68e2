"""What the V3 contracts would revert with, as errors carrying the same reason string."""

from __future__ import annotations

from engine.market.errors import MarketError


class UniswapV3Error(MarketError, ValueError):
    """A call the pool or a library would reject (its `require` would revert)."""
