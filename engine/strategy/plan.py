"""A block's plan: opportunities that share pools, taken one after another, greedily.

The search prices every opportunity on the block's live reserves, as if it were the only
trade. Two that share a pool cannot both be right: the second trades on reserves the
first has moved. A `Plan` keeps a copy of the reserves of every pool it has used (the
market itself is never touched) and re-prices each candidate on that copy: the route's
exact optimum (`exact.walk`, the search's own function, with the same cap and step
budget), its exact per-hop outputs, and the net after the same gas cost and flash fee.
`take` then applies the order's exact effect to the copy, so the next candidate is priced
on the reserves the first one leaves behind, to the unit (V2 pairs: the input is added
to reserve_in, the floored output taken from reserve_out; V3 pools: the exact swap,
ticks crossed included, applied to the plan's own copy of the pool's state).

Greedy by net value (`greedy`): `best` re-prices the remaining candidates on the current
copy and returns the one worth most in quote; `take` applies it; again until nothing pays.
That part walks exact optima, so the pipeline runs it on the market's worker with the
search. On the loop it then replays the plan through the approval chain with a fresh
`Plan`: each approved order is `take`n at its own (possibly resized) input, which costs
no walk, so an order refused or resized only re-prices the ones after it, never
re-plans. Orders are sent in the order taken, which is also
the order they are mined in (consecutive nonces from one sender), so the copy is the
chain's state before each of them, if nothing else trades these pools first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from engine.market.amm import FEE_DENOMINATOR
from engine.market.model import Market
from engine.market.v3.pool import V3PoolState, apply_swap, swap
from engine.strategy import exact, v3_hops
from engine.strategy.opportunity import Hop, Opportunity

_MAX_WALK_STEPS = exact.SAFETY_STEPS  # as the search: the proven exact optimum


class Plan:
    """Reserves as the orders taken so far leave them; the market itself is only read."""

    def __init__(
        self, market: Market, flash_fee_bps: int, max_amount_in: Mapping[str, int] | None = None
    ) -> None:
        self._market = market
        self._flash_fee_bps = flash_fee_bps
        self._caps = dict(max_amount_in or {})
        self._reserves: dict[str, tuple[int, int]] = {}  # pool -> (reserve0, reserve1) after
        self._v3: dict[str, V3PoolState] = {}  # V3 pool -> its state after (a copy)
        self.taken: list[Opportunity] = []

    @property
    def touched(self) -> frozenset[str]:
        """Pools whose reserves the plan has moved."""
        return frozenset(self._reserves)

    def path(self, route: Iterable[Hop]) -> list[tuple[int, int, int]]:
        """(reserve_in, reserve_out, fee_bps) per hop, as the plan leaves them."""
        out = []
        for hop in route:
            pool = self._market.pools[hop.pool]
            r0, r1 = self._reserves.get(hop.pool, (pool.reserve0, pool.reserve1))
            fee = pool.fee_bps
            out.append((r0, r1, fee) if hop.token_in == pool.token0 else (r1, r0, fee))
        return out

    def reprice(self, opportunity: Opportunity, amount_in: int | None = None) -> Opportunity | None:
        """The opportunity on the plan's reserves: at its route's exact optimum (or at
        `amount_in`), with exact per-hop outputs; None when it no longer nets a profit."""
        path = self.path(opportunity.route)
        if any(r_in <= 0 or r_out <= 0 for r_in, r_out, _ in path):
            return None
        legs = self._legs(opportunity.route) if v3_hops.has_v3(opportunity.route) else None
        if amount_in is None:
            cap = self._caps.get(opportunity.token)
            if legs is not None:
                amount_in = v3_hops.walk(legs, self._flash_fee_bps, cap).amount_in
            else:
                amount_in = exact.walk(path, self._flash_fee_bps, cap, _MAX_WALK_STEPS).amount_in
        if amount_in <= 0:
            return None
        outputs = _outputs(amount_in, path) if legs is None else v3_hops.outputs(legs, amount_in)
        if outputs is None:
            return None
        flash = exact.flash_fee(amount_in, self._flash_fee_bps)
        gross = outputs[-1] - amount_in
        net = gross - opportunity.gas_cost - flash
        if net <= 0:
            return None
        return dataclasses.replace(
            opportunity,
            amount_in=amount_in,
            amount_out=outputs[-1],
            gross_profit=gross,
            flash_fee=flash,
            net_profit=net,
            net_profit_quote=_in_quote(opportunity, net),
            hop_outputs=tuple(outputs),
            follows=self.taken[-1].id if self.taken else "",
        )

    def best(self, candidates: Iterable[Opportunity]) -> Opportunity | None:
        """The candidate worth most in quote on the plan's reserves (ties: by id). Only
        those through a pool the plan moved are re-priced: the rest are as the search
        found them, on the same reserves."""
        touched = self._reserves.keys()
        priced = [
            p
            for c in candidates
            if (p := self.reprice(c) if any(h.pool in touched for h in c.route) else c)
        ]
        if not priced:
            return None
        return min(priced, key=lambda o: (-o.net_profit_quote, -o.net_profit, o.id))

    def take(self, opportunity: Opportunity) -> Opportunity | None:
        """Re-price the opportunity at its own input on the plan's reserves and apply its
        effect; None (nothing applied) if it does not pay there."""
        priced = self.reprice(opportunity, opportunity.amount_in)
        if priced is None:
            return None
        amount = priced.amount_in
        for hop, out in zip(priced.route, priced.hop_outputs, strict=True):
            pool = self._market.pools[hop.pool]
            r0, r1 = self._reserves.get(hop.pool, (pool.reserve0, pool.reserve1))
            if hop.token_in == pool.token0:
                self._reserves[hop.pool] = (r0 + amount, r1 - out)
            else:
                self._reserves[hop.pool] = (r0 - out, r1 + amount)
            if pool.v3 is not None:
                self._swap_copy(hop, amount)
            amount = out
        self.taken.append(priced)
        return priced

    def _legs(self, route: Iterable[Hop]) -> list[v3_hops.Leg]:
        """The route's hops as the plan leaves them: V2 on its reserves, V3 on its copy."""
        out = []
        for hop in route:
            pool = self._market.pools[hop.pool]
            r0, r1 = self._reserves.get(hop.pool, (pool.reserve0, pool.reserve1))
            view = dataclasses.replace(pool, reserve0=r0, reserve1=r1)
            out.append(v3_hops.leg_of(view, hop.token_in, self._v3.get(hop.pool)))
        return out

    def _swap_copy(self, hop: Hop, amount: int) -> None:
        """Apply the exact swap of `amount` to the plan's copy of the hop's V3 pool."""
        pool = self._market.pools[hop.pool]
        state = self._v3.get(hop.pool)
        if state is None:
            assert pool.v3 is not None
            state = self._v3[hop.pool] = pool.v3.copy()
        result = swap(state, hop.token_in == pool.token0, amount)
        apply_swap(state, result.sqrt_price_x96, result.tick, result.liquidity)


