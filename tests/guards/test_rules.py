"""Each rule alone: what it measures, and where its threshold sits (pure values, no engine)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.guards.rules import (
    ConsecutiveFailures,
    LedgerTakesWrites,
    MarketContext,
    MaxDailyLoss,
    MaxFailedTradesPerHour,
    MaxGasPrice,
    MaxHeadAge,
    MaxHeadLag,
    MaxHourlyLoss,
    MaxNotional,
    MaxPriceImpact,
    MaxRpcLatency,
    MinNetProfit,
    MinSuccessRate,
    PinnedProvider,
    Reading,
    price_impact_bps,
)
from engine.guards.stats import DAY_S, TradeStats
from engine.ledger.writer import LedgerHealth
from engine.market.amm import FEE_DENOMINATOR, get_amounts_out
from engine.market.model import Pool
from engine.market.venue import BlockUpdate
from engine.providers.selector import BreakerView, ProviderStatus
from engine.strategy.opportunity import Hop, Opportunity
from engine.strategy.pricing import PriceGraph
from tests.guards.build import GWEI, USD, USDC, WETH, block, market, opportunity, trade

NOW = 1_700_000_000.0


def provider(name: str, active: bool, head_lag: int, latency_ms: float) -> ProviderStatus:
    """A healthy, usable RPC provider as the venue reports it."""
    return ProviderStatus(
        name=name,
        kind="rpc",
        status="healthy",
        latency_ms_ewma=latency_ms,
        success_rate=1.0,
        consecutive_failures=0,
        last_error="",
        last_error_at=0.0,
        head_lag=head_lag,
        last_head=100 - head_lag,
        requests=10,
        priority=0 if active else 1,
        offline_reason="",
        active=active,
        pinned=False,
        usable=True,
        unusable_reason="",
        breaker=BreakerView("closed", 0.0, 0),
    )


HEALTHY = [provider("alpha", True, 0, 40.0), provider("bravo", False, 0, 90.0)]


def context(
    head_age_s: float = 0.5,
    providers: list[ProviderStatus] | None = None,
    ledger: LedgerHealth | None = None,
) -> MarketContext:
    m = market()
    head = BlockUpdate(block(timestamp=NOW - head_age_s), frozenset(), NOW, "alpha")
    return MarketContext(
        now=NOW,
        pools=m.pools,
        prices=PriceGraph(m.pools.values(), [WETH, USDC]),
        quote=USDC,
        head=head,
        providers=HEALTHY if providers is None else providers,
        ledger=ledger,
    )


def stats_of(*outcomes: tuple[str, int], start: float = NOW) -> TradeStats:
    """Trades booked one second apart: (status, profit_quote) each."""
    stats = TradeStats(success_window=20)
    for i, (status, profit) in enumerate(outcomes):
        stats.add(trade(status, profit), start + i)  # type: ignore[arg-type]
    return stats


# --- opportunity rules ---------------------------------------------------------------------
def test_min_net_profit_blocks_below_the_minimum_and_passes_at_it() -> None:
    rule = MinNetProfit(2 * USD)
    assert rule.read(opportunity(net_profit_quote=2 * USD - 1), context()).breached
    assert not rule.read(opportunity(net_profit_quote=2 * USD), context()).breached


def test_gas_price_at_the_cap_passes() -> None:
    rule = MaxGasPrice(150 * GWEI, headroom_pct=100)
    assert not rule.read(opportunity(gas_price=150 * GWEI), context()).breached


def test_gas_over_the_cap_blocks_when_dearer_gas_would_eat_the_profit() -> None:
    # net 2 USDC, gas 8 USDC: 100 % dearer gas costs 8 more -> -6
    rule = MaxGasPrice(150 * GWEI, headroom_pct=100)
    reading = rule.read(opportunity(gas_price=151 * GWEI), context())
    assert reading.breached and reading.value == 151 * GWEI
    assert "100% dearer gas" in reading.reason


def test_gas_over_the_cap_passes_when_the_profit_survives_the_headroom() -> None:
    rule = MaxGasPrice(150 * GWEI, headroom_pct=100)
    rich = opportunity(gas_price=300 * GWEI, gas_cost=8 * USD, net_profit=9 * USD)
    assert not rule.read(rich, context()).breached


def test_notional_is_the_input_valued_in_quote() -> None:
    rule = MaxNotional(1000 * USD)
    weth_in = opportunity(token=WETH, amount_in=10**18)  # 1 WETH at the deep pool's 3000
    reading = rule.read(weth_in, context())
    assert reading.value == 3000 * USD and reading.breached


def test_price_impact_is_the_output_lost_to_the_trade_size() -> None:
    # one hop, 3000 USDC into 3,000,000: a*f / (R + a*f) = 2991 / 3002991 = 9.96 bps -> 10
    one_hop = opportunity(route=(Hop("0xdeep", USDC, WETH),))
    assert price_impact_bps(one_hop, market().pools) == 10


def _price_impact_by_fractions(opp: Opportunity, pools: Mapping[str, Pool]) -> int:
    """The definition, written the slow obvious way: the reference for the integer form."""
    ideal, path = Fraction(opp.amount_in), []
    for hop in opp.route:
        pool = pools[hop.pool]
        reserve_in, reserve_out = pool.reserves_for(hop.token_in)
        path.append((reserve_in, reserve_out, pool.fee_bps))
        ideal *= Fraction(reserve_out * (FEE_DENOMINATOR - pool.fee_bps), reserve_in)
        ideal /= FEE_DENOMINATOR
    lost = (ideal - get_amounts_out(opp.amount_in, path)[-1]) / ideal * FEE_DENOMINATOR
    return max(0, math.ceil(lost))


@given(st.integers(min_value=1, max_value=10**30))
def test_price_impact_in_integers_equals_the_definition_in_fractions(amount: int) -> None:
    pools = market().pools
    for route in ((Hop("0xdeep", USDC, WETH),), opportunity().route):
        opp = opportunity(route=route, amount_in=amount)
        assert price_impact_bps(opp, pools) == _price_impact_by_fractions(opp, pools)


def test_price_impact_grows_with_size() -> None:
    small, large = opportunity(amount_in=300 * USD), opportunity(amount_in=30_000 * USD)
    assert price_impact_bps(small, market().pools) < price_impact_bps(large, market().pools)


def test_price_impact_over_the_limit_blocks() -> None:
    assert MaxPriceImpact(50).read(opportunity(amount_in=30_000 * USD), context()).breached


def test_head_older_than_the_limit_blocks() -> None:
    rule = MaxHeadAge(30.0)
    assert rule.read(opportunity(), context(head_age_s=31.0)).breached
    assert not rule.read(opportunity(), context(head_age_s=29.0)).breached


def test_head_lag_is_measured_against_the_best_provider() -> None:
    lagging = [provider("alpha", True, 4, 40.0), provider("bravo", False, 1, 90.0)]
    reading = MaxHeadLag(2).read(opportunity(), context(providers=lagging))
    assert reading.value == 3 and reading.breached


def test_rpc_latency_reads_the_active_provider() -> None:
    slow = [provider("alpha", True, 0, 2500.0)]
    assert MaxRpcLatency(2000.0).read(opportunity(), context(providers=slow)).breached
    assert not MaxRpcLatency(2000.0).read(opportunity(), context()).breached


def ledger_health(backend: str, ok: bool, pending: int, error: str) -> LedgerHealth:
    return LedgerHealth(
        backend=backend,
        ok=ok,
        pending=pending,
        written=10,
        last_error=error,
        last_error_at=0.0,
        recovered_at=0.0,
        quarantined=0,
        last_quarantined_at=0.0,
        last_refusal="",
        deadletter=None,
    )


def test_the_ledger_rule_reads_the_writers_typed_health() -> None:
    rule = LedgerTakesWrites(0)
    up = ledger_health("sqlite", ok=True, pending=3, error="")
    down = ledger_health("postgres", ok=False, pending=7, error="connection refused")
    assert rule.read(opportunity(), context(ledger=up)) == Reading(3, False)
    reading = rule.read(opportunity(), context(ledger=down))
    assert reading.breached and reading.value == 7
    assert reading.reason == "ledger unavailable (connection refused); 7 rows kept for retry"


def test_a_pinned_provider_that_cannot_serve_blocks_with_its_reason() -> None:
    stuck = dataclasses.replace(
        provider("alpha", True, 6, 40.0), pinned=True, usable=False, unusable_reason="down"
    )
    reading = PinnedProvider(0).read(opportunity(), context(providers=[stuck]))
    assert reading.breached and reading.reason == (
        "pinned provider alpha cannot serve (down): trading waits"
    )
    assert not PinnedProvider(0).read(opportunity(), context()).breached


# --- trade rules -------------------------------------------------------------------------------
def test_failed_trades_per_hour_count_only_the_last_hour() -> None:
    stats = stats_of(*[("reverted", -USD)] * 11)
    rule = MaxFailedTradesPerHour(10)
    assert rule.read(stats, NOW + 20).breached
    assert rule.read(stats, NOW + 3600 + 20).value == 0


def test_exactly_the_threshold_of_failures_per_hour_passes() -> None:
    stats = stats_of(*[("failed", 0)] * 10)
    assert not MaxFailedTradesPerHour(10).read(stats, NOW + 20).breached


def test_success_rate_waits_for_the_minimum_number_of_trades() -> None:
    rule = MinSuccessRate(0.7, min_trades=10)
    assert rule.read(stats_of(*[("reverted", 0)] * 9), NOW).value is None
    assert rule.read(stats_of(*[("reverted", 0)] * 10), NOW).breached


def test_success_rate_is_over_the_last_window_of_trades() -> None:
    outcomes = [("reverted", 0)] * 20 + [("success", USD)] * 20  # the old failures slid out
    assert MinSuccessRate(0.7, 10).read(stats_of(*outcomes), NOW).value == 1.0


def test_consecutive_failures_reset_on_a_success() -> None:
    rule = ConsecutiveFailures(3)
    assert rule.read(stats_of(("failed", 0), ("reverted", 0), ("failed", 0)), NOW).breached
    healed = stats_of(("failed", 0), ("reverted", 0), ("success", USD), ("failed", 0))
    assert rule.read(healed, NOW).value == 1


def test_hourly_loss_opens_below_minus_the_limit() -> None:
    rule = MaxHourlyLoss(-100 * USD)
    assert rule.read(stats_of(("reverted", -60 * USD), ("reverted", -41 * USD)), NOW).breached
    assert not rule.read(stats_of(("reverted", -100 * USD)), NOW).breached


def test_daily_loss_is_counted_from_midnight_utc() -> None:
    midnight = NOW - NOW % DAY_S + DAY_S
    stats = stats_of(("reverted", -600 * USD), start=midnight - 10)
    assert MaxDailyLoss(-500 * USD).read(stats, midnight - 5).breached
    assert MaxDailyLoss(-500 * USD).read(stats, midnight + 5).value == 0


def test_daily_loss_holds_the_breaker_until_midnight_utc() -> None:
    midnight = NOW - NOW % DAY_S + DAY_S
    assert MaxDailyLoss(-500 * USD).hold_until(NOW) == midnight
    assert MaxHourlyLoss(-100 * USD).hold_until(NOW) is None


@pytest.mark.parametrize("restart_today", [False, True])
def test_a_restart_forgets_the_windows_and_today_only_when_asked(restart_today: bool) -> None:
    stats = stats_of(("reverted", -600 * USD), ("reverted", -1 * USD))
    stats.restart(NOW + 10, including_today=restart_today)
    assert stats.consecutive_failures == 0 and stats.failed_last_hour(NOW + 10) == 0
    assert stats.pnl_today(NOW + 10) == (0 if restart_today else -601 * USD)
