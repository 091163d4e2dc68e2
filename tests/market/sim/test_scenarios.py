"""The capture suite on the simulated venue: the devnet suite's shapes (issue 13).

A staged market (tests/market/sim/staged.py: flat at reference prices, $1M a side, no
noise, rivals off, no background sweeps) is dislocated as each scenario says, then the
pipeline with the daemon's approval chain and default guards trades it until nothing is
left. The independent greedy oracle (tests/support/oracle.py) computes what a greedy
searcher takes from the same reserves under the same limits; the engine must realise
≥ 98 % of it, lose on no trade, and its ledger must match the simulated wallet to the
unit. Each run prints a `CAPTURE` row (docs/benchmarks.md has the table).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pytest

from engine.approval import build_chain
from engine.config import GuardsSection
from engine.guards.approver import Guards
from engine.guards.thresholds import build_thresholds
from engine.ledger.records import TradeRecord
from engine.market.model import Market
from engine.units import to_base_units
from tests.market.sim.staged import Staged, dislocate, make_staged, pool_of, start
from tests.support.capture import Capture, Limits, gas_model, greedy_oracle, realised, trade_net
from tests.support.oracle import OPool, mid_prices

pytestmark = pytest.mark.slow

CAPTURE_MIN = 0.98
QUIET_BLOCKS = 12  # blocks without a new trade before a scenario counts as settled

Stage = Callable[[Market], None]


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    moves: tuple[tuple[str, str, str, str, int], ...]  # (dex, token a, token b, moved, bps)
    below_gas: bool = False

    def stage(self, market: Market, prices: dict[str, int]) -> None:
        for dex, a, b, moved, bps in self.moves:
            dislocate(market, pool_of(market, dex, a, b), moved, bps)


SCENARIOS = (
    Scenario("2-pool small (uniswap WETH +1.5 %)", (("uniswap", "WETH", "USDC", "WETH", 150),)),
    Scenario("2-pool medium (uniswap WETH +4 %)", (("uniswap", "WETH", "USDC", "WETH", 400),)),
    Scenario(
        "2-pool beyond the price-impact limit (uniswap WETH +15 %)",
        (("uniswap", "WETH", "USDC", "WETH", 1_500),),
    ),
    Scenario(
        "3-hop only (DAI/USDC: DAI +3 % on every dex)",
        tuple((dex, "DAI", "USDC", "DAI", 300) for dex in ("uniswap", "sushiswap", "pancake")),
    ),
    Scenario(
        "below gas cost (uniswap WETH +0.7 %)",
        (("uniswap", "WETH", "USDC", "WETH", 70),),
        below_gas=True,
    ),
    Scenario(
        "two simultaneous (uniswap WETH/USDC, sushiswap WBTC/WETH)",
        (("uniswap", "WETH", "USDC", "WETH", 400), ("sushiswap", "WBTC", "WETH", "WBTC", 400)),
    ),
    Scenario(
        "non-base token (uniswap DAI/WETH: DAI +4 %)", (("uniswap", "DAI", "WETH", "DAI", 400),)
    ),
    Scenario(
        "best start is USDC (sushiswap WETH -4 %)",
        (("sushiswap", "WETH", "USDC", "WETH", -400),),
    ),
)


def guarded(staged: Staged) -> None:
    """The daemon's approval chain (sizing, then the guards) with `[guards]` defaults."""
    venue, pipeline = staged.venue, staged.pipeline
    quote = venue.market.tokens[venue.market.quote]
    thresholds = build_thresholds(GuardsSection(), quote.symbol, quote.decimals)
    units = dict(pipeline._search.config.gas_units)
    guards = Guards(thresholds, pipeline._bus, staged.writer, venue, units)
    guards.attach(pipeline)
    pipeline._approver = build_chain(guards, None, guards.triggers, sizer=guards)


def limits() -> Limits:
    section = GuardsSection()
    return Limits(
        min_net_quote=to_base_units(section.min_net_profit_quote, 6),
        max_notional_quote=to_base_units(section.max_notional_quote, 6),
        max_price_impact_bps=section.max_price_impact_bps,
    )


def booked(trades: list[TradeRecord], native: str) -> dict[str, int]:
    total: Counter[str] = Counter()
    for trade in trades:
        total[trade.token] += trade.profit_token
        total[native] -= trade.gas_cost_wei
    return {k: v for k, v in total.items() if v}


class Quiet:
    """Settled: nothing in flight and no new trade for QUIET_BLOCKS blocks."""

    def __init__(self, staged: Staged) -> None:
        self._staged = staged
        self._trades = -1
        self._since = 0

    def __call__(self) -> bool:
        pipeline = self._staged.pipeline
        if pipeline.trades_booked != self._trades or pipeline.market_status()["in_flight"]:
            self._trades, self._since = pipeline.trades_booked, pipeline.blocks_seen
            return False
        return pipeline.blocks_seen - self._since >= QUIET_BLOCKS


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name.split(" (")[0])
async def test_the_engine_captures_what_a_greedy_oracle_takes(
    tmp_path: Path, scenario: Scenario
) -> None:
    staged = make_staged(tmp_path, scenario.stage, block_ms=5)
    guarded(staged)
    market = staged.venue.market
    pools = [
        OPool(p.address, p.token0, p.token1, p.reserve0, p.reserve1, p.fee_bps)
        for p in market.pools.values()
    ]
    await start(staged)
    try:
        await staged.run_until(Quiet(staged), "the engine to settle")
        trades = await staged.trades()
    finally:
        await staged.stop()

    reference = staged.venue._state.world.prices  # micro-USD per whole token
    decimals = {t: spec.decimals for t, spec in market.tokens.items()}
    price = {t: Fraction(reference[t], 10 ** decimals[t]) for t in market.tokens}
    native, quote = market.native, market.quote
    bases = list(staged.pipeline._search.table.base_tokens)
    gas = gas_model(trades, staged.venue.gas_price())
    oracle = greedy_oracle(pools, bases, price, gas, limits(), native, quote)
    if scenario.below_gas:  # a cycle grosses something, none nets
        seen = mid_prices(oracle.pools, native, quote)
        assert max(oracle.best(route, seen).gross for route in oracle.routes()) > 0
    best = oracle.run()
    capture = Capture(
        scenario.name, best, realised(trades, price, native), len(trades), len(oracle.takes)
    )
    print(capture.row(decimals[quote]))

    wallet = staged.venue.wallet_balances()
    moved = {t: wallet.get(t, 0) - staged.start_balances.get(t, 0) for t in wallet}
    assert {t: v for t, v in moved.items() if v} == booked(trades, native)
    losing = [(t.opportunity_id, t.status) for t in trades if trade_net(t, price, native) <= 0]
    assert not losing
    assert capture.ratio >= CAPTURE_MIN, capture
