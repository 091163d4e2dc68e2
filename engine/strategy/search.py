"""The per-block arbitrage decision: float pre-filter over all cycles, exact re-check of winners.

State carried between blocks is the float optimum and gross profit of every cycle. A block
re-reads only the pools whose reserves changed and re-evaluates only the cycles through
them; cycles elsewhere keep their numbers, which are bit-identical to what a rescan would
compute. Gas price and token prices change every block, so gas is charged afresh over the
(small) set of gross-positive cycles, and the best of those are re-checked with exact
integer math against the live reserves. Nothing leaves here unless its exact net profit,
after gas and flash fee, is positive.

The search is synchronous and never awaits. The pipeline runs it on the market's worker
thread (`engine.market.worker`), off the event loop. It reads the market's Pool objects
in place, so the market must not be mutated while a call is running: the worker runs
one job at a time, and the only other mutator (a venue applying a block in `blocks()`)
runs only between searches.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from engine.market.amm import FEE_DENOMINATOR, get_amounts_out
from engine.market.model import Block, Market
from engine.strategy import exact, kernel
from engine.strategy.cycles import CycleTable, build_cycle_table
from engine.strategy.opportunity import Opportunity
from engine.strategy.pricing import GROUP_STRIDE, BlockCosts, PriceGraph, block_costs

DEFAULT_GAS_UNITS: Mapping[int, int] = {2: 130_000, 3: 180_000}


@dataclass(frozen=True, slots=True)
class SearchConfig:
    """What to search and how to charge for it.

    `base_tokens` are the tokens a cycle may start and end in (what can be flash-borrowed);
    their order is a priority: a cycle through two base tokens is traded in the first.
    `max_amount_in` caps the input per start token, in its base units.
    `max_rechecks` bounds exact re-checks per block, which is what keeps latency flat
    when a market is full of marginal cycles.
    """

    base_tokens: tuple[str, ...]
    max_hops: int = 3
    gas_units: Mapping[int, int] = field(default_factory=lambda: dict(DEFAULT_GAS_UNITS))
    flash_fee_bps: int = 0
    top_n: int = 10
    max_amount_in: Mapping[str, int] = field(default_factory=dict)
    max_rechecks: int = 64

    def __post_init__(self) -> None:
        if not self.base_tokens:
            raise ValueError("SearchConfig needs at least one base token")
        if self.max_hops not in (2, 3):
            raise ValueError(f"max_hops must be 2 or 3, got {self.max_hops}")
        missing = [n for n in range(2, self.max_hops + 1) if n not in self.gas_units]
        if missing:
            lengths = ", ".join(f"{n}-hop" for n in missing)
            raise ValueError(f"gas_units has no estimate for {lengths} routes")
        if not 0 <= self.flash_fee_bps < FEE_DENOMINATOR:
            raise ValueError(f"flash_fee_bps out of range: {self.flash_fee_bps}")
        if self.top_n < 1 or self.max_rechecks < 1:
            raise ValueError("top_n and max_rechecks must be positive")


# Extra exact re-checks beyond top_n, so near-ties in float order are ranked exactly.
_RANK_MARGIN = 4


class ArbitrageSearch:
    """Cycles of one market, kept evaluated block after block."""

    def __init__(self, market: Market, config: SearchConfig) -> None:
        self._market = market
        self._config = config
        self._cost_factor = 1.0 + config.flash_fee_bps / FEE_DENOMINATOR
        self.rebuild()

    @property
    def table(self) -> CycleTable:
        return self._table

    @property
    def cycle_count(self) -> int:
        return len(self._table)

    @property
    def gross_positive_count(self) -> int:
        """Cycles whose float optimum pays back its input (before gas): the per-block pool."""
        return int(np.count_nonzero(self._positive))

    def rebuild(self) -> None:
        """Re-enumerate cycles after pools were added or removed (seconds on big markets)."""
        config, market = self._config, self._market
        self._table = build_cycle_table(market, config.base_tokens, config.max_hops)
        hubs = (*self._table.base_tokens, market.native, market.quote)
        self._prices = PriceGraph(market.pools.values(), [t for t in hubs if t])
        self._coefficients = kernel.HopCoefficients(self._table.pools)
        self._cap = self._cycle_caps()
        n = len(self._table)
        self._x = np.zeros(n, dtype=np.float64)
        self._gross = np.zeros(n, dtype=np.float64)
        self._positive = np.zeros(n, dtype=bool)
        self._group = self._table.token.astype(np.int32) * GROUP_STRIDE + self._table.hops
        self._coefficients.refresh_all()
        self._evaluate(None)

    def rescan(self, block: Block, gas_price: int) -> list[Opportunity]:
        """Re-read every pool and re-evaluate every cycle."""
        self._coefficients.refresh_all()
        self._evaluate(None)
        return self._decide(block, gas_price)

    def on_block(
        self, block: Block, changed_pools: Iterable[str], gas_price: int
    ) -> list[Opportunity]:
        """Opportunities after a block in which `changed_pools` had their reserves synced.

        Pools unknown to the table (added since the last `rebuild`) are ignored.
        """
        index = self._table.pool_index
        known = sorted({i for a in changed_pools if (i := index.get(a)) is not None})
        self._coefficients.refresh(known)
        self._evaluate(self._table.cycles_touching(known))
        return self._decide(block, gas_price)

    # -- float pre-filter ------------------------------------------------------------------

    def _evaluate(self, cycles: npt.NDArray[np.int32] | None) -> None:
        """Refresh float optimum and gross profit of these cycles (None: all of them)."""
        sides = self._table.sides
        if cycles is None:
            columns = list(sides)
            cap = self._cap
        else:
            columns = [row.take(cycles) for row in sides]
            cap = None if self._cap is None else self._cap.take(cycles)
        x, gross = kernel.evaluate(self._coefficients, columns, self._cost_factor, cap)
        if cycles is None:
            self._x, self._gross = x, gross
            self._positive = gross > 0.0
            return
        self._x[cycles] = x
        self._gross[cycles] = gross
        self._positive[cycles] = gross > 0.0

    def _cycle_caps(self) -> npt.NDArray[np.float64] | None:
        caps = self._config.max_amount_in
        if not caps:
            return None
        per_token = np.array(
            [float(caps.get(token, np.inf)) for token in self._table.base_tokens] or [np.inf]
        )
        return per_token[self._table.token]

    def _ranked_candidates(self, costs: BlockCosts) -> npt.NDArray[np.int64]:
        """Gross-positive cycles whose float net profit clears gas, best quote value first."""
        candidates = np.flatnonzero(self._positive)
        group = self._group[candidates]
        gross = self._gross[candidates]
        gas = costs.gas_cost_float[group]
        net = gross - gas
        # Float and exact differ by rounding only; let borderline cycles reach the exact
        # check. Unpriceable gas is nan and fails the comparison.
        keep = net > -(4.0 + 1e-9 * (gross + gas))
        candidates, net = candidates[keep], net[keep]
        value = net * costs.to_quote_float[group[keep]]
        priced = np.isfinite(value)
        candidates, value = candidates[priced], value[priced]
        # Only the best max_rechecks can ever be re-checked: select them in O(n), sort those.
        limit = self._config.max_rechecks
        if len(value) > limit:
            best = np.argpartition(-value, limit - 1)[:limit]
            candidates, value = candidates[best], value[best]
        return candidates[np.lexsort((candidates, -value))]

    # -- exact decision --------------------------------------------------------------------

    def _decide(self, block: Block, gas_price: int) -> list[Opportunity]:
        costs = self._block_costs(gas_price)
        winners: list[Opportunity] = []
        top_n = self._config.top_n
        detected_at = time.time()
        ranked = self._ranked_candidates(costs)
        for checked, cycle in enumerate(ranked):
            if checked >= self._config.max_rechecks:
                break
            if len(winners) >= top_n and checked >= top_n + _RANK_MARGIN:
                break
            found = self._recheck(int(cycle), block, gas_price, costs, detected_at)
            if found is not None:
                winners.append(found)
        winners.sort(key=lambda o: (-o.net_profit_quote, -o.net_profit, o.id))
        return winners[:top_n]

    def _recheck(
        self, cycle: int, block: Block, gas_price: int, costs: BlockCosts, detected_at: float
    ) -> Opportunity | None:
        table = self._table
        token_index, hops = int(table.token[cycle]), int(table.hops[cycle])
        to_quote = costs.to_quote[token_index]
        gas_cost = costs.gas_cost.get(int(self._group[cycle]))
        route = table.reserves(cycle)
        if to_quote is None or gas_cost is None or any(r <= 0 or s <= 0 for r, s, _ in route):
            return None
        token = table.base_tokens[token_index]
        cap = self._config.max_amount_in.get(token)
        guess = max(1, int(self._x[cycle]))
        fee_bps = self._config.flash_fee_bps
        amount_in, best = exact.refine_input(route, guess, fee_bps, cap)
        if best - gas_cost <= 0:
            return None  # also spares get_amounts_out a hop with zero input
        amount_out = get_amounts_out(amount_in, route)[-1]
        gross = amount_out - amount_in
        flash = exact.flash_fee(amount_in, fee_bps)
        net = gross - gas_cost - flash
        if net <= 0:
            return None
        route_hops = table.route(cycle)
        return Opportunity(
            id=f"{block.number}-{table.key(cycle, route_hops)}",
            block_number=block.number,
            route=route_hops,
            token=token,
            amount_in=amount_in,
            amount_out=amount_out,
            gross_profit=gross,
            gas_units=self._config.gas_units[hops],
            gas_price=gas_price,
            gas_cost=gas_cost,
            flash_fee=flash,
            net_profit=net,
            net_profit_quote=to_quote.down(net),
            detected_at=detected_at,
        )

    def _block_costs(self, gas_price: int) -> BlockCosts:
        market = self._market
        return block_costs(
            self._prices,
            self._table.base_tokens,
            market.native,
            market.quote,
            self._config.gas_units,
            gas_price,
        )
