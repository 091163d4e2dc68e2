"""The word-by-word tick walk against the contract's own bitmap algorithm.

The reference below is `TickBitmap.nextInitializedTickWithinOneWord` transcribed with a
real bitmap (a dict of 256-bit words, most/least significant bit), independent of the
sorted-list implementation it checks.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.market.v3.errors import UniswapV3Error
from engine.market.v3.tick_math import MAX_TICK, MIN_TICK, sqrt_ratio_at_tick
from engine.market.v3.ticks import TickInfo, TicksNotLoaded, TickTable


def _reference(bitmap: dict[int, int], tick: int, spacing: int, lte: bool) -> tuple[int, bool]:
    compressed = tick // spacing
    if lte:
        word, bit = compressed >> 8, compressed % 256
        masked = bitmap.get(word, 0) & ((1 << bit) - 1 + (1 << bit))
        if masked:
            return (compressed - (bit - (masked.bit_length() - 1))) * spacing, True
        return (compressed - bit) * spacing, False
    word, bit = (compressed + 1) >> 8, (compressed + 1) % 256
    masked = bitmap.get(word, 0) & ~((1 << bit) - 1)
    if masked:
        lsb = (masked & -masked).bit_length() - 1
        return (compressed + 1 + (lsb - bit)) * spacing, True
    return (compressed + 1 + (255 - bit)) * spacing, False


@given(
    spacing=st.sampled_from([1, 10, 60, 200]),
    compressed=st.lists(st.integers(-3000, 3000), max_size=40),
    tick=st.integers(-800_000, 800_000),
    lte=st.booleans(),
)
def test_the_walk_stops_where_the_contracts_bitmap_walk_stops(
    spacing: int, compressed: list[int], tick: int, lte: bool
) -> None:
    tick = tick // 3000 if abs(tick) > 3000 * spacing else tick
    table = TickTable(spacing, {c * spacing: TickInfo(1, 1) for c in compressed})
    bitmap: dict[int, int] = {}
    for c in compressed:
        bitmap[c >> 8] = bitmap.get(c >> 8, 0) | 1 << (c % 256)
    expected, initialized = _reference(bitmap, tick, spacing, lte)
    expected = max(MIN_TICK, min(MAX_TICK, expected))
    assert table.next_initialized_within_word(tick, lte) == (expected, initialized)


def test_a_walk_into_a_word_not_loaded_asks_for_that_word() -> None:
    table = TickTable(60, {}, words=(-2, 2))
    assert table.next_initialized_within_word(0, lte=True) == (0, False)
    try:
        table.next_initialized_within_word(3 * 256 * 60, lte=False)
    except TicksNotLoaded as missing:
        assert missing.word == 3
    else:
        raise AssertionError("walked into an unknown word")


def test_a_tick_whose_liquidity_drops_to_zero_is_no_longer_initialised() -> None:
    table = TickTable(10)
    table.update(-100, 50, upper=False)
    table.update(100, 50, upper=True)
    assert table.initialized() == [-100, 100]
    assert table.liquidity_net(100) == -50
    table.update(100, -50, upper=True)
    assert table.initialized() == [-100]


def test_a_tick_off_the_spacing_is_refused() -> None:
    try:
        TickTable(10).update(15, 1, upper=False)
    except UniswapV3Error:
        return
    raise AssertionError("accepted a tick off the spacing")


def _uncached_step(table: TickTable, tick: int, lte: bool) -> tuple[int, bool, int, int]:
    found, initialized = table.next_initialized_within_word(tick, lte)
    found = max(MIN_TICK, min(MAX_TICK, found))
    net = table.liquidity_net(found) if initialized else 0
    return found, initialized, sqrt_ratio_at_tick(found), net


def test_a_memoised_step_follows_every_change_of_the_table() -> None:
    table = TickTable(10, words=(-1, 1))
    queries = [(0, True), (0, False), (-5, True), (95, False), (2550, False)]
    for tick, lte in queries:
        assert table.step(tick, lte) == _uncached_step(table, tick, lte)
    table.update(-100, 50, upper=False)  # a Mint
    table.update(100, 50, upper=True)
    for tick, lte in queries:
        assert table.step(tick, lte) == _uncached_step(table, tick, lte)
    table.update(100, 20, upper=True)  # the same ticks, another liquidity_net
    assert table.step(0, False) == (100, True, sqrt_ratio_at_tick(100), -70)
    table.info[40] = TickInfo(5, 5)  # a direct writer (a word load), which re-sorts
    table.__post_init__()
    assert (
        table.step(0, False)
        == _uncached_step(table, 0, False)
        == (
            40,
            True,
            sqrt_ratio_at_tick(40),
            5,
        )
    )
    table.words = (-1, 0)  # fewer words loaded: the walk must ask for the word again
    try:
        table.step(2550, False)
    except TicksNotLoaded as missing:
        assert missing.word == 1
    else:
        raise AssertionError("a memoised step walked into a word no longer loaded")
