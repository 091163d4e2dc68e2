"""The fleet view's model: one row per engine, whichever way it was seen.

Rows come from Redis presence (with the engine's heartbeat record) and from sockets
(local ones, or remote ones forwarded over SSH). These tests feed the shapes the engine
really writes and answers (engine/fleet/mirror.py, `status`, `pnl`, `events.recent`)
and check what one row then says; the same engine seen both ways is one row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from screens.fleet.model import (
    EngineRow,
    SocketAnswers,
    merge_rows,
    row_from_presence,
    row_from_socket,
)
from screens.widgets.fleet_table import row_cells

NOW = 1_800_000_000.0


def _presence(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": "ns",
        "pid": 4242,
        "host": "box-a",
        "state": "running",
        "reason": "",
        "socket": f"/run/{name}/engine.sock",
        "state_dir": f"/var/lib/{name}",
        "started_at": NOW - 600,
        "ts": NOW - 0.4,
        "heartbeat_age_s": 0.4,
        **extra,
    }


def _heartbeat(**extra: Any) -> dict[str, Any]:
    return {
        "loop_latency_ms": 0.4,
        "state": "running",
        "venue": "sim",
        "chain": "sim-7",
        "block": 1234,
        "breaker": {"state": "closed", "reason": "", "retry_at": None},
        "alerts": {"active": 0, "worst": None},
        "ts": NOW - 0.3,
        **extra,
    }


def _answers(**extra: Any) -> SocketAnswers:
    base: dict[str, Any] = {
        "status": {
            "state": "running",
            "reason": "",
            "pid": 99,
            "socket": "/run/c/engine.sock",
            "state_dir": "/var/lib/c",
            "instance": "abc123",
            "chain": "sim-23",
            "breaker": {"state": "closed"},
        },
        "pnl": {
            "net_profit_quote": 1_500_000_000_000_000_000,
            "units": {"quote": {"symbol": "DAI", "decimals": 18}},
        },
        "heartbeat": {"topic": "heartbeat", "ts": NOW - 1.2, "data": _heartbeat(chain="sim-23")},
        "identity": ("ns", "c"),
        "problem": "",
    }
    base.update(extra)
    return SocketAnswers(**base)


def test_a_presence_record_and_its_heartbeat_make_one_row_with_the_worst_alert() -> None:
    heartbeat = _heartbeat(
        breaker={"state": "open", "reason": "3 reverts", "retry_at": NOW + 30},
        alerts={"active": 2, "worst": "P1"},
    )
    row = row_from_presence(_presence("a"), heartbeat, here="box-a")

    assert (row.name, row.chain, row.state, row.breaker) == ("a", "sim-7", "running", "open")
    assert (row.alerts_active, row.worst_alert) == (2, "P1")
    assert row.heartbeat_ts == NOW - 0.3
    assert row.dial == Path("/run/a/engine.sock")  # on this host: the console can drill in


def test_an_engine_on_another_host_is_listed_but_not_dialled_through_its_own_path() -> None:
    row = row_from_presence(_presence("far", host="box-b"), _heartbeat(), here="box-a")
    assert row.dial is None and row.host == "box-b"


def test_the_same_engine_seen_in_redis_and_on_a_forwarded_socket_is_one_row() -> None:
    from_redis = row_from_presence(_presence("c", host="box-b"), _heartbeat(), here="box-a")
    forwarded = row_from_socket(Path("/tmp/fwd/c.sock"), _answers())

    rows = merge_rows([from_redis], [forwarded])

    assert len(rows) == 1
    row = rows[0]
    assert row.dial == Path("/tmp/fwd/c.sock") and row.host == "box-b"
    assert (row.chain, row.quote_symbol, row.pnl_today) == ("sim-23", "DAI", 1_500 * 10**15)
    assert row.heartbeat_ts == NOW - 0.3  # the fresher of Redis's and the socket's
    assert row.sources == ("redis", "socket")


def test_an_engine_only_on_a_socket_is_keyed_by_its_socket() -> None:
    lone = row_from_socket(Path("/tmp/x/engine.sock"), _answers(identity=None))
    rows = merge_rows([], [lone])
    assert [r.key for r in rows] == ["socket:/tmp/x/engine.sock"]
    assert rows[0].label == "/tmp/x/engine.sock"


def test_a_socket_that_does_not_answer_keeps_its_row_and_says_why() -> None:
    silent = row_from_socket(
        Path("/tmp/x/engine.sock"),
        SocketAnswers(None, None, None, None, "no answer in time (engine busy, frozen or stopped)"),
    )
    assert silent.answering is False and "frozen" in silent.problem
    cells = row_cells(silent, NOW)
    assert "NOT ANSWERING" in cells["state"]


def test_each_engine_shows_pnl_in_its_own_quote_token() -> None:
    usdc = row_from_socket(
        Path("/tmp/a.sock"),
        _answers(
            pnl={
                "net_profit_quote": -1_250_000,
                "units": {"quote": {"symbol": "USDC", "decimals": 6}},
            },
            identity=("ns", "a"),
        ),
    )
    dai = row_from_socket(Path("/tmp/c.sock"), _answers())
    assert row_cells(usdc, NOW)["pnl"] == "-1.25 USDC"
    assert row_cells(dai, NOW)["pnl"] == "+1.50 DAI"


def test_the_row_cells_say_chain_breaker_alert_and_heartbeat_age() -> None:
    heartbeat = _heartbeat(
        breaker={"state": "open", "reason": "3 reverts"}, alerts={"active": 2, "worst": "P1"}
    )
    cells = row_cells(row_from_presence(_presence("a"), heartbeat, here="box-a"), NOW)
    assert cells["chain"] == "sim-7"
    assert cells["breaker"] == "OPEN"
    assert cells["alert"] == "P1 ×2"
    assert cells["heartbeat"] == "0.3s"
    quiet = row_cells(row_from_presence(_presence("b"), _heartbeat(), here="box-a"), NOW)
    assert quiet["alert"] == "none" and quiet["breaker"] == "closed"


def test_garbage_in_redis_or_answers_never_breaks_a_row() -> None:
    junk = {"name": 5, "state": None, "ts": "yesterday", "host": ["x"]}
    row = row_from_presence(junk, {"alerts": "many", "breaker": 3, "chain": {}}, here="h")
    assert isinstance(row, EngineRow)
    cells = row_cells(row, NOW)
    assert cells["heartbeat"] == "–" and cells["alert"] == "–"  # unknown is not "none"
    odd = row_from_socket(Path("/tmp/o.sock"), SocketAnswers([], "x", 3, ("ns", "o"), ""))
    assert row_cells(odd, NOW)["pnl"] == "–"


def test_an_engine_whose_heartbeat_stopped_does_not_look_running() -> None:
    old = _heartbeat(ts=NOW - 42.0)
    row = row_from_presence(_presence("a", ts=NOW - 42.0), old, here="box-b")
    cells = row_cells(row, NOW)
    assert cells["state"] == "NO HEARTBEAT" and cells["heartbeat"] == "42.0s"
