"""`[guards]` in the operator's units becomes exact base units. What a bad value gets is
the validator's refusal, naming its key (tests/control/test_config_rules.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import GuardsSection, load
from engine.guards.thresholds import build_thresholds
from engine.units import to_base_units


def test_whole_quote_tokens_convert_exactly_to_base_units() -> None:
    assert to_base_units("12.5", 6) == 12_500_000
    assert to_base_units("100000", 6) == 100_000_000_000
    assert to_base_units("123456789012.123456789012345678", 18) == (123456789012123456789012345678)


def test_an_amount_finer_than_the_token_is_refused() -> None:
    with pytest.raises(ValueError, match="more than 6 decimal places"):
        to_base_units("0.0000001", 6)


def test_the_defaults_are_the_runbooks_thresholds() -> None:
    t = build_thresholds(GuardsSection(), "USDC", 6)
    assert t.max_gas_price == 150 * 10**9  # gas > 150 gwei
    assert t.max_rpc_latency_ms == 2000.0  # response time > 2000 ms
    assert t.max_failed_trades_per_hour == 10  # failed trades > 10/hour
    assert t.min_success_rate == 0.70  # success rate < 70 %
    assert t.max_hourly_loss == 100 * 10**6  # hourly P&L < -$100


def test_the_guards_section_is_read_from_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "engine.toml"
    path.write_text('[guards]\nmin_net_profit_quote = "2.5"\ndisabled = ["max_head_lag"]\n')
    config = load(path)
    assert config.guards.min_net_profit_quote == "2.5"
    assert config.guards.disabled == ["max_head_lag"]