def greedy(
    market: Market,
    candidates: Iterable[Opportunity],
    flash_fee_bps: int,
    max_amount_in: Mapping[str, int] | None = None,
    limit: int | None = None,
) -> list[Opportunity]:
    """The candidates taken one after another, best first, each on the reserves the ones
    before it leave (at most `limit`); those that no longer pay are left out."""
    plan = Plan(market, flash_fee_bps, max_amount_in)
    remaining = list(candidates)
    while remaining and (limit is None or len(plan.taken) < limit):
        best = plan.best(remaining)
        if best is None:
            break
        remaining = [o for o in remaining if o.id != best.id]
        plan.take(best)
    return plan.taken


def _outputs(amount_in: int, path: list[tuple[int, int, int]]) -> list[int] | None:
    """Exact output of every hop (the V2 formula, floored); None if one pays nothing."""
    outputs = []
    amount = amount_in
    for reserve_in, reserve_out, fee_bps in path:
        with_fee = amount * (FEE_DENOMINATOR - fee_bps)
        amount = with_fee * reserve_out // (reserve_in * FEE_DENOMINATOR + with_fee)
        if amount <= 0:
            return None
        outputs.append(amount)
    return outputs


def _in_quote(opportunity: Opportunity, net: int) -> int:
    """The net in quote at the rate the search used for this opportunity (rounded down)."""
    if opportunity.net_profit <= 0:
        return 0
    return net * opportunity.net_profit_quote // opportunity.net_profit
