"""Sizing to what the lender can lend: the input clamped to the active lender's capacity
(or the executor's inventory) exactly, and a lender short of any paying size failed over.

Real guards over the simulated venue's market with its WETH/USDC pools set to small
reserves (so every input up to the cap can be brute-forced), real flash-liquidity
sources whose capacities are what the test says the venue read this block, a real bus
and SQLite ledger behind the trigger log. The brute force is the test's own: exact V2
outputs of every input, the lender's fee rounded up, no engine search code."""

from __future__ import annotations

from typing import Any

import pytest

from engine.config import SimSection
from engine.ledger.sqlite import SqliteLedger
from engine.market.sim import SimVenue
from engine.market.venue import Loan
from engine.strategy.opportunity import Hop, Opportunity
from tests.guards.support import VAULT, GuardedMarket, lenders, out, priced

AAVE = "0x" + "a3" * 20


class Small(GuardedMarket):
    """USDC → WETH on uniswap (20,000 : 10,000 units) → USDC on sushiswap (10,000 :
    24,000): a 20 % dislocation on reserves small enough to try every input."""

    def __init__(self, store: SqliteLedger, flash_fee_bps: int = 0, **guards: Any) -> None:
        venue = SimVenue(SimSection())
        m = venue.market
        pools = {p.dex: p for p in m.pools.values() if {p.token0, p.token1} == {m.native, m.quote}}
        for dex, (quote, native) in {
            "uniswap": (20_000, 10_000),
            "sushiswap": (24_000, 10_000),
        }.items():
            pool = pools[dex]
            pool.reserve0, pool.reserve1 = (
                (quote, native) if pool.token0 == m.quote else (native, quote)
            )
        self.route = (
            Hop(pools["uniswap"].address, m.quote, m.native),
            Hop(pools["sushiswap"].address, m.native, m.quote),
        )
        self.path = [m.pools[h.pool].reserves_for(h.token_in) for h in self.route]
        self.fee_bps = flash_fee_bps
        super().__init__(store, venue, flash_fee_bps, **guards)

    def profit(self, x: int) -> int:
        """Exact net profit of input x (no gas: the tiny market's point is the curve)."""
        y = out(x, *self.path[0])
        fee = -(-x * self.fee_bps // 10_000)
        return out(y, *self.path[1]) - x - fee

    def best_within(self, cap: int) -> tuple[int, int]:
        """Brute force: the most profit of any input 1..cap, and the inputs that earn it."""
        profits = {x: self.profit(x) for x in range(1, cap + 1)}
        top = max(profits.values())
        return top, min(x for x, p in profits.items() if p == top)

    def at(self, x: int) -> Opportunity:
        y = out(x, *self.path[0])
        z = out(y, *self.path[1])
        fee = -(-x * self.fee_bps // 10_000)
        return priced((9, "9-small"), self.route, self.venue.market.quote, x, z, fee)

    def optimum(self) -> Opportunity:
        return self.at(self.best_within(3_000)[1])


@pytest.mark.parametrize("fee_bps", [0, 9])
@pytest.mark.parametrize("cap", [1, 37, 500, 894])
async def test_an_input_above_what_the_lender_holds_is_resized_to_the_exact_best_within_it(
    ledger: SqliteLedger, cap: int, fee_bps: int
) -> None:
    market = Small(ledger, flash_fee_bps=fee_bps)
    best = market.optimum()
    assert best.amount_in > cap and best.net_profit > 0
    top, _ = market.best_within(cap)
    sources = lenders({"vault": cap}, fee_bps, vault=f"balancer-v2://{VAULT}")

    verdict = market.chain(sources).decide(best)

    if top < 1:  # nothing within the cap pays: the vault is short, and it is the only one
        assert verdict.refusal is not None
        assert market.events("resized") == []
        return
    assert verdict.refusal is None
    sent = verdict.opportunity
    assert sent.amount_in <= cap
    assert market.profit(sent.amount_in) == top, "the exact best input under the cap"
    assert sent.net_profit == top and sent == market.at(sent.amount_in)
    (event,) = market.events("resized")
    assert event["guard"] == "lender_liquidity" and "vault" in event["reason"]
    assert (event["original_size"], event["new_size"]) == (best.amount_in, sent.amount_in)
    assert event["threshold"] == str(cap)
    assert sources.loan_for(best.id) == Loan("balancer-v2", sources.loans()[0].lender)


async def test_trading_from_inventory_is_clamped_to_what_the_executor_holds(
    ledger: SqliteLedger,
) -> None:
    market = Small(ledger)
    best = market.optimum()
    held = best.amount_in // 3
    sources = lenders({"own": held}, own="inventory://")

    verdict = market.chain(sources).decide(best)

    assert verdict.refusal is None
    sent = verdict.opportunity
    assert sent.amount_in <= held and market.profit(sent.amount_in) == market.best_within(held)[0]
    (event,) = market.events("resized")
    assert event["guard"] == "inventory"
    assert (event["original_size"], event["new_size"]) == (best.amount_in, sent.amount_in)


async def test_a_drained_lender_fails_over_to_the_next_before_any_dry_run(
    ledger: SqliteLedger,
) -> None:
    """The Vault holds nothing of the token: no size pays, so it is marked down at once
    (a `flash_liquidity` failover trigger); the same opportunity is sized for Aave, which
    holds enough, and approved with Aave as its lender."""
    market = Small(ledger)
    best = market.optimum()
    sources = lenders(
        {"vault": 0, "aave": 10**9}, vault=f"balancer-v2://{VAULT}", aave=f"aave-v3://{AAVE}"
    )

    verdict = market.chain(sources).decide(best)

    assert verdict.refusal is None and verdict.opportunity == best
    assert sources.active.name == "aave"
    loan = sources.loan_for(best.id)
    assert loan is not None and loan.kind == "aave-v3"
    (failover,) = market.events("failover")
    assert failover["guard"] == "flash_liquidity" and "vault" in failover["reason"]
    assert "liquidity short" in failover["reason"]
    vault = next(s for s in sources.health() if s.name == "vault")
    assert vault.status == "down" and "liquidity short" in vault.last_error
    assert vault.breaker.state == "open"  # a trial once its cooldown is over
    assert market.events("resized") == []


async def test_a_lender_that_holds_enough_changes_nothing(ledger: SqliteLedger) -> None:
    market = Small(ledger)
    best = market.optimum()
    sources = lenders({"vault": best.amount_in}, vault=f"balancer-v2://{VAULT}")

    verdict = market.chain(sources).decide(best)

    assert verdict.refusal is None and verdict.opportunity is best
    assert market.events("resized") == [] and market.events("failover") == []
    assert sources.active.name == "vault"


async def test_a_lender_is_not_blamed_for_an_opportunity_a_size_limit_refuses_anyway(
    ledger: SqliteLedger,
) -> None:
    market = Small(ledger, min_net_profit_quote="1000")  # nothing here pays a thousand
    best = market.optimum()
    sources = lenders(
        {"vault": 3, "aave": 10**9}, vault=f"balancer-v2://{VAULT}", aave=f"aave-v3://{AAVE}"
    )

    verdict = market.chain(sources).decide(best)

    assert verdict.refusal is not None and verdict.refusal.startswith("min_net_profit")
    assert sources.active.name == "vault" and market.events("failover") == []


async def test_the_simulated_venue_caps_inventory_by_the_wallet_and_a_lender_by_its_funds(
    ledger: SqliteLedger,
) -> None:
    """The same notion on the simulated market: `inventory://` holds what the wallet
    holds, a lender a scenario funded holds its funds, any other lender is uncapped; and
    sizing reads them through the sources as on a chain."""
    market = Small(ledger)
    venue, usdc = market.venue, market.venue.market.quote
    vault = Loan("balancer-v2", VAULT)
    assert venue.lender_capacity(Loan("inventory"), usdc) == venue.wallet_balances().get(usdc, 0)
    assert venue.lender_capacity(vault, usdc) is None
    best = market.optimum()
    venue.lender_funds[(VAULT.lower(), usdc.lower())] = best.amount_in // 2
    sources = lenders({"vault": None}, vault=f"balancer-v2://{VAULT}")
    sources.read_capacity_from(venue.lender_capacity)

    verdict = market.chain(sources).decide(best)

    assert verdict.refusal is None and verdict.opportunity.amount_in <= best.amount_in // 2
    assert [e["guard"] for e in market.events("resized")] == ["lender_liquidity"]


async def test_the_input_within_a_lenders_capacity_is_the_best_at_that_lenders_fee(
    ledger: SqliteLedger,
) -> None:
    """The search charged no fee; the Vault charges 3 %: within its capacity the input is
    the one that earns most after the Vault's fee, which the brute force finds at a fee
    of 300 bps (the search's fee would give another)."""
    market = Small(ledger, flash_fee_bps=0)
    best = market.optimum()
    sources = lenders({"vault": 800}, 300, vault=f"balancer-v2://{VAULT}")
    at_lender = Small(ledger, flash_fee_bps=300)
    top, first = at_lender.best_within(800)
    assert first != market.best_within(800)[1], "the fee must matter here"

    verdict = market.chain(sources).decide(best)

    assert verdict.refusal is None
    sent = verdict.opportunity
    assert at_lender.profit(sent.amount_in) == top and sent.net_profit == top
    assert sent.flash_fee == -(-sent.amount_in * 300 // 10_000)
