"""Sizing: an opportunity too big for a limit is clamped to the limit, not refused.

The size-dependent opportunity rules (`SIZE_LIMITS`: notional and price impact) grow with
the input: notional is linear in it, and price impact is 1 - out(x)/ideal(x) with out
concave. So for each limit the opportunity breaches at its size, a binary search over the
integer input, between a size that fits and the one proposed, finds the boundary exactly:
the input `b` that fits while `b + 1` breaches, read by the rule itself on live reserves,
so the seat and the guard can never disagree about what fits. (Every hop floors, so the
impact wobbles by one output unit, which at dust sizes is many bps; the search keeps its
invariant, fits at `lo`, breaches at `hi`, whatever the wobble.)

Within the tightest boundary the input is the route's exact optimum capped there, found
by the search's own function, or the boundary itself if that optimum should breach, and
the opportunity is re-priced with the search's arithmetic on live state: exact output,
flash fee rounded up, the same gas cost (and no plan's per-hop outputs: those were for the
old size). It goes on only if that net profit still clears the minimum profit rule (and
is positive); otherwise nothing is resized and the limit refuses it as before.

Any mix of pool kinds: a route of V2 pairs is walked across its floor boundaries
(`exact.walk`, the integer argmax); a route with a V3 hop has no closed form, so the
optimum over 1..boundary is `v3_hops.walk`'s (bracket, golden section on the exact
profit, a final scan: within a unit or two of the integer argmax, measured against brute
force in tests/strategy/test_v3_exact.py), and its output is the pools' exact swaps,
ticks crossed. The limits read V3 hops exactly too (price impact: the exact swap against
`sqrtPriceX96`, engine/guards/rules.py), so the boundary search is the same. On a V3 hop
the floors wobble more (the swap rounds once per tick range crossed): on tiny pools the
price-impact relation is monotone only up to that rounding, and `b` is a boundary within
the wobble, not always the very last input that fits (tests/guards/test_v3_sizing.py).

A `Cap` is a limit that is a plain ceiling on the input: what the chosen lender can lend
of the token this block (`lender_liquidity`), what the executor holds when it trades
from its own inventory (`inventory`). Its boundary is the cap itself, exactly; it joins
the others, the tightest binds. The approval chain's sizing seat (engine/approval.py)
asks the lenders for the cap, and fails a lender over when no size under its cap pays.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine.guards.rules import MarketContext, MaxNotional, MaxPriceImpact, OpportunityRule
from engine.strategy import exact, v3_hops
from engine.strategy.opportunity import Opportunity

SIZE_LIMITS = frozenset({MaxNotional.name, MaxPriceImpact.name})
Fits = Callable[[int], bool]
_MAX_WALK_STEPS = exact.SAFETY_STEPS  # as the search


@dataclass(frozen=True, slots=True)
class Cap:
    """A ceiling on the input: `name` is the limit (`lender_liquidity`, `inventory`),
    `source` who sets it (the lender's name), `amount` the largest input it allows, and
    `fee_bps` what that lender charges (the input within it is the best at that fee)."""

    name: str
    amount: int
    source: str = ""
    fee_bps: int | None = None


@dataclass(frozen=True, slots=True)
class Resize:
    """The opportunity at its new size, and the limit that bound it (a rule or a cap)."""

    opportunity: Opportunity
    rule: OpportunityRule | Cap
    original: int  # the input the search proposed
    boundary: int  # the largest input the binding limit allows

    @property
    def limit(self) -> str:
        return self.rule.name


def largest_fitting(fits: Fits, breaching: int) -> int | None:
    """An input `b` < breaching with fits(b) and not fits(b + 1); None if none fits.

    `breaching` must not fit. A fitting start is found by halving from it (tiny inputs can
    breach a price-impact limit on rounding alone: one unit of output lost is many bps of
    a few), then binary search keeps fits(lo) and not fits(hi) down to hi = lo + 1."""
    lo = breaching // 2
    while lo >= 1 and not fits(lo):
        lo //= 2
    if lo < 1:
        return None
    hi = breaching
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lo


def clamp(
    opportunity: Opportunity,
    limits: Sequence[OpportunityRule],
    minimum: OpportunityRule | None,
    ctx: MarketContext,
    flash_fee_bps: int,
    caps: Sequence[Cap] = (),
) -> Resize | None:
    """The opportunity resized to every limit and cap it breaches, or None (nothing to
    resize, a limit no input fits, or no profit above the minimum at the clamped size)."""
    bound: tuple[int, OpportunityRule | Cap] | None = None
    for cap in caps:
        if cap.amount >= opportunity.amount_in:
            continue
        if cap.amount < 1:
            return None
        if bound is None or cap.amount < bound[0]:
            bound = (cap.amount, cap)
    for rule in limits:
        if not _breaches(rule, opportunity, opportunity.amount_in, ctx):
            continue
        b = largest_fitting(_fits(rule, opportunity, ctx), opportunity.amount_in)
        if b is None:
            return None
        if bound is None or b < bound[0]:
            bound = (b, rule)
    if bound is None:
        return None
    fee = next((c.fee_bps for c in caps if c.fee_bps is not None), flash_fee_bps)
    resized = _best_within(opportunity, bound[0], limits, ctx, fee)
    if resized is None or not _clears(resized, minimum, ctx):
        return None
    return Resize(resized, bound[1], opportunity.amount_in, bound[0])


def _fits(rule: OpportunityRule, opportunity: Opportunity, ctx: MarketContext) -> Fits:
    return lambda x: not _breaches(rule, opportunity, x, ctx)


def _breaches(rule: OpportunityRule, opportunity: Opportunity, x: int, ctx: MarketContext) -> bool:
    return rule.read(dataclasses.replace(opportunity, amount_in=x), ctx).breached


def _best_within(
    opportunity: Opportunity,
    cap: int,
    limits: Sequence[OpportunityRule],
    ctx: MarketContext,
    flash_fee_bps: int,
) -> Opportunity | None:
    route = _live_route(opportunity, ctx)
    rate = ctx.prices.rate(opportunity.token, ctx.quote)
    if route is None or rate is None:
        return None
    found = _optimum_within(route, flash_fee_bps, cap)
    if not 1 <= found <= cap or any(_breaches(r, opportunity, found, ctx) for r in limits):
        found = cap
    amount_out = _output(route, found)
    flash = exact.flash_fee(found, flash_fee_bps)
    net = amount_out - found - opportunity.gas_cost - flash
    return dataclasses.replace(
        opportunity,
        amount_in=found,
        amount_out=amount_out,
        gross_profit=amount_out - found,
        flash_fee=flash,
        net_profit=net,
        net_profit_quote=rate.down(net),
        hop_outputs=(),  # priced on live state: a plan's outputs were for the old size
    )


def _live_route(opportunity: Opportunity, ctx: MarketContext) -> list[v3_hops.Leg] | None:
    """The route's hops on the live pools: a V2 pair as (reserve_in, reserve_out, fee_bps),
    a V3 pool as its state (`v3_hops.V3Leg`); None if a pool is missing or a pair empty."""
    route: list[v3_hops.Leg] = []
    for hop in opportunity.route:
        pool = ctx.pools.get(hop.pool)
        if pool is None:
            return None
        leg = v3_hops.leg_of(pool, hop.token_in)
        if not isinstance(leg, v3_hops.V3Leg) and (leg[0] <= 0 or leg[1] <= 0):
            return None
        route.append(leg)
    return route


def _v2_path(route: Sequence[v3_hops.Leg]) -> list[tuple[int, int, int]] | None:
    """The route as `exact.Route` when every hop is a V2 pair, else None."""
    path = [leg for leg in route if not isinstance(leg, v3_hops.V3Leg)]
    return path if len(path) == len(route) else None


def _optimum_within(route: Sequence[v3_hops.Leg], flash_fee_bps: int, cap: int) -> int:
    """The search's own exact optimum over 1..cap: the floor-stepping walk on a V2 route,
    `v3_hops.walk` (bracket, golden section on the exact profit, final scan: within a
    unit or two of the integer argmax) on a route with a V3 hop."""
    path = _v2_path(route)
    if path is not None:
        return exact.walk(path, flash_fee_bps, cap, _MAX_WALK_STEPS).amount_in
    return v3_hops.walk(route, flash_fee_bps, cap).amount_in


def _output(route: Sequence[v3_hops.Leg], amount_in: int) -> int:
    """Exact route output: V2 floors, V3 hops by the pool's swap, ticks crossed."""
    path = _v2_path(route)
    if path is not None:
        return exact.output(path, amount_in)
    return v3_hops.route_output(route, amount_in)


def _clears(resized: Opportunity, minimum: OpportunityRule | None, ctx: MarketContext) -> bool:
    if resized.net_profit <= 0:
        return False
    return minimum is None or not minimum.read(resized, ctx).breached
