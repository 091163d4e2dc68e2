"""The per-block arbitrage decision: float pre-filter over all cycles, exact re-check of winners.

State carried between blocks is the float gross profit of every cycle (the exact re-check
finds its own input, so the float optimum is not kept). A block re-reads only the pools
whose reserves changed and re-evaluates only the cycles through them; cycles elsewhere
keep their numbers, which are bit-identical to what a rescan would compute. Gas price,
token prices and the gas model's estimates change every block, so gas is charged afresh
over the (small) set of gross-positive cycles, each at its route shape's current estimate
(engine.strategy.gas_model: learnt from receipts, the configured numbers only its prior),
and the best of those are re-checked with exact integer math against the live reserves.
Nothing leaves here unless its exact net profit, after gas and flash fee, is positive.

Per block the work is proportional to what changed, not to the market: the cycles through
the changed pools are de-duplicated and re-evaluated, and the ranking reads a
`CandidateSet` (engine.strategy.candidates) updated from those cycles only, instead of
every gross-positive cycle. When a block touches so many cycles that evaluating all of
them in table order is estimated to cost less CPU than gathering the touched ones, the
block takes a full pass instead (engine.strategy.pass_cost: per-cycle costs of both
paths, learnt from the blocks measured); both paths leave the same numbers, and with V3 pools
in the table both evaluate through `v3_hops.V3Prefilter` (range capacities honoured). A
V2-only route's exact walk depends only on its reserves, so it is kept per cycle and
start and reused while those reserves are unchanged (gas is charged afresh every block);
a route with a V3 hop is not kept here (its walk also depends on the V3 price, tick,
liquidity and ticks; `v3_hops.walk` memoises on all of them). Gas is per route shape,
whose legs name their kind, so a V3 leg's cost is the shape's and the candidate set's
ranking (gross - gas(shape, token)) x to_quote(token) holds for V3 cycles too.

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

from engine.market.amm import FEE_DENOMINATOR
from engine.market.model import Block, Market, Pool
from engine.market.reserve_log import ReserveLog
from engine.strategy import exact, kernel, v3_hops
from engine.strategy.candidates import CandidateSet
from engine.strategy.cycles import CycleTable, build_cycle_table, route_key
from engine.strategy.gas_model import GasModel, RouteShape, pool_kind
from engine.strategy.opportunity import Hop, Opportunity, new_opportunity
from engine.strategy.pass_cost import PassCosts
from engine.strategy.pricing import BlockCosts, PriceGraph, block_costs

DEFAULT_GAS_UNITS: Mapping[int, int] = {2: 130_000, 3: 180_000}


@dataclass(frozen=True, slots=True)
class SearchConfig:
    """What to search and how to charge for it.

    `base_tokens` are the tokens a cycle may start and end in (what can be flash-borrowed).
    A cycle through several is listed once (from the first in this order) and traded from
    the one whose exact net profit is highest in quote.
    `max_amount_in` caps the input per start token, in its base units.
    `max_rechecks` bounds exact re-checks per block, which is what keeps latency flat
    when a market is full of marginal cycles.
    `gas_units` is the gas model's prior per hop count (what a shape never observed costs).
    `plan_candidates`: how many exact winners (at least `top_n`) the block's plan may
    choose from (`candidates`): after the best is taken, the next best on the reserves it
    leaves is often one that ranked below the top few before it.
    """

    base_tokens: tuple[str, ...]
    max_hops: int = 3
    gas_units: Mapping[int, int] = field(default_factory=lambda: dict(DEFAULT_GAS_UNITS))
    flash_fee_bps: int = 0
    top_n: int = 10
    max_amount_in: Mapping[str, int] = field(default_factory=dict)
    max_rechecks: int = 64
    plan_candidates: int = 16

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
        if self.top_n < 1 or self.max_rechecks < 1 or self.plan_candidates < 1:
            raise ValueError("top_n, max_rechecks and plan_candidates must be positive")


# Extra exact re-checks beyond top_n, so near-ties in float order are ranked exactly.
_RANK_MARGIN = 4
# Step starts one exact walk may evaluate: a safety budget that the benchmark markets never
# reach (engine.strategy.exact: jumps prove even two-coarse-token routes in tens of steps).
# A walk cut short by it is counted in `walks_cut_short`.
_MAX_WALK_STEPS = exact.SAFETY_STEPS
# Cycles whose exact walks are kept between blocks (each start's result, keyed by the
# route's reserves); cleared whole when full, which only costs the walks again.
_WALK_CACHE_CYCLES = 4096


@dataclass(slots=True)
class BlockStats:
    """What the last `on_block`/`rescan` did, and the CPU seconds of each stage."""

    changed_pools: int = 0
    logged_pools: int = 0  # coefficients set from the reserve log's entries
    object_pools: int = 0  # coefficients read from Pool objects (unlogged, V3, a rescan)
    touched_cycles: int = 0  # distinct cycles re-evaluated
    full_pass: bool = False
    members: int = 0  # cycles the ranking read
    rechecks: int = 0
    walks: int = 0  # exact walks run (the rest were reused)
    refresh_s: float = 0.0
    touch_s: float = 0.0
    evaluate_s: float = 0.0
    candidates_s: float = 0.0
    rank_s: float = 0.0
    recheck_s: float = 0.0


@dataclass(frozen=True, slots=True)
class _StartAt:
    """A cycle rotated to start where base token `token` goes in (`shift` hops along)."""

    shift: int
    route: tuple[Hop, ...]
    token: str
    token_index: int
    key: str


@dataclass(frozen=True, slots=True)
class _Route:
    """What a re-check needs of a cycle that does not change between blocks (`_route_of`).

    `legs`: its pools, each with whether it is traded token1 -> token0; `starts`: the cycle
    rotated to each base token it passes through, the listed start first; `v3`: a leg is a
    V3 pool (its walk is not kept); `shape`: its route shape's index."""

    legs: tuple[tuple[Pool, bool], ...]
    starts: tuple[_StartAt, ...]
    v3: bool
    shape: int


