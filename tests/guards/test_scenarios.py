"""Each guard tripped on a real engine over the simulated market, configured through its
TOML the way an operator would: the trigger is published as a `guard_trigger` event and
stored in the ledger (read back through the socket), and the breaker's state shows on
`breaker` and `status`."""

from __future__ import annotations

import os
from typing import Any

import pytest

from engine.protocol import TOPIC_GUARD
from tests.conftest import EngineHandle, wait_until
from tests.guards.conftest import (
    QUIET_TRADE_RULES,
    GuardedEngine,
    guard_event,
    rpc,
    wait_for_trigger,
)

# rule -> ([guards], [sim]) that make the simulated market trip it on (almost) every block
OPPORTUNITY_SCENARIOS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "min_net_profit": ({"min_net_profit_quote": "1000000000"}, {}),
    "max_gas_price": ({"max_gas_price_gwei": 1e-9, "gas_headroom_pct": 1_000_000}, {}),
    "max_notional": ({"max_notional_quote": "0.000001"}, {}),
    "max_price_impact": ({"max_price_impact_bps": 0}, {}),
    "max_head_age": ({"max_head_age_s": 0.0}, {}),
    # the active provider stalls; when it catches up it is behind the backups
    "max_head_lag": ({"max_head_lag_blocks": 0}, {"provider_stall_probability": [0.5, 0, 0]}),
    "max_rpc_latency": ({"max_rpc_latency_ms": 0.001}, {}),
}

# Rivals front-run every order: trades revert and lose their gas from the first one.
LOSING = {"competitor_probability": 1.0}
TRADE_SCENARIOS: dict[str, dict[str, Any]] = {
    "max_failed_trades_per_hour": {"max_failed_trades_per_hour": 0},
    "min_success_rate": {"min_success_rate_pct": 100.0, "success_rate_min_trades": 1},
    "consecutive_failures": {"consecutive_failures_limit": 1},
    "max_hourly_loss": {"max_hourly_loss_quote": "0"},
    "max_daily_loss": {"max_daily_loss_quote": "0"},
}


