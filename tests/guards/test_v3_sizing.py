"""Sizing routes with V3 hops: clamped to the price-impact limit or the lender's capacity
exactly, as V2 routes are, not refused.

Real guards over the simulated venue's market, its WETH/USDC V2 pair set to small
reserves and a small V3 pool (random tick layout, several positions, ticks crossed within
the sizes tried) added beside it, so every input up to the original can be brute-forced;
real flash-liquidity sources, a real bus and SQLite ledger behind the trigger log. The
brute force is the test's own: the V3 pool's exact swap (`engine.market.v3.pool`, checked
against the real contracts in tests/market/v3), V2's getAmountOut written out here, the
limit read by the rule itself; no engine search or sizing code."""

from __future__ import annotations

import dataclasses
import functools
import random
import re
from typing import Any

import pytest

from engine.config import SimSection
from engine.guards.rules import MarketContext, MaxPriceImpact, price_impact_bps
from engine.ledger.sqlite import SqliteLedger
from engine.market.model import Pool
from engine.market.sim import SimVenue
from engine.market.v3.errors import UniswapV3Error
from engine.market.v3.pool import amount_out
from engine.strategy.opportunity import Hop, Opportunity
from tests.guards.conftest import QUIET_TRADE_RULES
from tests.guards.support import VAULT, GuardedMarket, lenders, out, priced
from tests.strategy.v3_markets import random_layout, v3_pool

V3_A = "0x" + "c3" * 20
V3_B = "0x" + "c4" * 20
SEEDS = range(6)


class Mixed(GuardedMarket):
    """USDC → WETH on a small V3 pool (price near 1, fee 0.05 % or 0.3 %) → USDC on the
    V2 pair (WETH : USDC = D : D·1.0001^skew, a 3-7 % dislocation), or on a second V3
    pool (`shape` "v3+v3"). Reserves in the thousands to a million units."""

    def __init__(self, store: SqliteLedger, seed: int, shape: str, **guards: Any) -> None:
        rng = random.Random(seed)
        venue = SimVenue(SimSection(v3_pools=False))
        m = venue.market
        pair = next(
            p
            for p in m.pools.values()
            if {p.token0, p.token1} == {m.native, m.quote} and p.dex == "uniswap"
        )
        skew = rng.randint(300, 700)
        depth = int(10 ** rng.uniform(5.0, 5.8))
        native, quote = depth, int(depth * 1.0001**skew)
        reserves = (quote, native) if pair.token0 == m.quote else (native, quote)
        pair.reserve0, pair.reserve1 = reserves
        first = self._v3(rng, V3_A, m.quote, m.native, 0)
        m.add_pool(first)
        self.pools: list[Pool] = [first]
        hops = [Hop(V3_A, m.quote, m.native, "v3", first.fee_pips)]
        if shape == "v3+v3":  # the second pool sells WETH dear: its price is skewed
            second = self._v3(rng, V3_B, m.quote, m.native, -skew)
            m.add_pool(second)
            self.pools.append(second)
            hops.append(Hop(V3_B, m.native, m.quote, "v3", second.fee_pips))
        else:
            self.pools.append(pair)
            hops.append(Hop(pair.address, m.native, m.quote))
        self.route = tuple(hops)
        super().__init__(store, venue, **guards)

    @staticmethod
    def _v3(rng: random.Random, address: str, token0: str, token1: str, centre: int) -> Pool:
        sqrt_price, spacing, positions = random_layout(rng, centre, (5.5, 6.5), background=True)
        fee = rng.choice([500, 3000])
        return v3_pool(address, token0, token1, sqrt_price, fee, spacing, positions)

    def hop_out(self, pool: Pool, token_in: str, amount: int) -> int:
        if amount <= 0:
            return 0
        if pool.v3 is None:
            return out(amount, *pool.reserves_for(token_in))
        try:
            return amount_out(pool.v3, token_in == pool.token0, amount)
        except UniswapV3Error:
            return 0

    def output(self, x: int) -> int:
        amount = x
        for pool, hop in zip(self.pools, self.route, strict=True):
            amount = self.hop_out(pool, hop.token_in, amount)
        return amount

    def profit(self, x: int) -> int:
        return self.output(x) - x

    def at(self, x: int) -> Opportunity:
        return priced((11, "11-v3"), self.route, self.venue.market.quote, x, self.output(x))

    def optimum(self, upto: int = 20_000) -> Opportunity:
        profits = {x: self.profit(x) for x in range(1, upto + 1)}
        top = max(profits.values())
        return self.at(min(x for x, p in profits.items() if p == top))

    def fits(self, x: int) -> bool:
        """Does input x fit the price-impact limit, as the rule itself reads it?"""
        rule = next(r for r in self.guards.opportunity_rules if isinstance(r, MaxPriceImpact))
        shaped = dataclasses.replace(self.at(1), amount_in=x)  # the rule reads route and size
        return not rule.read(shaped, self._context).breached

    @functools.cached_property
    def _context(self) -> MarketContext:
        return self.guards._context()