class ArbitrageSearch:
    """Cycles of one market, kept evaluated block after block."""

    def __init__(self, market: Market, config: SearchConfig, gas: GasModel | None = None) -> None:
        self._market = market
        self._config = config
        self._gas = gas if gas is not None else GasModel(config.gas_units)
        self._cost_factor = 1.0 + config.flash_fee_bps / FEE_DENOMINATOR
        # every exact winner of the last call, best first: what the block's plan picks from
        self.candidates: list[Opportunity] = []
        self.walks_cut_short = 0  # exact walks that hit the safety budget (should stay 0)
        self.stats = BlockStats()
        # what a full pass and a touched cycle cost, learnt block by block (pass_cost)
        self.pass_costs = PassCosts()
        self.rebuild()

    @property
    def config(self) -> SearchConfig:
        return self._config

    @property
    def table(self) -> CycleTable:
        return self._table

    @property
    def gas_model(self) -> GasModel:
        return self._gas

    @property
    def shapes(self) -> tuple[RouteShape, ...]:
        """Every route shape the market's cycles have."""
        return self._shapes

    @property
    def cycle_count(self) -> int:
        return len(self._table)

    @property
    def gross_positive_count(self) -> int:
        """Cycles whose float optimum pays back its input (before gas): the per-block pool."""
        return int(np.count_nonzero(self._gross > 0.0))

    def rebuild(self) -> None:
        """Re-enumerate cycles after pools were added or removed (seconds on big markets)."""
        config, market = self._config, self._market
        self._table = build_cycle_table(market, config.base_tokens, config.max_hops)
        self._base_index = {token: i for i, token in enumerate(self._table.base_tokens)}
        hubs = (*self._table.base_tokens, market.native, market.quote)
        self._prices = PriceGraph(market.pools.values(), [t for t in hubs if t])
        self._coefficients = kernel.HopCoefficients(self._table.pools)
        self._v3 = v3_hops.V3Prefilter.of(self._table.pools, self._coefficients)
        self._cap = self._cycle_caps()
        n = len(self._table)
        self._gross = np.zeros(n, dtype=np.float64)
        self._touched = np.zeros(n, dtype=bool)  # scratch: flags a block's distinct cycles
        self._shape_of, self._shapes = _cycle_shapes(self._table)
        n_bases = max(1, len(self._table.base_tokens))
        group = self._shape_of * n_bases + self._table.token.astype(np.int32)
        self._candidates = CandidateSet(
            group, len(self._shapes) * n_bases, self._config.max_rechecks
        )
        self._units: list[int] = []
        self._units_float = np.zeros(len(self._shapes), dtype=np.float64)
        self._walks: dict[int, tuple[list[tuple[int, int, int]], dict[int, exact.Optimum]]] = {}
        self._routes: dict[int, _Route] = {}
        self._log = market.reserve_log
        self._slot_pool, self._from_object = _slot_map(self._table.pools, self._log)
        self._addresses = np.array([p.address for p in self._table.pools], dtype=object)
        self._log.take()  # what it holds is in the objects read next
        self._refresh(None)
        self._full_pass()

    def rescan(self, block: Block, gas_price: int) -> list[Opportunity]:
        """Re-read every pool, re-evaluate every cycle and re-run every exact walk."""
        self._walks.clear()
        self.stats = stats = BlockStats(changed_pools=len(self._table.pools))
        clock = time.thread_time()
        self._log.take()
        self._refresh(None)
        stats.refresh_s, clock = _lap(clock)
        self._full_pass()
        stats.evaluate_s, clock = _lap(clock)
        return self._decide(block, gas_price)

    def on_block(
        self, block: Block, changed_pools: Iterable[str], gas_price: int
    ) -> list[Opportunity]:
        """Opportunities after a block in which `changed_pools` had their reserves synced.

        The pools written through the market's reserve log since the last call count as
        changed too, reported or not (engine.market.reserve_log). Pools unknown to the
        table (added since the last `rebuild`) are ignored.
        """
        self.stats = stats = BlockStats()
        clock = time.thread_time()
        known = self._refresh_changed(changed_pools)
        stats.changed_pools = len(known)
        stats.refresh_s, clock = _lap(clock)
        touches, cycles = self._table.touch_count(known), len(self._table)
        if self.pass_costs.full_pass_cheaper(touches, cycles):
            stats.touch_s, clock = _lap(clock)
            self._full_pass()
            stats.evaluate_s, clock = _lap(clock)
            spent = stats.touch_s + stats.evaluate_s
            self.pass_costs = self.pass_costs.observed_full(cycles, spent)
        else:
            self._incremental(known, clock)
            spent = stats.touch_s + stats.evaluate_s + stats.candidates_s
            self.pass_costs = self.pass_costs.observed_incremental(touches, cycles, spent)
        return self._decide(block, gas_price)

    # -- refresh -----------------------------------------------------------------------------

    def _refresh_changed(self, reported: Iterable[str]) -> npt.NDArray[np.int64]:
        """Re-set the coefficients of this block's changed pools; their table indices.

        The log's V2 entries are assigned in one vectorised step; a reported pool
        without an entry, and a logged one whose coefficients do not come from reserve0/1
        (`_from_object`: a V3 pool), is read from its Pool object as before.
        """
        entries = self._log.take()
        slots = entries.slots
        known = slots < len(self._slot_pool)  # slots given since the last rebuild: unknown
        pools = self._slot_pool[slots[known]]
        ours = pools >= 0
        by_log = ours.copy()
        by_log[ours] = ~self._from_object[pools[ours]]
        logged = pools[by_log]
        r0, r1 = entries.reserve0[known][by_log], entries.reserve1[known][by_log]
        self._coefficients.set_reserves(logged, r0, r1)
        if self._v3 is not None:  # its optimistic copy of every side follows the V2 ones
            self._v3.refresh(logged)
        self.stats.logged_pools = len(logged)
        objects = pools[ours & ~by_log]
        unlogged = _unlogged(reported, self._addresses[pools[ours]].tolist())
        if unlogged:
            found = map(self._table.pool_index.get, unlogged)
            listed = np.array([i for i in found if i is not None], dtype=np.int64)
            objects = np.union1d(objects, listed)
        self._refresh_from_objects(objects)
        # disjoint: a logged pool read from its object is not in `logged`
        return np.concatenate((logged, objects))

    def _refresh_from_objects(self, pools: npt.NDArray[np.int64]) -> None:
        """Read these pools' coefficients from their Pool objects (distinct indices): V2
        pairs written without the log, and V3 pools (their current range, `_refresh`)."""
        self.stats.object_pools += len(pools)
        self._refresh(pools)

    def _incremental(self, pools: npt.NDArray[np.int64], clock: float) -> None:
        stats, touched = self.stats, self._touched
        cycles = self._table.cycles_touching(pools)
        touched[cycles] = True
        distinct = np.flatnonzero(touched)
        stats.touched_cycles = len(distinct)
        stats.touch_s, clock = _lap(clock)
        values = self._gross_profit(distinct)
        self._gross[distinct] = values
        stats.evaluate_s, clock = _lap(clock)
        self._candidates.update(distinct, values, self._gross, touched)
        touched[distinct] = False
        stats.candidates_s, clock = _lap(clock)

    def _full_pass(self) -> None:
        """Every cycle in table order; the candidate set rebuilt from it."""
        self._gross = self._gross_profit(None)
        self._candidates.reset(self._gross)
        self.stats.touched_cycles = len(self._gross)
        self.stats.full_pass = True

    # -- float pre-filter ------------------------------------------------------------------

    def _refresh(self, pools: npt.NDArray[np.int64] | None) -> None:
        """Re-read these pools' coefficients (None: all); V3 pools as their current range."""
        if pools is None:
            self._coefficients.refresh_all()
        else:
            self._coefficients.refresh(pools)
        if self._v3 is None:
            return
        if pools is None:
            self._v3.refresh_all()
        else:
            self._v3.refresh(pools)

    def _gross_profit(self, cycles: npt.NDArray[np.int64] | None) -> npt.NDArray[np.float64]:
        """Float gross profit of these cycles (None: every cycle, in table order).

        With V3 pools in the table every cycle goes through `v3_hops.V3Prefilter`, which
        honours each V3 range's capacity (an upper bound where it binds); the plain kernel
        (and its compiled backend) knows V2 coefficients only."""
        sides = self._table.sides
        if self._v3 is None:
            return kernel.gross_profit(
                self._coefficients, sides, cycles, self._cost_factor, self._cap
            )
        if cycles is None:
            columns, cap = list(sides), self._cap
        else:
            columns = list(sides.take(cycles, axis=1))
            cap = None if self._cap is None else self._cap.take(cycles)
        _, gross = self._v3.evaluate(columns, self._cost_factor, cap)
        return gross

    def _cycle_caps(self) -> npt.NDArray[np.float64] | None:
        caps = self._config.max_amount_in
        if not caps:
            return None
        per_token = np.array(
            [float(caps.get(token, np.inf)) for token in self._table.base_tokens] or [np.inf]
        )
        return per_token[self._table.token]

    def _ranked_candidates(self, costs: BlockCosts) -> npt.NDArray[np.int64]:
        """Gross-positive cycles whose float net profit clears gas, best quote value first.

        Only the candidate set's members are read: each (shape, start token) group's value
        rises with gross profit, so they hold every group's `max_rechecks` best. A token
        whose quote rate is 0 makes a group's values tie, which breaks that argument; then
        (never on a live market) every positive cycle is read, as before.
        """
        if np.any(costs.to_quote_float == 0.0):
            candidates = np.flatnonzero(self._gross > 0.0)
        else:
            candidates = self._candidates.members
        self.stats.members = len(candidates)
        token = self._table.token[candidates]
        gross = self._gross[candidates]
        gas = self._units_float[self._shape_of[candidates]] * costs.gas_per_unit_float[token]
        net = gross - gas
        # Float and exact differ by rounding only; let borderline cycles reach the exact
        # check. Unpriceable gas is nan and fails the comparison.
        keep = net > -(4.0 + 1e-9 * (gross + gas))
        candidates, net = candidates[keep], net[keep]
        value = net * costs.to_quote_float[token[keep]]
        priced = np.isfinite(value)
        candidates, value = candidates[priced], value[priced]
        # Only the best max_rechecks can ever be re-checked: select them in O(n), sort those.
        limit = self._config.max_rechecks
        if len(value) > limit:
            best = np.argpartition(-value, limit - 1)[:limit]
            candidates, value = candidates[best], value[best]
        ranked: npt.NDArray[np.int64] = candidates[np.lexsort((candidates, -value))]
        return ranked

    # -- exact decision --------------------------------------------------------------------

    def _decide(self, block: Block, gas_price: int) -> list[Opportunity]:
        stats = self.stats
        clock = time.thread_time()
        self._read_gas_model()
        costs = self._block_costs(gas_price)
        winners: list[Opportunity] = []
        top_n = self._config.top_n
        wanted = max(top_n, self._config.plan_candidates)
        detected_at = time.time()
        ranked = self._ranked_candidates(costs)
        stats.rank_s, clock = _lap(clock)
        for checked, cycle in enumerate(ranked.tolist()):
            if checked >= self._config.max_rechecks:
                break
            if len(winners) >= wanted and checked >= wanted + _RANK_MARGIN:
                break
            stats.rechecks += 1
            found = self._recheck(cycle, block, gas_price, costs, detected_at)
            if found is not None:
                winners.append(found)
        winners.sort(key=lambda o: (-o.net_profit_quote, -o.net_profit, o.id))
        self.candidates = winners[:wanted]
        stats.recheck_s, clock = _lap(clock)
        return winners[:top_n]

    def _recheck(
        self, cycle: int, block: Block, gas_price: int, costs: BlockCosts, detected_at: float
    ) -> Opportunity | None:
        """The cycle's exact optimum from each base token it passes through, best in quote.

        Only winners of the float pre-filter get here, so the alternative starts cost a
        few exact walks per block, not a kernel column per start. What does not change
        between blocks (legs, rotations, keys, shape) is built once per cycle, a walk is
        kept while its route's reserves are unchanged, and only the best start becomes an
        Opportunity."""
        route = self._route_of(cycle)
        units = self._units[route.shape]
        reserves = [
            (p.reserve1, p.reserve0, p.fee_bps) if flip else (p.reserve0, p.reserve1, p.fee_bps)
            for p, flip in route.legs
        ]
        walks = self._walks_for(cycle, reserves, route.v3)
        if walks is None:
            return None
        best: tuple[int, int, _StartAt, exact.Optimum] | None = None
        for start_at in route.starts:
            priced = self._price_start(start_at, reserves, walks, costs, units)
            if priced is not None and (best is None or priced[0] > best[0]):
                best = priced
        if best is None:
            return None
        net_quote, gas_cost, start_at, found = best
        amount_in = found.amount_in
        flash = exact.flash_fee(amount_in, self._config.flash_fee_bps)
        return new_opportunity(
            f"{block.number}-{start_at.key}",
            block.number,
            start_at.route,
            start_at.token,
            amount_in,
            found.profit + amount_in + flash,  # the walk's exact output, no re-run
            units,
            gas_price,
            gas_cost,
            flash,
            found.profit - gas_cost,
            net_quote,
            detected_at,
        )

    def _route_of(self, cycle: int) -> _Route:
        """The cycle's legs, rotations to each base token and shape (`_Route`).

        Depends on the table only, so it is built once per cycle that reaches a re-check."""
        known = self._routes.get(cycle)
        if known is not None:
            return known
        table = self._table
        legs = tuple((table.pools[side >> 1], bool(side & 1)) for side in table.real_sides(cycle))
        route_hops = table.route(cycle)
        base = self._base_index
        starts = []
        for shift, hop in enumerate(route_hops):
            if hop.token_in in base:
                route = (*route_hops[shift:], *route_hops[:shift])
                key = route_key(hop.token_in, route)
                starts.append(_StartAt(shift, route, hop.token_in, base[hop.token_in], key))
        if len(self._routes) >= _WALK_CACHE_CYCLES:
            self._routes.clear()
        v3 = any(p.v3 is not None for p, _ in legs)
        found = _Route(legs, tuple(starts), v3, int(self._shape_of[cycle]))
        self._routes[cycle] = found
        return found

    def _walks_for(
        self, cycle: int, reserves: list[tuple[int, int, int]], has_v3: bool
    ) -> dict[int, exact.Optimum] | None:
        """The cycle's kept walks (by start shift), valid while its reserves are these;
        None if a reserve is empty (no walk can run).

        A route with a V3 hop is never kept here: its walk depends on the V3 price, tick,
        liquidity and ticks, which the reserves do not show (`v3_hops.walk` memoises on
        all of them), so it gets a fresh dict that lives for this re-check only. Kept
        reserves were all positive when kept, so only new ones are checked."""
        kept = None if has_v3 else self._walks.get(cycle)
        if kept is not None and kept[0] == reserves:
            return kept[1]
        if any(r <= 0 or s <= 0 for r, s, _ in reserves):
            return None
        if has_v3:
            return {}
        if len(self._walks) >= _WALK_CACHE_CYCLES:
            self._walks.clear()
        walks: dict[int, exact.Optimum] = {}
        self._walks[cycle] = (reserves, walks)
        return walks

    def _price_start(
        self,
        start_at: _StartAt,
        route_reserves: list[tuple[int, int, int]],
        walks: dict[int, exact.Optimum],
        costs: BlockCosts,
        units: int,
    ) -> tuple[int, int, _StartAt, exact.Optimum] | None:
        """(net profit in quote, gas cost, the start, its exact optimum) of the cycle rotated
        to `start_at`, net of this block's costs; None if it does not pay."""
        token_index = start_at.token_index
        to_quote = costs.to_quote[token_index]
        gas_cost = costs.gas_cost(token_index, units)
        if to_quote is None or gas_cost is None:
            return None
        found = walks.get(start_at.shift)
        if found is None:
            cap = self._config.max_amount_in.get(start_at.token)
            found = self._walk(start_at, route_reserves, cap)
            walks[start_at.shift] = found
        net = found.profit - gas_cost
        if net <= 0:
            return None
        return to_quote.down(net), gas_cost, start_at, found

    def _walk(
        self, start_at: _StartAt, route_reserves: list[tuple[int, int, int]], cap: int | None
    ) -> exact.Optimum:
        """One exact walk of the rotated cycle: V2 floors inverted, or (a V3 hop in it)
        `v3_hops.walk` on the market's live pools."""
        fee_bps = self._config.flash_fee_bps
        if v3_hops.has_v3(start_at.route):
            found = v3_hops.walk(v3_hops.legs(self._market, start_at.route), fee_bps, cap)
        else:
            shift = start_at.shift
            reserves = [*route_reserves[shift:], *route_reserves[:shift]]
            found = exact.walk(reserves, fee_bps, cap, _MAX_WALK_STEPS)
        self.stats.walks += 1
        if not found.proven:
            self.walks_cut_short += 1
        return found

    def _block_costs(self, gas_price: int) -> BlockCosts:
        market = self._market
        return block_costs(
            self._prices,
            self._table.base_tokens,
            market.native,
            market.quote,
            gas_price,
        )

    def _read_gas_model(self) -> None:
        """This block's estimate per shape (a few dict reads: shapes are few)."""
        self._units = [self._gas.estimate(shape) for shape in self._shapes]
        self._units_float = np.array(self._units, dtype=np.float64)


