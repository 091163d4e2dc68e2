"""Base units ↔ text, and durations: the one place money and time become words.

Token amounts are integers in base units end to end; they turn into text only here, with
integer arithmetic. A float would print 0.1 + 0.2 USDC as 0.30000000000000004 and round a
whale's balance, and a threshold read from text must land on a whole base unit or be
refused: one that silently rounds is a threshold nobody set.

Every surface (the console, the CLI, the runbook reports, the guards' messages, the CSV
export) formats through these functions. Where surfaces differ on purpose — thousands
separators in the console, an explicit + on gains, a dash for "no value" — the difference
is a parameter here, never a second copy.

Stdlib only and cheap to import: `arbctl status` runs under monitoring agents every few
seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

EM_DASH = "—"  # the CLI's and the reports' "no value"
EN_DASH = "–"  # the console's "no value" (narrower, for tight columns)
GWEI = 10**9


def to_base_units(text: str, decimals: int) -> int:
    """'12.5' USDC (6 decimals) -> 12_500_000, exactly; ValueError if it is not whole."""
    from decimal import Decimal, InvalidOperation  # only config parsing pays for it

    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"not a decimal number: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite, checked above
    mantissa = int("".join(map(str, digits)) or "0")
    shift = exponent + decimals
    if shift < 0:
        mantissa, remainder = divmod(mantissa, 10**-shift)
        if remainder:
            raise ValueError(f"{text!r} has more than {decimals} decimal places")
        shift = 0
    return (-1 if sign else 1) * mantissa * 10**shift


def to_text(
    amount: int | None,
    decimals: int,
    places: int | None = None,
    *,
    separators: bool = False,
    plus: bool = False,
    keep_point: bool = False,
    missing: str = EM_DASH,
) -> str:
    """`amount` base units as a decimal string: (12_500_000, 6) → "12.5".

    `places` rounds half away from zero and keeps that many digits ("1.50"); None keeps
    every significant digit and no trailing zeros. `separators` groups thousands
    ("1,234.5"); `plus` marks gains ("+1.50") so a glance tells profit from loss;
    `keep_point` writes a whole amount of a token with decimals as "12.0", so a column of
    amounts reads as amounts.
    """
    if amount is None:
        return missing
    magnitude = abs(int(amount))
    if places is not None and places < decimals:
        step = 10 ** (decimals - places)
        magnitude = (magnitude + step // 2) // step
        decimals = places
    whole, frac = divmod(magnitude, 10**decimals)
    sign = "" if magnitude == 0 else ("-" if amount < 0 else "+" if plus else "")
    whole_text = f"{whole:,}" if separators else str(whole)
    if decimals == 0:
        return f"{sign}{whole_text}"
    digits = str(frac).rjust(decimals, "0")
    if places is None:
        digits = digits.rstrip("0")
        if not digits:
            return f"{sign}{whole_text}.0" if keep_point else f"{sign}{whole_text}"
    return f"{sign}{whole_text}.{digits}"


def tokens(amount: Any, unit: Mapping[str, Any] | None, *, plus: bool = False) -> str:
    """`1449.052272 USDC` from base units and a `{symbol, decimals}` unit; the raw value
    as given when it is not an integer amount or the unit is unknown."""
    if not isinstance(amount, int) or not unit or "decimals" not in unit:
        return str(amount)
    text = to_text(amount, int(unit["decimals"]), plus=plus)
    return f"{text} {unit.get('symbol', '')}".rstrip()


def exact_and_tokens(amount: Any, unit: Mapping[str, Any] | None) -> str:
    """`30934605 (30.934605 USDC)`: the exact base units first, then every decimal place."""
    if not isinstance(amount, int) or not unit or "decimals" not in unit:
        return str(amount)
    decimals = int(unit["decimals"])
    return f"{amount} ({to_text(amount, decimals, decimals)} {unit.get('symbol', '')})".rstrip()


# --- presentation: how an amount reads to a person (the CLI and the console) -----------
#
# One rule, so the same trade reads the same in `arbctl trades`, the event tail and the
# console: thousands separators; amounts of 100 or more to the cent; smaller ones to four
# significant digits (a fraction of a WETH keeps its first digits that matter, never
# rounding a non-zero amount to zero); trailing zeros trimmed down to two places. Exact
# base units stay in `--json` and behind `--exact`: this is for reading, not reconciling.

SIGNIFICANT = 4
CENTS_FROM = 100


def places_for(amount: int, decimals: int) -> int:
    """How many decimal places `amount` (base units) shows under the presentation rule."""
    magnitude = abs(int(amount))
    scale = 10**decimals
    if magnitude == 0 or magnitude >= CENTS_FROM * scale:
        return min(2, decimals)
    whole_digits = len(str(magnitude // scale)) if magnitude >= scale else 0
    if whole_digits:
        return min(decimals, max(2, SIGNIFICANT - whole_digits))
    leading_zeros = decimals - len(str(magnitude))  # 0.00ddd: zeros before the first digit
    return min(decimals, leading_zeros + SIGNIFICANT)


def human(amount: int | None, decimals: int, *, plus: bool = False, missing: str = EM_DASH) -> str:
    """`amount` base units as a person reads it: (8_330_034, 6) → "8.33" (no unit)."""
    if amount is None:
        return missing
    text = to_text(amount, decimals, places_for(amount, decimals), separators=True, plus=plus)
    if "." not in text:
        return text
    whole, _, digits = text.partition(".")
    keep = min(2, len(digits))
    digits = digits[:keep] + digits[keep:].rstrip("0")
    return f"{whole}.{digits}"


def money(
    amount: Any,
    unit: Mapping[str, Any] | None,
    *,
    plus: bool = False,
    missing: str = EM_DASH,
) -> str:
    """`1,449.05 USDC` from base units and a `{symbol, decimals}` unit; the raw value as
    given when it is not an integer amount or the unit is unknown (never a guess)."""
    if amount is None:
        return missing
    if not isinstance(amount, int) or isinstance(amount, bool) or not unit:
        return str(amount)
    if "decimals" not in unit:
        return str(amount)
    text = human(amount, int(unit["decimals"]), plus=plus)
    return f"{text} {unit.get('symbol') or ''}".rstrip()


def header(label: str, unit: Mapping[str, Any] | None) -> str:
    """A column's title with the unit its cells leave out: `profit (USDC)`."""
    symbol = (unit or {}).get("symbol")
    return f"{label} ({symbol})" if symbol else label


