"""`--since` values as operators type them: `15m`, `1h`, `7d`, an ISO time, or epoch seconds.

The engine takes epoch seconds; converting here keeps relative times relative to the
operator's clock at the moment they pressed enter.
"""

from __future__ import annotations

import re
import time
from datetime import datetime

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")


def parse_since(text: str, now: float | None = None) -> float:
    """Epoch seconds for `text`; raises ValueError with the accepted forms."""
    value = text.strip().lower()
    match = _RELATIVE.match(value)
    if match:
        return (time.time() if now is None else now) - float(match[1]) * _UNITS[match[2]]
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise ValueError(
            f"cannot read --since {text!r}: use 30s, 15m, 1h, 7d, 2w, an ISO time "
            "(2025-11-21T09:00) or epoch seconds"
        ) from None
