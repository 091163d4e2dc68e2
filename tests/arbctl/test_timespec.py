"""`--since` accepts what operators type; the engine receives epoch seconds."""

from __future__ import annotations

from datetime import datetime

import pytest

from arbctl.timespec import parse_since

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("text", "seconds_ago"),
    [("30s", 30), ("15m", 900), ("1h", 3600), ("24h", 86400), ("7d", 604800), ("2w", 1209600)],
)
def test_relative_spans_count_back_from_now(text: str, seconds_ago: int) -> None:
    assert parse_since(text, now=NOW) == NOW - seconds_ago


def test_epoch_seconds_pass_through() -> None:
    assert parse_since("1699990000", now=NOW) == 1699990000.0


def test_iso_times_are_read_as_local_time() -> None:
    assert parse_since("2025-11-21T09:00") == datetime(2025, 11, 21, 9, 0).timestamp()


def test_nonsense_names_the_accepted_forms() -> None:
    with pytest.raises(ValueError, match="30s, 15m, 1h"):
        parse_since("yesterday-ish")
