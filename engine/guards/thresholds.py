"""The `[guards]` section turned into exact numbers the rules compare against.

Config speaks the operator's units (whole USDC as decimal strings, gwei, percent); the
rules compare ints in base units (quote token units, wei) because every amount they
look at is one. Conversion happens once, here, and is exact: a threshold that silently
rounds is a threshold nobody set. Whether a value lands on a whole base unit (and every
range) is `engine.config`'s to say, once, for `config validate` and the engine alike.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from engine.config import GuardsSection
from engine.units import GWEI, to_base_units, to_text


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Every limit in the unit its rule observes; money in base units."""

    quote_symbol: str
    quote_decimals: int
    min_net_profit: int  # quote base units
    max_gas_price: int  # wei per gas
    gas_headroom_pct: int
    max_notional: int  # quote base units
    max_price_impact_bps: int
    max_head_age_s: float
    max_head_lag_blocks: int
    max_rpc_latency_ms: float
    max_failed_trades_per_hour: int
    min_success_rate: float  # a fraction, 0..1
    success_rate_window: int
    success_rate_min_trades: int
    consecutive_failures_limit: int
    max_hourly_loss: int  # quote base units, positive: the limit is -max_hourly_loss
    max_daily_loss: int  # quote base units, positive
    breaker_wait_s: float
    breaker_probe_trades: int
    breaker_probe_timeout_s: float
    repeat_window_s: float
    disabled: frozenset[str]

    def show(self, unit: str, value: int | float | None) -> str:
        """A value in its rule's unit, for people: quote exactly in whole tokens, wei as
        gwei (display only: the rules compare the ints)."""
        if value is None:
            return "—"
        if unit == "quote":
            return f"{to_text(int(value), self.quote_decimals)} {self.quote_symbol}"
        if unit == "wei":
            return f"{value / GWEI:.6g} gwei"
        if unit == "ratio":
            return f"{value * 100:.1f} %"
        if unit in ("s", "ms"):
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
        return f"{value} {unit}"


def build_thresholds(section: GuardsSection, quote_symbol: str, quote_decimals: int) -> Thresholds:
    """Convert `[guards]` to the rules' units. `engine.config.load` validated every value
    (ranges, and that money and gwei land on a whole base unit), so nothing refuses here."""
    quote = functools.partial(_quote, section, quote_decimals)
    return Thresholds(
        quote_symbol=quote_symbol,
        quote_decimals=quote_decimals,
        min_net_profit=quote("min_net_profit_quote"),
        max_gas_price=to_base_units(repr(section.max_gas_price_gwei), 9),
        gas_headroom_pct=section.gas_headroom_pct,
        max_notional=quote("max_notional_quote"),
        max_price_impact_bps=section.max_price_impact_bps,
        max_head_age_s=float(section.max_head_age_s),
        max_head_lag_blocks=section.max_head_lag_blocks,
        max_rpc_latency_ms=float(section.max_rpc_latency_ms),
        max_failed_trades_per_hour=section.max_failed_trades_per_hour,
        min_success_rate=float(section.min_success_rate_pct) / 100,
        success_rate_window=section.success_rate_window,
        success_rate_min_trades=section.success_rate_min_trades,
        consecutive_failures_limit=section.consecutive_failures_limit,
        max_hourly_loss=quote("max_hourly_loss_quote"),
        max_daily_loss=quote("max_daily_loss_quote"),
        breaker_wait_s=float(section.breaker_wait_s),
        breaker_probe_trades=section.breaker_probe_trades,
        breaker_probe_timeout_s=float(section.breaker_probe_timeout_s),
        repeat_window_s=float(section.repeat_window_s),
        disabled=frozenset(section.disabled),
    )


def _quote(section: GuardsSection, decimals: int, key: str) -> int:
    """Whole quote tokens (a decimal string) to base units, exactly."""
    return to_base_units(getattr(section, key), decimals)
