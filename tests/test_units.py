"""The one units module: every surface's presentation is a parameter, never a copy."""

from __future__ import annotations

from typing import Any

import pytest

from engine import units


@pytest.mark.parametrize(
    ("text", "decimals", "amount"),
    [("12.5", 6, 12_500_000), ("0", 18, 0), ("-3", 2, -300), ("1e2", 0, 100)],
)
def test_decimal_text_becomes_exact_base_units(text: str, decimals: int, amount: int) -> None:
    assert units.to_base_units(text, decimals) == amount


@pytest.mark.parametrize("text", ["0.0000001", "abc", "NaN", "inf"])
def test_text_that_is_not_a_whole_number_of_base_units_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        units.to_base_units(text, 6)


def test_base_units_round_trip_through_text_for_huge_amounts() -> None:
    amount = 10**40 + 7
    assert units.to_base_units(units.to_text(amount, 18), 18) == amount


@pytest.mark.parametrize(
    ("amount", "kwargs", "text"),
    [
        (12_500_000, {}, "12.5"),
        (12_000_000, {}, "12"),
        (12_000_000, {"keep_point": True}, "12.0"),
        (1_234_500_000, {"separators": True}, "1,234.5"),
        (1_500_000, {"places": 2, "plus": True}, "+1.50"),
        (-1_500_000, {"places": 2, "plus": True}, "-1.50"),
        (5, {"places": 2, "plus": True}, "0.00"),
        (None, {}, units.EM_DASH),
        (None, {"missing": units.EN_DASH}, units.EN_DASH),
    ],
)
def test_base_units_become_text_with_each_surfaces_options(
    amount: int | None, kwargs: dict[str, Any], text: str
) -> None:
    assert units.to_text(amount, 6, **kwargs) == text


def test_token_amounts_carry_their_symbol_and_the_exact_form_leads_with_base_units() -> None:
    usdc = {"symbol": "USDC", "decimals": 6}
    assert units.tokens(1_449_052_272, usdc, plus=True) == "+1449.052272 USDC"
    assert units.exact_and_tokens(30_934_600, usdc) == "30934600 (30.934600 USDC)"
    assert units.tokens("n/a", usdc) == "n/a"
    assert units.tokens(5, None) == "5"


@pytest.mark.parametrize(
    ("seconds", "tenths", "text"),
    [
        (42, False, "42s"),
        (42, True, "42.0s"),
        (425, False, "7m05s"),
        (11_520, True, "3h12m"),
        (187_200, False, "2d04h"),
        (-3, False, "0s"),
    ],
)
def test_durations_are_compact_and_one_function_serves_every_surface(
    seconds: float, tenths: bool, text: str
) -> None:
    assert units.duration(seconds, tenths=tenths) == text


# --- the presentation rule shared by the CLI and the console (issue 16, Deliver 4) -------

USDC = {"symbol": "USDC", "decimals": 6}
WETH = {"symbol": "WETH", "decimals": 18}


@pytest.mark.parametrize(
    ("amount", "unit", "text"),
    [
        (1_449_052_272, USDC, "1,449.05 USDC"),  # ≥ 100: cents
        (8_330_034, USDC, "8.33 USDC"),  # 4 significant digits, trailing zeros trimmed to 2
        (-8_207_779, USDC, "-8.208 USDC"),
        (51_308_701_107_695_000, WETH, "0.05131 WETH"),  # < 1: 4 significant digits
        (775_396_988_909_359_507, WETH, "0.7754 WETH"),
        (12, WETH, "0.000000000000000012 WETH"),  # never rounded to zero
        (0, USDC, "0.00 USDC"),
        (1_234_567_890_123_000_000_000_000, WETH, "1,234,567.89 WETH"),
    ],
)
def test_money_reads_in_token_units_with_sensible_precision_and_separators(
    amount: int, unit: dict[str, Any], text: str
) -> None:
    assert units.money(amount, unit) == text


def test_money_marks_gains_and_says_what_is_missing() -> None:
    assert units.money(8_330_034, USDC, plus=True) == "+8.33 USDC"
    assert units.money(None, USDC) == units.EM_DASH
    assert units.money(5, None) == "5"  # unknown unit: the raw value, never a guess
    assert units.human(8_330_034, 6) == "8.33"  # the bare number, for a column with a unit header


def test_a_column_header_carries_the_unit_the_cells_leave_out() -> None:
    assert units.header("profit", USDC) == "profit (USDC)"
    assert units.header("profit", None) == "profit"
