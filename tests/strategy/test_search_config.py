"""SearchConfig rejects settings the search could only misinterpret."""

from __future__ import annotations

import pytest

from engine.strategy.search import SearchConfig


def test_defaults_charge_the_documented_gas_units() -> None:
    config = SearchConfig(base_tokens=("0xweth",))
    assert config.gas_units == {2: 130_000, 3: 180_000}
    assert config.max_hops == 3 and config.flash_fee_bps == 0


def test_a_search_needs_a_base_token() -> None:
    with pytest.raises(ValueError, match="base token"):
        SearchConfig(base_tokens=())


@pytest.mark.parametrize("hops", [1, 4])
def test_only_two_or_three_hops_are_supported(hops: int) -> None:
    with pytest.raises(ValueError, match="max_hops"):
        SearchConfig(base_tokens=("0xweth",), max_hops=hops)


def test_every_searched_route_length_needs_a_gas_estimate() -> None:
    with pytest.raises(ValueError, match="3-hop"):
        SearchConfig(base_tokens=("0xweth",), gas_units={2: 130_000})


def test_flash_fee_must_be_below_one_hundred_percent() -> None:
    with pytest.raises(ValueError, match="flash_fee_bps"):
        SearchConfig(base_tokens=("0xweth",), flash_fee_bps=10_000)


def test_result_count_must_be_positive() -> None:
    with pytest.raises(ValueError, match="top_n"):
        SearchConfig(base_tokens=("0xweth",), top_n=0)
