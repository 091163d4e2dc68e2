"""Which nonces start-up recovery compares with the ledger (engine/execution/recovery.py):
from the last start's mark, never more than GAP_WINDOW below the last booked nonce."""

from __future__ import annotations

from engine.execution.recovery import GAP_WINDOW, nonce_window


def test_a_first_run_with_nothing_booked_checks_nothing() -> None:
    assert nonce_window(None, None) is None


def test_without_a_mark_the_check_starts_after_the_last_booked_nonce_at_its_block() -> None:
    assert nonce_window(None, (7, 120)) == (8, 120)


def test_with_a_mark_the_check_starts_at_its_nonce_after_its_block() -> None:
    assert nonce_window({"nonce": 10, "block": 200}, None) == (10, 201)
    assert nonce_window({"nonce": 10, "block": 200}, (12, 230)) == (10, 201)


def test_a_long_session_is_checked_only_a_window_below_the_last_booked_nonce() -> None:
    first, block = nonce_window({"nonce": 10, "block": 200}, (5_000, 9_000))  # type: ignore[misc]
    assert (first, block) == (5_001 - GAP_WINDOW, 201)