@pytest.mark.parametrize("shape", ["v3+v2", "v3+v3"])
@pytest.mark.parametrize("seed", SEEDS)
async def test_a_v3_route_over_the_price_impact_limit_is_resized_to_the_exact_boundary(
    ledger: SqliteLedger, seed: int, shape: str
) -> None:
    """The limit at half the optimum's impact: the trigger's boundary fits and one unit
    more breaches (read by the rule), what is sent is within it, and its exact profit is
    within a unit per hop of the brute-force best of every fitting input up to it. (On
    pools this small the floors make the measured impact wobble by tens of bps, so a
    few inputs above the boundary can fit again; the test does not pretend otherwise.)"""
    probe = Mixed(ledger, seed, shape)
    best = probe.optimum()
    impact = price_impact_bps(best, probe.venue.market.pools)
    assert best.net_profit > 0 and impact > 20
    limit = impact // 2
    market = Mixed(
        ledger,
        seed,
        shape,
        disabled=["max_head_age", "max_notional", *QUIET_TRADE_RULES],
        max_price_impact_bps=limit,
    )

    verdict = market.chain().decide(best)

    assert verdict.refusal is None, verdict.refusal
    sent = verdict.opportunity
    assert market.events("blocked") == []
    (event,) = market.events("resized")
    assert event["guard"] == "max_price_impact"
    assert (event["original_size"], event["new_size"]) == (best.amount_in, sent.amount_in)
    found = re.search(r"above (\d+);", event["reason"])
    assert found is not None
    boundary = int(found.group(1))
    assert market.fits(boundary) and not market.fits(boundary + 1), "the exact boundary"
    assert 1 <= sent.amount_in <= boundary < best.amount_in and market.fits(sent.amount_in)
    top = max(market.profit(x) for x in range(1, boundary + 1) if market.fits(x))
    assert top - len(best.route) <= market.profit(sent.amount_in) <= top
    assert sent == market.at(sent.amount_in), "re-priced exactly, V3 hops by their swap"


@pytest.mark.parametrize("shape", ["v3+v2", "v3+v3"])
@pytest.mark.parametrize("seed", SEEDS)
async def test_a_v3_route_above_what_the_lender_holds_is_resized_within_the_cap(
    ledger: SqliteLedger, seed: int, shape: str
) -> None:
    """The vault can lend a third of the optimum: the route goes on within the cap at
    its best input there (to a unit per hop), not failed over nor refused."""
    market = Mixed(ledger, seed, shape)
    best = market.optimum()
    cap = best.amount_in // 3
    top = max(market.profit(x) for x in range(1, cap + 1))
    assert top > 0
    sources = lenders({"vault": cap}, 0, vault=f"balancer-v2://{VAULT}")

    verdict = market.chain(sources).decide(best)

    assert verdict.refusal is None, verdict.refusal
    sent = verdict.opportunity
    assert 1 <= sent.amount_in <= cap
    assert top - len(best.route) <= market.profit(sent.amount_in) <= top
    assert sent == market.at(sent.amount_in)
    (event,) = market.events("resized")
    assert event["guard"] == "lender_liquidity" and event["threshold"] == str(cap)
    assert (event["original_size"], event["new_size"]) == (best.amount_in, sent.amount_in)
    assert market.events("failover") == []


@pytest.mark.parametrize("shape", ["v3+v2", "v3+v3"])
@pytest.mark.parametrize("seed", SEEDS[:3])
async def test_a_v3_route_over_the_notional_limit_is_resized_to_it(
    ledger: SqliteLedger, seed: int, shape: str
) -> None:
    """USDC is the quote: the notional of n units is n, so the boundary is the limit."""
    probe = Mixed(ledger, seed, shape)
    best = probe.optimum()
    limit = best.amount_in // 3
    market = Mixed(
        ledger,
        seed,
        shape,
        disabled=["max_head_age", "max_price_impact", *QUIET_TRADE_RULES],
        max_notional_quote=f"{limit / 10**6:.6f}",
    )

    verdict = market.chain().decide(best)

    assert verdict.refusal is None, verdict.refusal
    sent = verdict.opportunity
    top = max(market.profit(x) for x in range(1, limit + 1))
    assert 1 <= sent.amount_in <= limit
    assert top - len(best.route) <= market.profit(sent.amount_in) <= top
    assert sent == market.at(sent.amount_in)
    (event,) = market.events("resized")
    assert event["guard"] == "max_notional" and f"above {limit};" in event["reason"]
