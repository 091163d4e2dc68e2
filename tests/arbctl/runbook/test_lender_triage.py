"""Triage names a flash-loan lender the engine failed over for want of liquidity.

The engine's answers are built from the real parts that make them: real liquidity
sources whose Vault came up short (`LiquiditySources.short`, as the sizing seat calls it),
their health rows after the RPC endpoints' in `status.providers` (as the pipeline's
status lists them) and their selector's view as the `providers` method answers it. The
`Answers` class below only hands those dicts to triage: a test double of the socket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from arbctl.runbook import triage
from arbctl.runbook.sources import Answer
from engine.lenders.sources import Capacity, LiquiditySources, Source
from engine.providers.health import Health
from engine.providers.selector import Selector

VAULT = "0x" + "b1" * 20
AAVE = "0x" + "a3" * 20


class Answers:
    """A socket double: each method's answer as the engine would serialise it."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self._answers = answers
        self.reachable = True

    def ask(
        self, method: str, params: dict[str, Any] | None = None, timeout: float | None = None
    ) -> Answer:
        return Answer(method, self._answers.get(method, {}))


def engine_with_a_short_vault(failovers: int) -> Answers:
    lenders = LiquiditySources(
        [
            Source("vault", f"balancer-v2://{VAULT}", 0, 0),
            Source("aave", f"aave-v3://{AAVE}?fee_bps=9", 1, 9),
        ]
    )
    for _ in range(failovers):  # the operator vouches for it, it comes back, short again
        lenders.selector.mark("vault", True, "operator: false positive")  # mark-online
        lenders.selector.choose("vault", "back to the preferred lender")
        lenders.short(Capacity("vault", "lender_liquidity", 0), 10**9, "0xusdc")
    rpc = Selector([Health("alpha-rpc", 0)], lambda: 0.0, 60.0, 3600.0)
    rows = [s.to_dict() for s in [*rpc.statuses(0), *lenders.health()]]
    return Answers(
        {
            "status": {"providers": rows, "head_age_s": 1.0},
            "providers": {
                "rpc": rpc.selection(0).to_dict(),
                "liquidity": lenders.selector.selection(0).to_dict(),
            },
        }
    )


def test_a_drained_vault_is_a_provider_failure_with_its_reason_and_the_failover(
    tmp_path: Path,
) -> None:
    finding = triage.provider_down(engine_with_a_short_vault(1), tmp_path)  # type: ignore[arg-type]

    assert finding is not None
    assert finding.scenario == "Provider Failure" and finding.severity == "P2"
    assert "lender vault" in finding.title and "(a backup)" in finding.title
    evidence = "\n".join(finding.evidence)
    assert "lender vault [backup (priority 0)] down" in evidence
    assert "liquidity short" in evidence
    assert "1 lender failovers in the last hour" in evidence
    assert "lender failover mode auto: aave active" in evidence


def test_a_lender_failing_over_again_and_again_is_said_to_fail_over_frequently(
    tmp_path: Path,
) -> None:
    finding = triage.provider_down(engine_with_a_short_vault(3), tmp_path)  # type: ignore[arg-type]

    assert finding is not None
    evidence = "\n".join(finding.evidence)
    assert "lender failovers in the last hour (failover activating frequently)" in evidence
