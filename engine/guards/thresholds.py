"""The `[guards]` section turned into exact numbers the rules compare against.

Config speaks the operator's units (whole USDC as decimal strings, gwei, percent); the
rules compare ints in base units (quote token units, wei) because every amount they
look at is one. Conversion happens once, here, and refuses anything that does not land
on a whole base unit: a threshold that silently rounds is a threshold nobody set.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.config import ConfigError, GuardsSection
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


def build_thresholds(
    section: GuardsSection, quote_symbol: str, quote_decimals: int, source: str = "<defaults>"
) -> Thresholds:
    """Validate and convert; a bad value raises ConfigError naming its `guards.` key."""
    check = _Checker(section, source)
    return Thresholds(
        quote_symbol=quote_symbol,
        quote_decimals=quote_decimals,
        min_net_profit=check.quote("min_net_profit_quote", quote_decimals),
        max_gas_price=check.gwei("max_gas_price_gwei"),
        gas_headroom_pct=check.count("gas_headroom_pct"),
        max_notional=check.quote("max_notional_quote", quote_decimals),
        max_price_impact_bps=check.count("max_price_impact_bps"),
        max_head_age_s=check.seconds("max_head_age_s"),
        max_head_lag_blocks=check.count("max_head_lag_blocks"),
        max_rpc_latency_ms=check.seconds("max_rpc_latency_ms"),
        max_failed_trades_per_hour=check.count("max_failed_trades_per_hour"),
        min_success_rate=check.percent("min_success_rate_pct") / 100,
        success_rate_window=check.count("success_rate_window", minimum=1),
        success_rate_min_trades=check.count("success_rate_min_trades", minimum=1),
        consecutive_failures_limit=check.count("consecutive_failures_limit", minimum=1),
        max_hourly_loss=check.quote("max_hourly_loss_quote", quote_decimals),
        max_daily_loss=check.quote("max_daily_loss_quote", quote_decimals),
        breaker_wait_s=check.seconds("breaker_wait_s"),
        breaker_probe_trades=check.count("breaker_probe_trades", minimum=1),
        breaker_probe_timeout_s=check.seconds("breaker_probe_timeout_s"),
        repeat_window_s=check.seconds("repeat_window_s"),
        disabled=frozenset(section.disabled),
    )


class _Checker:
    """Reads one `[guards]` key at a time and phrases problems for the operator."""

    def __init__(self, section: GuardsSection, source: str) -> None:
        self._section = section
        self._source = source

    def _fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self._source, f"guards.{key}", problem)

    def quote(self, key: str, decimals: int) -> int:
        text = getattr(self._section, key)
        try:
            amount = to_base_units(text, decimals)
        except ValueError as exc:
            raise self._fail(key, f'{exc} (whole quote tokens, e.g. "100")') from None
        if amount < 0:
            raise self._fail(key, f"must not be negative, got {text!r}")
        return amount

    def gwei(self, key: str) -> int:
        value = getattr(self._section, key)
        try:
            wei = to_base_units(repr(value), 9)
        except ValueError as exc:
            raise self._fail(key, str(exc)) from None
        if wei < 0:
            raise self._fail(key, f"must not be negative, got {value}")
        return wei

    def count(self, key: str, minimum: int = 0) -> int:
        value = getattr(self._section, key)
        if value < minimum:
            raise self._fail(key, f"must be >= {minimum}, got {value}")
        return int(value)

    def seconds(self, key: str) -> float:
        value = float(getattr(self._section, key))
        if value < 0:
            raise self._fail(key, f"must not be negative, got {value}")
        return value

    def percent(self, key: str) -> float:
        value = float(getattr(self._section, key))
        if not 0 <= value <= 100:
            raise self._fail(key, f"must be between 0 and 100, got {value}")
        return value
