"""The console's model and formatting, without a terminal or an engine."""

from __future__ import annotations

import pytest

from screens import formats
from screens.connection import EngineLink
from screens.state import MAX_TRADES, ConsoleModel

NOW = 1_800_000_000.0


def _model() -> ConsoleModel:
    return ConsoleModel(clock=lambda: NOW)


def _trade(n: int, **extra: object) -> dict:
    return {"id": f"t{n}", "status": "success", "mined_at": NOW - 1000 + n, **extra}


@pytest.mark.parametrize(
    ("amount", "decimals", "places", "text"),
    [
        (642_517_311, 6, 2, "642.52"),
        (-1_234_567, 6, None, "-1.234567"),
        (5, 6, 2, "0.00"),
        (-5, 6, 2, "0.00"),
        (10**30 + 1, 18, None, "1,000,000,000,000.000000000000000001"),
        (1_999_999, 6, 2, "2.00"),
        (0, 6, None, "0.0"),
    ],
)
def test_money_is_formatted_exactly_from_base_units(
    amount: int, decimals: int, places: int | None, text: str
) -> None:
    assert formats.units(amount, decimals, places) == text


def test_gains_carry_a_plus_sign() -> None:
    assert formats.signed_units(1_500_000, 6, 2) == "+1.50"
    assert formats.signed_units(-1_500_000, 6, 2) == "-1.50"


def test_trades_are_newest_first_and_deduplicated() -> None:
    model = _model()
    model.apply_trades([_trade(1), _trade(3), _trade(2)])
    model.apply_event({"topic": "trade", "seq": 9, "data": _trade(3)})
    assert [t["id"] for t in model.newest_trades(10)] == ["t3", "t2", "t1"]


def test_trades_held_are_bounded() -> None:
    model = _model()
    for n in range(5 * MAX_TRADES):
        model.apply_event({"topic": "trade", "seq": n, "data": _trade(n)})
    assert len(model.trades) <= 2 * MAX_TRADES
    assert model.newest_trades(1)[0]["id"] == f"t{5 * MAX_TRADES - 1}"


def test_a_trade_event_changes_only_the_trades_panel() -> None:
    model = _model()
    before = dict(model.versions)
    model.apply_event({"topic": "trade", "seq": 1, "data": _trade(1)})
    changed = {p for p in model.versions if model.versions[p] != before[p]}
    assert changed == {"trades"}


def test_malformed_and_unknown_events_are_ignored() -> None:
    model = _model()
    for event in (
        {"topic": "bench", "seq": 1, "data": {"i": 1}},
        {"topic": "trade", "seq": 2, "data": "not a dict"},
        {"topic": "heartbeat", "seq": 3, "data": {"resources": "bad", "providers": 7}},
        {"seq": 4},
    ):
        model.apply_event(event)
    assert model.last_seq == 4 and model.trades == {}


def test_state_events_move_the_header_state() -> None:
    model = _model()
    model.apply_event(
        {"topic": "state", "seq": 1, "ts": NOW, "data": {"state": "halted", "reason": "kill"}}
    )
    assert (model.state, model.engine["reason"]) == ("halted", "kill")


def test_fresh_audit_entries_become_notices_old_ones_do_not() -> None:
    model = _model()
    entry = {"uid": 1000, "client": "arbctl-cli", "action": "pause", "reason": "gas"}
    model.apply_event({"topic": "audit", "seq": 1, "data": {**entry, "ts": NOW - 3600}})
    assert not model.notices
    model.apply_event({"topic": "audit", "seq": 2, "data": {**entry, "ts": NOW}})
    assert [n.text for n in model.notices] == ["pause by uid 1000 (arbctl-cli): gas"]


def test_head_age_grows_with_the_clock() -> None:
    now = [NOW]
    model = ConsoleModel(clock=lambda: now[0])
    model.apply_event({"topic": "block", "seq": 1, "data": {"number": 7, "timestamp": NOW}})
    now[0] += 12.5
    assert model.head_age_s() == pytest.approx(12.5)


def test_the_stream_skips_events_it_already_saw() -> None:
    link = EngineLink("/nonexistent")
    link.last_seq = 10
    assert link._is_duplicate({"seq": 10})
    assert not link._is_duplicate({"seq": 11})
    assert link.last_seq == 11