def _slot_map(
    pools: tuple[Pool, ...], log: ReserveLog
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """(table index of each log slot, -1 if none; whether a table pool is read from its
    object rather than the log's reserves: any kind but a V2 pair)."""
    slot_pool = np.full(max((p.slot for p in pools), default=-1) + 1, -1, dtype=np.int64)
    for index, pool in enumerate(pools):
        if log.owns(pool):
            slot_pool[pool.slot] = index
    from_object = np.array([pool.kind != "v2" for pool in pools], dtype=bool)
    return slot_pool, from_object


def _unlogged(reported: Iterable[str], logged: list[str]) -> set[str] | frozenset[str]:
    """The reported pools without a log entry (a set difference: the hashes of the
    addresses are cached in the strings, and both sides are this block's few; the logged
    addresses come from the table's own column, not the Pool objects)."""
    if not isinstance(reported, (set, frozenset)):
        reported = set(reported)
    return reported.difference(logged) if logged else reported


def _lap(clock: float) -> tuple[float, float]:
    """(CPU seconds since `clock`, now): one stage of `BlockStats`."""
    now = time.thread_time()
    return now - clock, now


def _cycle_shapes(table: CycleTable) -> tuple[npt.NDArray[np.int32], tuple[RouteShape, ...]]:
    """Each cycle's route shape, as an index into the shapes the table has.

    Vectorised (a market has ~a million cycles): each pool gets the code of its
    (dex, kind) leg, 0 for the identity padding; a cycle's codes sorted are its shape,
    packed into one integer and made unique.
    """
    legs = sorted({(pool.dex, pool_kind(pool)) for pool in table.pools})
    code = {leg: i + 1 for i, leg in enumerate(legs)}
    by_pool = np.zeros(len(table.pools) + 1, dtype=np.int64)  # the last entry: padding
    by_pool[:-1] = [code[(pool.dex, pool_kind(pool))] for pool in table.pools]
    codes = np.sort(by_pool[table.sides >> 1], axis=0)
    base = len(legs) + 1
    packed = (codes[0] * base + codes[1]) * base + codes[2]
    unique, inverse = np.unique(packed, return_inverse=True)
    shapes = []
    for key in unique.tolist():
        digits = [key // base**2, key // base % base, key % base]
        cycle_legs = [legs[d - 1] for d in digits if d]
        shapes.append(
            RouteShape(
                len(cycle_legs), tuple(k for _, k in cycle_legs), tuple(d for d, _ in cycle_legs)
            )
        )
    return inverse.astype(np.int32).reshape(-1), tuple(shapes)