def only(rule: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The scenario's thresholds, with every other trade rule off so `rule` is the one
    that opens the breaker."""
    return {**settings, "disabled": [r for r in QUIET_TRADE_RULES if r != rule]}


@pytest.mark.parametrize("rule", OPPORTUNITY_SCENARIOS)
def test_an_opportunity_rule_blocks_and_its_trigger_is_evented_and_stored(
    guarded_engine: GuardedEngine, rule: str
) -> None:
    guards, sim = OPPORTUNITY_SCENARIOS[rule]
    engine = guarded_engine(only("", guards), sim)
    stored = wait_for_trigger(engine, rule, "blocked")
    assert stored["opportunity_id"] and stored["reason"] and stored["threshold"]
    event = guard_event(engine, stored["id"])
    assert {k: event[k] for k in stored} == stored


@pytest.mark.parametrize("rule", TRADE_SCENARIOS)
def test_a_trade_rule_opens_the_breaker_and_its_trigger_is_evented_and_stored(
    guarded_engine: GuardedEngine, rule: str
) -> None:
    engine = guarded_engine(only(rule, TRADE_SCENARIOS[rule]), LOSING)
    stored = wait_for_trigger(engine, rule, "breaker_open")
    assert stored["trade_id"] and stored["observed"] and stored["threshold"]
    assert guard_event(engine, stored["id"])["action"] == "breaker_open"
    breaker = rpc(engine, "breaker")
    assert breaker["history"][-1]["guard"] == rule  # the first opening, whatever followed
    assert rpc(engine, "status")["breaker"]["state"] in ("open", "half_open")


def test_blocked_opportunities_are_never_sent(guarded_engine: GuardedEngine) -> None:
    engine = guarded_engine(only("", {"min_net_profit_quote": "1000000000"}))
    wait_for_trigger(engine, "min_net_profit", "blocked")
    assert wait_until(lambda: rpc(engine, "status")["blocks_seen"] >= 100)
    status = rpc(engine, "status")
    assert status["gate"]["sent"] == 0 and status["trades_booked"] == 0


def test_the_breaker_probes_then_closes_or_opens_again(guarded_engine: GuardedEngine) -> None:
    """CLOSED → OPEN → HALF_OPEN → CLOSED, and HALF_OPEN → OPEN, on the real market:
    one failure opens it, a short wait, one probe decides."""
    settings = {"breaker_wait_s": 0.2, "breaker_probe_trades": 1, "breaker_probe_timeout_s": 5.0}
    engine = guarded_engine(
        only("max_failed_trades_per_hour", {"max_failed_trades_per_hour": 0, **settings}),
        {"competitor_probability": 0.4},
    )
    wanted = {("closed", "open"), ("open", "half_open"), ("half_open", "closed")}
    wanted.add(("half_open", "open"))
    seen: set[tuple[str, str]] = set()

    def all_seen() -> bool:
        history = rpc(engine, "breaker")["history"]
        seen.update((t["previous"], t["state"]) for t in history)
        return wanted <= seen

    assert wait_until(all_seen, 60), f"transitions seen: {sorted(seen)}"


def test_the_operator_reset_closes_the_breaker_and_is_audited(
    guarded_engine: GuardedEngine,
) -> None:
    settings = {"consecutive_failures_limit": 1, "breaker_wait_s": 3600.0}
    engine = guarded_engine(only("consecutive_failures", settings), LOSING)
    wait_for_trigger(engine, "consecutive_failures", "breaker_open")
    result = engine.cli("breaker", "reset", "--reason", "false positive: rival burst", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"state": "closed"' in result.stdout
    entries = rpc(engine, "audit", {"limit": 50})["entries"]
    (entry,) = [e for e in entries if e["action"] == "breaker.reset"]
    assert entry["reason"] == "false positive: rival burst" and entry["outcome"] == "ok"
    assert entry["uid"] == os.getuid() and entry["params"]["previous"] == "open"
    reset = wait_for_trigger(engine, "operator", "breaker_reset")
    assert reset["reason"] == "false positive: rival burst"


def test_the_breaker_and_the_kill_switch_do_not_touch_each_other(
    guarded_engine: GuardedEngine,
) -> None:
    settings = {"consecutive_failures_limit": 1, "breaker_wait_s": 3600.0}
    engine = guarded_engine(only("consecutive_failures", settings), LOSING)
    wait_for_trigger(engine, "consecutive_failures", "breaker_open")
    rpc(engine, "kill", {"reason": "guards test: halt with the breaker open"})
    status = rpc(engine, "status")
    assert (status["state"], status["breaker"]["state"]) == ("halted", "open")
    rpc(engine, "breaker.reset", {"reason": "guards test: reset while halted"})
    status = rpc(engine, "status")
    assert (status["state"], status["breaker"]["state"]) == ("halted", "closed")
    assert status["halt"] is not None  # the latch is still persisted: only resume clears it


def test_resetting_a_closed_breaker_is_refused(quiet_engine: EngineHandle) -> None:
    result = quiet_engine.cli("breaker", "reset", "--reason", "nothing tripped", "--json")
    assert result.returncode == 1 and '"invalid_state"' in result.stdout


def test_a_price_impact_limit_below_every_optimum_resizes_opportunities_into_trades(
    guarded_engine: GuardedEngine,
) -> None:
    """A limit under the price impact of every optimum the simulated market offers used to
    block them all. Now each is clamped to the limit while it still pays, and trades; the
    guards re-read the limit on exactly what is sent, so no trade's opportunity is blocked
    by it. Every trigger is kept (repeat window 0) so each trade can be matched."""
    limit = 5
    settings = {"max_price_impact_bps": limit, "repeat_window_s": 0.0}
    engine = guarded_engine(only("", settings))
    resized = wait_for_trigger(engine, "max_price_impact", "resized")
    assert wait_until(lambda: rpc(engine, "status")["trades_booked"] >= 3, 60)
    trades = rpc(engine, "trades", {"limit": 10_000})["trades"]
    recent = rpc(engine, "guards", {"limit": 10_000})["recent"]
    blocked = {t["opportunity_id"] for t in recent if t["action"] == "blocked"}
    events = rpc(engine, "events.recent", {"topics": [TOPIC_GUARD], "limit": 100_000})["events"]
    sizes = {
        e["data"]["opportunity_id"]: (e["data"]["original_size"], e["data"]["new_size"])
        for e in events
        if e["data"]["action"] == "resized"
    }
    assert int(resized["threshold"]) == limit
    assert rpc(engine, "guards")["resized"] >= len(trades)
    shown = engine.cli("guards", "--limit", "500")
    assert shown.returncode == 0 and "resized" in shown.stdout, shown.stdout + shown.stderr
    for trade in trades:
        assert trade["opportunity_id"] not in blocked
        original, new = sizes[trade["opportunity_id"]]
        assert trade["amount_in"] == new < original
        assert trade["status"] == "success" and trade["profit_quote"] > 0
