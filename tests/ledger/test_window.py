"""`split_window`: how pnl cuts a period into raw edges and rollup ranges. Every moment of
[since, until) must be read exactly once, and nothing outside it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.ledger.store import DAY, HOUR, PnlWindow, rollup_start, split_window

T0 = 1_700_000_000.0
moments = st.one_of(
    st.floats(T0 - 5 * DAY, T0 + 5 * DAY, allow_nan=False),
    st.integers(-5 * 24, 5 * 24).map(lambda h: float(rollup_start(T0, HOUR) + h * HOUR)),
    st.integers(-5, 5).map(lambda d: float(rollup_start(T0, DAY) + d * DAY)),
)


def times_read(window: PnlWindow, ts: float) -> int:
    raw = sum(lo <= ts < hi for lo, hi in window.raw)
    rolled = sum(
        r.first <= rollup_start(ts, r.span) and (r.end is None or rollup_start(ts, r.span) < r.end)
        for r in window.rollups
    )
    return raw + rolled


@given(since=moments, until=moments, ts=moments)
def test_each_moment_of_the_period_is_read_exactly_once(
    since: float, until: float, ts: float
) -> None:
    expected = 1 if since <= ts < until else 0
    assert times_read(split_window(since, until), ts) == expected


@given(since=moments, ts=moments)
def test_an_open_ended_period_reads_everything_from_since_once(since: float, ts: float) -> None:
    assert times_read(split_window(since, None), ts) == (1 if ts >= since else 0)


def test_a_year_reads_days_in_the_middle_and_at_most_two_partial_hours_raw() -> None:
    window = split_window(T0, T0 + 365 * DAY)
    assert [hi - lo < HOUR for lo, hi in window.raw] == [True, True]
    assert {r.span for r in window.rollups} == {HOUR, DAY}
    days = [r for r in window.rollups if r.span == DAY]
    assert len(days) == 1 and (days[0].end - days[0].first) // DAY == 364  # type: ignore[operator]


def test_a_period_inside_one_hour_is_read_raw() -> None:
    start = rollup_start(T0, HOUR) + 10.0
    assert split_window(start, start + 60) == PnlWindow(raw=((start, start + 60),), rollups=())


def test_an_empty_or_reversed_period_reads_nothing() -> None:
    assert split_window(T0, T0) == PnlWindow((), ())
    assert split_window(T0, T0 - 1) == PnlWindow((), ())
