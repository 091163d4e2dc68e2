"""Exact Uniswap V2 math: every expected number is worked out by hand in the comment above it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.market.amm import (
    UniswapV2Error,
    get_amount_in,
    get_amount_out,
    get_amounts_out,
    k_check,
)

MILLION = 10**6


def test_amount_out_truncates_like_the_library() -> None:
    # in_with_fee = 1000 * 9970 = 9_970_000
    # numerator   = 9_970_000 * 1_000_000 = 9_970_000_000_000
    # denominator = 1_000_000 * 10_000 + 9_970_000 = 10_009_970_000
    # 10_009_970_000 * 996 = 9_969_930_120_000 <= numerator < ... * 997 -> 996
    assert get_amount_out(1000, MILLION, MILLION) == 996


def test_amount_out_with_tiny_reserves_can_round_to_zero() -> None:
    # 1 * 9970 * 1 // (1 * 10_000 + 9970) = 9970 // 19_970 = 0
    assert get_amount_out(1, 1, 1) == 0
    # 2 * 9970 = 19_940; 19_940 * 5 = 99_700; 3 * 10_000 + 19_940 = 49_940; 99_700 // 49_940 = 1
    assert get_amount_out(2, 3, 5) == 1


def test_amount_out_for_six_decimal_input_token() -> None:
    # 1,000 USDC (10**9 units) into 2,000,000 USDC (2*10**12) / 1,000 WETH (10**21):
    # in_with_fee = 10**9 * 9970 = 9.97 * 10**12
    # numerator   = 9.97 * 10**12 * 10**21 = 9_970_000_000_000 * 10**21
    # denominator = 2 * 10**12 * 10_000 + 9.97 * 10**12 = 20_009_970_000_000_000
    # quotient    = 498_251_621_566_649_025.5...  -> 0.498 WETH (mid price would give 0.5)
    assert get_amount_out(10**9, 2 * 10**12, 10**21) == 498_251_621_566_649_025


def test_amount_out_beyond_112_bits_stays_exact() -> None:
    # reserves R = 2**111, input 4R = 2**113 (beyond uint112):
    # out = 4R * 9970 * R // (R * 10_000 + 4R * 9970) = R * 39_880 // 49_880 = R * 997 // 1247
    r = 2**111
    assert get_amount_out(4 * r, r, r) == r * 997 // 1247
    # with no fee: 4R * R / (R + 4R) = 4R / 5 = 2**113 / 5, floored
    assert get_amount_out(4 * r, r, r, fee_bps=0) == 2**113 // 5


def test_amount_out_in_a_25_bps_pool_pays_more_than_in_a_30_bps_pool() -> None:
    # 30 bps: 100_000 * 9970 = 997_000_000; 997_000_000 * 10**6 // 10_997_000_000 = 90_661 (.09)
    assert get_amount_out(100_000, MILLION, MILLION, fee_bps=30) == 90_661
    # 25 bps: 100_000 * 9975 = 997_500_000; 997_500_000 * 10**6 // 10_997_500_000 = 90_702 (.43)
    assert get_amount_out(100_000, MILLION, MILLION, fee_bps=25) == 90_702


def test_amount_in_rounds_up_with_the_plus_one() -> None:
    # numerator   = 1_000_000 * 996 * 10_000 = 9_960_000_000_000
    # denominator = (1_000_000 - 996) * 9970 = 999_004 * 9970 = 9_960_069_880
    # 9_960_000_000_000 // 9_960_069_880 = 999, + 1 = 1000 (and 1000 in gives 996 out above)
    assert get_amount_in(996, MILLION, MILLION) == 1000


def test_amount_in_adds_one_even_when_the_division_is_exact() -> None:
    # numerator   = 997 * 1000 * 10_000 = 9_970_000_000
    # denominator = (2000 - 1000) * 9970 = 9_970_000   -> exactly 1000, + 1 = 1001
    assert get_amount_in(1000, 997, 2000) == 1001
    # although 1000 in already yields 1000 out: 9_970_000 * 2000 // (9_970_000 + 9_970_000)
    assert get_amount_out(1000, 997, 2000) == 1000


def test_amount_in_in_a_25_bps_pool() -> None:
    # numerator   = 1_000_000 * 996 * 10_000 = 9_960_000_000_000
    # denominator = 999_004 * 9975 = 9_965_064_900
    # 9_960_000_000_000 // 9_965_064_900 = 999 (.49), + 1 = 1000
    assert get_amount_in(996, MILLION, MILLION, fee_bps=25) == 1000


def test_zero_input_is_rejected_with_the_library_message() -> None:
    with pytest.raises(UniswapV2Error, match="UniswapV2Library: INSUFFICIENT_INPUT_AMOUNT"):
        get_amount_out(0, MILLION, MILLION)


def test_empty_reserve_is_rejected_with_the_library_message() -> None:
    with pytest.raises(UniswapV2Error, match="UniswapV2Library: INSUFFICIENT_LIQUIDITY"):
        get_amount_out(1000, 0, MILLION)
    with pytest.raises(UniswapV2Error, match="UniswapV2Library: INSUFFICIENT_LIQUIDITY"):
        get_amount_in(1000, MILLION, 0)


def test_zero_output_request_is_rejected_with_the_library_message() -> None:
    with pytest.raises(UniswapV2Error, match="UniswapV2Library: INSUFFICIENT_OUTPUT_AMOUNT"):
        get_amount_in(0, MILLION, MILLION)


def test_asking_for_the_whole_reserve_is_insufficient_liquidity() -> None:
    with pytest.raises(UniswapV2Error, match="INSUFFICIENT_LIQUIDITY"):
        get_amount_in(MILLION, MILLION, MILLION)


def test_amounts_out_chains_each_hop_from_the_previous_output() -> None:
    # hop 1: 1000 -> 996 (first test); hop 2 (25 bps): 996 * 9975 = 9_935_100;
    # 9_935_100 * 2_000_000 // (1_000_000 * 10_000 + 9_935_100)
    #   = 19_870_200_000_000 // 10_009_935_100 = 1985 (.04)
    route = [(MILLION, MILLION, 30), (MILLION, 2 * MILLION, 25)]
    assert get_amounts_out(1000, route) == [1000, 996, 1985]


def test_k_check_accepts_the_exact_amount_out() -> None:
    # 1000 token0 in, 996 token1 out of (10**6, 10**6): balances (1_001_000, 999_004)
    # (1_001_000 * 10_000 - 1000 * 30) * (999_004 * 10_000) = 10_009_970_000 * 9_990_040_000
    #   = 100_000_000_698_800_000_000 >= 10**12 * 10**8 = 100_000_000_000_000_000_000
    assert k_check(1_001_000, 999_004, 1000, 0, MILLION, MILLION)


def test_k_check_rejects_one_unit_more_than_amount_out() -> None:
    # 997 out: 10_009_970_000 * 9_990_030_000 = 99_999_900_599_100_000_000 < 10**20
    assert not k_check(1_001_000, 999_003, 1000, 0, MILLION, MILLION)


def test_k_check_in_a_25_bps_pool_rejects_what_30_bps_would_refund() -> None:
    # 25 bps pays 90_702 for 100_000 (above); one more unit breaks K
    assert k_check(1_100_000, MILLION - 90_702, 100_000, 0, MILLION, MILLION, fee_bps=25)
    assert not k_check(1_100_000, MILLION - 90_703, 100_000, 0, MILLION, MILLION, fee_bps=25)


def test_k_check_without_any_input_fails() -> None:
    assert not k_check(MILLION, MILLION, 0, 0, MILLION, MILLION)


reserves = st.integers(min_value=1, max_value=2**112 - 1)
fees = st.sampled_from([0, 5, 20, 25, 30, 100])


@settings(max_examples=300)
@given(
    amount_in=st.integers(min_value=1, max_value=2**112), r_in=reserves, r_out=reserves, fee=fees
)
def test_every_amount_out_passes_k_and_one_more_unit_fails(
    amount_in: int, r_in: int, r_out: int, fee: int
) -> None:
    out = get_amount_out(amount_in, r_in, r_out, fee)
    balance_in = r_in + amount_in
    assert k_check(balance_in, r_out - out, amount_in, 0, r_in, r_out, fee)
    if out + 1 <= r_out:
        assert not k_check(balance_in, r_out - out - 1, amount_in, 0, r_in, r_out, fee)


@settings(max_examples=300)
@given(
    balances=st.tuples(reserves, reserves),
    amounts_in=st.tuples(st.integers(0, 2**112), st.integers(0, 2**112)),
    pool_reserves=st.tuples(reserves, reserves),
)
def test_k_check_at_30_bps_is_the_pairs_thousandths_rule(
    balances: tuple[int, int], amounts_in: tuple[int, int], pool_reserves: tuple[int, int]
) -> None:
    (b0, b1), (a0, a1), (r0, r1) = balances, amounts_in, pool_reserves
    pair_rule = (b0 * 1000 - a0 * 3) * (b1 * 1000 - a1 * 3) >= r0 * r1 * 1000**2
    assert k_check(b0, b1, a0, a1, r0, r1, 30) == (pair_rule and (a0 > 0 or a1 > 0))


@settings(max_examples=300)
@given(data=st.data(), r_in=reserves, r_out=st.integers(2, 2**112 - 1), fee=fees)
def test_amount_in_buys_at_least_the_requested_output(
    data: st.DataObject, r_in: int, r_out: int, fee: int
) -> None:
    amount_out = data.draw(st.integers(1, r_out - 1))
    amount_in = get_amount_in(amount_out, r_in, r_out, fee)
    assert get_amount_out(amount_in, r_in, r_out, fee) >= amount_out
