"""Brute force over every integer input of a small-reserve route: the exact walk's oracle."""

from __future__ import annotations

from engine.strategy import exact
from engine.strategy.exact import Route


def brute_force(route: Route, flash_bps: int, cap: int | None) -> tuple[int, list[int]]:
    """Best profit over every input that could matter, and every input that reaches it.

    Beyond the last hop's reserve_out + 2 the output cannot grow, so the profit only falls.
    """
    profit = exact.profit_function(route, flash_bps)
    hi = route[-1][1] + 2 if cap is None else cap
    values = {x: profit(x) for x in range(1, hi + 1)}
    best = max(values.values())
    return best, [x for x, v in values.items() if v == best]