def duration(seconds: float | None, *, tenths: bool = False, missing: str = EM_DASH) -> str:
    """A compact age or uptime: 42s (or 42.0s with `tenths`), 7m05s, 3h12m, 2d04h."""
    if seconds is None:
        return missing
    value = max(0.0, float(seconds))
    if value < 60:
        return f"{value:.1f}s" if tenths else f"{int(value)}s"
    s = int(value)
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def fee_tier(fee_pips: int) -> str:
    """A pool fee in millionths as a person reads it: 500 → `0.05%`, 3000 → `0.3%`."""
    whole, part = divmod(int(fee_pips), 10_000)
    return f"{whole}.{part:04d}".rstrip("0").rstrip(".") + "%"


def pool_label(hop: Any) -> str:
    """A route hop's pool kind and fee, `v3·0.05%`; "" for a hop that does not say (a
    record written before pools had kinds)."""
    kind = hop.get("kind") if hasattr(hop, "get") else None
    if not kind:
        return ""
    fee = hop.get("fee_pips")
    return f"{kind}·{fee_tier(fee)}" if isinstance(fee, int) else str(kind)


def hop_suffix(hop: Any) -> str:
    """What a route line adds after a hop's output token: ` v3·0.05%` for a V3 hop,
    nothing for a V2 pair (the default every route line already implies)."""
    return f" {pool_label(hop)}" if hasattr(hop, "get") and hop.get("kind") == "v3" else ""
