"""Flash-liquidity sources: judged by the flash-borrow outcome of their trades, failed over
by the shared selector, and refusing what the active lender's fee would make unprofitable.
Plain values and a clock the test moves."""

from __future__ import annotations

from engine.ledger.records import TradeRecord
from engine.lenders.sources import LiquiditySources, Source, lender_failed
from engine.providers.selector import ProviderStatus
from engine.strategy.opportunity import Opportunity


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def opportunity(opportunity_id: str, net_profit: int = 10**15) -> Opportunity:
    return Opportunity(
        id=opportunity_id,
        block_number=7,
        route=(),
        token="0xtoken",
        amount_in=10**18,
        amount_out=10**18 + net_profit,
        gross_profit=net_profit,
        gas_units=0,
        gas_price=0,
        gas_cost=0,
        flash_fee=0,
        net_profit=net_profit,
        net_profit_quote=net_profit,
        detected_at=0.0,
    )


def lend(sources: LiquiditySources, opportunity_id: str) -> None:
    assert sources.review(opportunity(opportunity_id)) is None


def trade(opportunity_id: str, status: str, reason: str = "", block: int = 7) -> TradeRecord:
    return TradeRecord(
        id=f"t-{opportunity_id}",
        opportunity_id=opportunity_id,
        venue="sim",
        route=[],
        token="0xtoken",
        token_symbol="WETH",
        amount_in=10**18,
        amount_out=0,
        status=status,  # type: ignore[arg-type]
        revert_reason=reason,
        gas_used=0,
        gas_price=0,
        gas_cost_wei=0,
        flash_fee=0,
        profit_token=0,
        profit_native=0,
        profit_quote=0,
        expected_profit=0,
        block_number=block,
        tx_hash="0x",
        detected_at=0.0,
        submitted_at=0.0,
        mined_at=0.0,
    )


def test_lenders_are_judged_by_the_flash_borrow_outcome_of_their_trades() -> None:
    clock = Clock()
    sources = LiquiditySources(
        [Source("balancer", "balancer://vault", 0, 0), Source("aave", "aave-v3://p", 1, 5)], clock
    )
    health = sources.selector.health("balancer")
    for i, (status, reason) in enumerate(
        [("success", ""), ("reverted", "ArbExecutor: profit below minimum")]
    ):
        lend(sources, f"o{i}")
        sources.observe(trade(f"o{i}", status, reason))
    assert (health.requests, health.consecutive_failures) == (2, 0)  # both loans were made
    lend(sources, "o9")
    sources.observe(trade("o9", "failed", "cancelled by kill switch", block=0))
    assert health.requests == 2  # never mined: nothing borrowed, nothing learnt
    for i in range(3):
        lend(sources, f"x{i}")
        sources.observe(trade(f"x{i}", "reverted", "UniswapV2: INSUFFICIENT_LIQUIDITY"))
    assert sources.active.name == "aave" and sources.active.fee_bps == 5
    refusal = sources.review(opportunity("thin", net_profit=10**14))  # 5 bps = 5e14 > profit
    assert refusal is not None and "aave charges 5 bps" in refusal
    assert lender_failed("Flash loan: borrow failed") and not lender_failed("UniswapV2: K")


def test_lender_health_is_typed_with_its_fee_and_a_redacted_url() -> None:
    sources = LiquiditySources(
        [Source("aave", "aave-v3://user:hunter2@pool?fee_bps=5", 0, 5)], Clock()
    )
    (aave,) = sources.health()
    assert isinstance(aave, ProviderStatus) and aave.kind == "liquidity" and aave.active
    assert aave.fee_bps == 5 and aave.url is not None and "hunter2" not in aave.url
    row = aave.to_dict()
    assert list(row)[-3:] == ["breaker", "fee_bps", "url"] and "stalled" not in row


def test_a_dry_run_the_lender_made_revert_fails_over_to_the_next_lender_at_once() -> None:
    sources = LiquiditySources(
        [Source("vault", "balancer-v2://x", 0, 0), Source("aave", "aave-v3://y", 1, 9)], Clock()
    )
    lend(sources, "o1")
    failed = sources.observe_refused("o1", "BAL#528")
    assert failed is not None and "vault" in failed
    assert sources.active.name == "aave"


def test_a_dry_run_that_reverts_for_the_route_leaves_the_lender_alone() -> None:
    sources = LiquiditySources(
        [Source("vault", "balancer-v2://x", 0, 0), Source("aave", "aave-v3://y", 1, 9)], Clock()
    )
    lend(sources, "o1")
    assert sources.observe_refused("o1", "ArbExecutor: profit below minimum") is None
    assert sources.active.name == "vault"


def test_aave_error_codes_and_balancer_errors_name_the_lender() -> None:
    for reason in ("29", "91", "BAL#528", "ArbExecutor: lender not allowed"):
        assert lender_failed(reason), reason
    assert not lender_failed("UniswapV2: K")
