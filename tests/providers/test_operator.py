"""The operator's provider commands against a real engine on the simulated market.

`arbctl providers` shows the active provider and why; `failover` pins and un-pins;
`providers mark-offline/-online` take one out and back. Every override is audited with
the caller's uid and reason and published on the `provider` topic.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest

from tests.arbctl.test_imports import ALLOWED_ENGINE, HEAVY, _modules_after
from tests.conftest import EngineHandle, wait_until
from tests.guards.conftest import rpc, wait_for_trigger

LIQUIDITY = """
[[providers]]
name = "cheap"
url = "pair://first-hop"
priority = 0
kind = "liquidity"

[[providers]]
name = "dear"
url = "aave-v3://pool?fee_bps=9000"
priority = 1
kind = "liquidity"
"""


def cli_json(engine: EngineHandle, *args: str, code: int = 0) -> dict[str, Any]:
    done = engine.cli(*args, "--json")
    assert done.returncode == code, done.stdout + done.stderr
    return json.loads(done.stdout)


def rpc_view(engine: EngineHandle) -> dict[str, Any]:
    return rpc(engine, "providers")["rpc"]


def audited(engine: EngineHandle, action: str) -> list[dict[str, Any]]:
    return [e for e in rpc(engine, "audit", {"limit": 200})["entries"] if e["action"] == action]


def provider_events(engine: EngineHandle) -> list[dict[str, Any]]:
    events = rpc(engine, "events.recent", {"topics": ["provider"], "limit": 1000})["events"]
    return [e["data"] for e in events]


def test_providers_shows_every_endpoint_the_active_one_and_why(engine: EngineHandle) -> None:
    data = cli_json(engine, "providers")
    view = data["rpc"]
    assert view["mode"] == "auto" and view["pinned"] is None
    assert view["active"] == "alpha-rpc" and view["reason"]
    names = [p["name"] for p in view["providers"]]
    assert names == ["alpha-rpc", "bravo-rpc", "charlie-rpc"]
    for p in view["providers"]:
        assert {"status", "usable", "breaker", "head_lag", "latency_ms_ewma", "active"} <= set(p)
    assert data["liquidity"] is None
    human = engine.cli("providers")
    assert human.returncode == 0 and "alpha-rpc" in human.stdout and "▶" in human.stdout


def test_a_pin_and_automatic_are_audited_and_evented(engine: EngineHandle) -> None:
    pinned = cli_json(engine, "failover", "bravo-rpc", "--reason", "alpha is flaky today")
    assert (pinned["active"], pinned["pinned_provider"], pinned["previous"]) == (
        "bravo-rpc",
        "bravo-rpc",
        "alpha-rpc",
    )
    row = next(p for p in rpc_view(engine)["providers"] if p["name"] == "bravo-rpc")
    assert row["pinned"] and row["active"]
    status = rpc(engine, "status")  # the heartbeat's and the console's rows say it too
    assert next(p for p in status["providers"] if p["pinned"])["name"] == "bravo-rpc"

    auto = cli_json(engine, "failover", "--auto", "--reason", "alpha is fine again")
    assert auto["mode"] == "auto" and auto["pinned_provider"] is None

    entries = audited(engine, "failover")
    assert [e["reason"] for e in entries] == ["alpha is fine again", "alpha is flaky today"]
    assert all(e["uid"] == os.getuid() for e in entries)
    assert entries[1]["params"]["name"] == "bravo-rpc"
    events = [d for d in provider_events(engine) if d.get("actor")]
    assert [(d["event"], d["active"]) for d in events][:1] == [("pinned", "bravo-rpc")]
    assert events[-1]["event"] == "automatic" and events[-1]["actor"]["uid"] == os.getuid()


def test_marking_the_active_provider_offline_fails_over_and_online_takes_it_back(
    engine: EngineHandle,
) -> None:
    offline = cli_json(
        engine, "providers", "mark-offline", "alpha-rpc", "--reason", "provider incident"
    )
    assert offline["active"] != "alpha-rpc" and "marked offline" in offline["reason"]
    alpha = next(p for p in offline["providers"] if p["name"] == "alpha-rpc")
    assert alpha["status"] == "offline" and not alpha["usable"]

    online = cli_json(engine, "providers", "mark-online", "alpha-rpc", "--reason", "false alarm")
    alpha = next(p for p in online["providers"] if p["name"] == "alpha-rpc")
    assert alpha["status"] != "offline" and alpha["offline_reason"] == ""

    entries = audited(engine, "providers.mark")
    assert [(e["params"]["online"], e["reason"]) for e in entries] == [
        (True, "false alarm"),
        (False, "provider incident"),
    ]
    assert all(e["uid"] == os.getuid() for e in entries)
    marks = [d for d in provider_events(engine) if d["event"].startswith("marked_")]
    assert [d["event"] for d in marks] == ["marked_offline", "marked_online"]
    assert any(
        d["event"] == "failover" and d["previous"] == "alpha-rpc" for d in provider_events(engine)
    )


@pytest.mark.parametrize(
    ("args", "code", "error"),
    [
        (["failover", "nosuch-rpc", "--reason", "x"], 1, "not_found"),
        (["failover", "--reason", "neither"], 2, "NAME"),
        (["failover", "alpha-rpc"], 2, "--reason"),
        (["providers", "mark-online", "nosuch", "--reason", "x"], 1, "not_found"),
    ],
)
def test_bad_requests_are_refused_with_the_right_exit_code(
    engine: EngineHandle, args: list[str], code: int, error: str
) -> None:
    done = engine.cli(*args, "--json")
    assert done.returncode == code and error in done.stdout


def test_the_pinned_and_the_last_provider_cannot_be_marked_offline(engine: EngineHandle) -> None:
    cli_json(engine, "failover", "bravo-rpc", "--reason", "pin")
    refused = cli_json(engine, "providers", "mark-offline", "bravo-rpc", "--reason", "x", code=1)
    assert "pinned" in refused["error"]["message"]
    cli_json(engine, "failover", "--auto", "--reason", "unpin")
    for name in ("alpha-rpc", "bravo-rpc"):
        cli_json(engine, "providers", "mark-offline", name, "--reason", "maintenance")
    last = cli_json(engine, "providers", "mark-offline", "charlie-rpc", "--reason", "x", code=1)
    assert "last provider" in last["error"]["message"]
    outcomes = [e["outcome"] for e in audited(engine, "providers.mark")]
    assert sum(o.startswith("refused") for o in outcomes) == 2  # refusals are audited too


def test_a_stalled_pin_pauses_trading_with_a_trigger_and_is_not_left(
    engine_factory: Callable[..., EngineHandle],
) -> None:
    engine = engine_factory("provider_stall_probability = [0.0, 0.0, 1.0]\n")
    cli_json(engine, "failover", "charlie-rpc", "--reason", "test: pin the stalling one")
    paused = wait_for_trigger(engine, "pinned_provider", "paused")
    assert "charlie-rpc" in paused["reason"]
    assert rpc_view(engine)["active"] == "charlie-rpc"
    cli_json(engine, "failover", "--auto", "--reason", "test: let the engine choose")
    wait_for_trigger(engine, "pinned_provider", "resumed")
    assert rpc_view(engine)["active"] != "charlie-rpc"


def test_liquidity_failover_changes_the_fee_trades_must_pay(
    engine_factory: Callable[..., EngineHandle],
) -> None:
    engine = engine_factory(LIQUIDITY)
    assert wait_until(lambda: rpc(engine, "status")["trades_booked"] > 0, 30)
    cheap = next(
        p for p in rpc(engine, "providers")["liquidity"]["providers"] if p["name"] == "cheap"
    )
    assert cheap["active"] and cheap["fee_bps"] == 0

    view = cli_json(engine, "providers", "mark-offline", "cheap", "--reason", "lender paused")
    assert view["kind"] == "liquidity" and view["active"] == "dear"
    # the status' providers (the console's providers view, triage, alerts) list the lenders
    listed = {p["name"]: p for p in rpc(engine, "status")["providers"]}
    assert listed["cheap"]["kind"] == "liquidity" and listed["cheap"]["status"] == "offline"
    assert listed["dear"]["active"] and listed["alpha-rpc"]["kind"] == "rpc"
    blocked = wait_for_trigger(engine, "flash_liquidity", "blocked")
    assert "dear charges 9000 bps" in blocked["reason"]

    cli_json(engine, "providers", "mark-online", "cheap", "--reason", "lender back")
    pinned = cli_json(engine, "failover", "dear", "--reason", "test: pin the dear lender")
    assert (pinned["kind"], pinned["mode"], pinned["active"]) == ("liquidity", "pinned", "dear")
    auto = cli_json(engine, "failover", "--auto", "--liquidity", "--reason", "test: automatic")
    assert (auto["kind"], auto["mode"]) == ("liquidity", "auto")
    assert rpc(engine, "providers")["rpc"]["mode"] == "auto"  # the endpoints untouched
    booked = rpc(engine, "status")["trades_booked"]
    assert wait_until(lambda: rpc(engine, "status")["trades_booked"] > booked, 30)
    sources = rpc(engine, "providers")["liquidity"]["providers"]
    assert next(p for p in sources if p["name"] == "cheap")["requests"] > 0  # credited


def test_rpc_check_stays_off_web3_and_the_engine() -> None:
    loaded = _modules_after([["rpc-check", "--url", "http://127.0.0.1:9", "--json"]])
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}
    engine = {m for m in loaded if m.split(".")[0] == "engine"}
    assert engine <= ALLOWED_ENGINE | {"engine.config"} | PROVIDERS


PROVIDERS = {"engine.providers", "engine.providers.health", "engine.providers.selector"}
