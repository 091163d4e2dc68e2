"""The initialised ticks of one pool and the contract's word-by-word walk over them.

`TickBitmap.nextInitializedTickWithinOneWord` never looks past the 256 compressed ticks
of the current bitmap word: a swap that crosses empty space still stops at every word
boundary, and each stop is a separate rounding step. `next_initialized_within_word`
reproduces those stops from a sorted list, so the simulated swap takes the same steps
as the pool.

Ticks far from the price are loaded on demand: a table may know only a window of
bitmap words; a walk that leaves the window raises `TicksNotLoaded` with the word to
fetch, rather than silently treating unknown space as empty, and notes the word in
`wanted`, which the venue's V3 book fetches with its next chain step.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass, field

from engine.market.v3.errors import UniswapV3Error
from engine.market.v3.tick_math import MAX_TICK, MIN_TICK, sqrt_ratio_at_tick

_STEPS_KEPT = 4096  # memoised walk stops per table


class TicksNotLoaded(UniswapV3Error):
    """The walk reached a bitmap word this table has not loaded."""

    def __init__(self, word: int) -> None:
        super().__init__(f"tick bitmap word {word} is not loaded")
        self.word = word


@dataclass(frozen=True, slots=True)
class TickInfo:
    liquidity_gross: int
    liquidity_net: int


@dataclass(slots=True)
class TickTable:
    """Initialised ticks (liquidity gross > 0) of a pool with `spacing`."""

    spacing: int
    info: dict[int, TickInfo] = field(default_factory=dict)
    words: tuple[int, int] | None = None  # loaded bitmap words, inclusive; None = all
    _sorted: list[int] = field(default_factory=list)
    # Bumped by every change of the initialised ticks (`update`, and `__post_init__`, which
    # a writer of `info` must call to re-sort): a cheap marker for what is derived from them.
    version: int = field(default=0, compare=False)
    # words a walk reached outside `words` (the book loads them; copies start empty)
    wanted: set[int] = field(default_factory=set, compare=False)
    # `step`'s answers, valid while (version, words) is `_steps_key` (a quote of any size
    # starts with the same step, so a walk's many quotes of one pool share it)
    _steps: dict[tuple[int, bool], tuple[int, bool, int, int]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _steps_key: tuple[int, tuple[int, int] | None] = field(
        default=(-1, None), init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.spacing <= 0:
            raise UniswapV3Error(f"tick spacing must be positive, got {self.spacing}")
        self._sorted = sorted(self.info)
        self.version += 1

    def sorted_ticks(self) -> list[int]:
        """The initialised ticks in order (the table's own list: do not mutate)."""
        return self._sorted

    def initialized(self) -> list[int]:
        return list(self._sorted)

    def copy(self) -> TickTable:
        return TickTable(self.spacing, dict(self.info), self.words)

    def update(self, tick: int, liquidity_delta: int, upper: bool) -> None:
        """`Tick.update` for one end of a position: gross += |Δ|, net ±= Δ."""
        if tick % self.spacing:
            raise UniswapV3Error("TLM" if not upper else "TUM")
        old = self.info.get(tick, TickInfo(0, 0))
        gross = old.liquidity_gross + liquidity_delta
        if gross < 0:
            raise UniswapV3Error("LS")
        net = old.liquidity_net - liquidity_delta if upper else old.liquidity_net + liquidity_delta
        if gross == 0:
            if tick in self.info:
                del self.info[tick]
                self._sorted.pop(bisect_left(self._sorted, tick))
                self.version += 1
            return
        if tick not in self.info:
            insort(self._sorted, tick)
        self.info[tick] = TickInfo(gross, net)
        self.version += 1

    def liquidity_net(self, tick: int) -> int:
        info = self.info.get(tick)
        return info.liquidity_net if info is not None else 0

    def step(self, tick: int, lte: bool) -> tuple[int, bool, int, int]:
        """One stop of a swap's walk from `tick`: (the next tick within the word, clamped
        to the tick range; initialised?; its `getSqrtRatioAtTick`; its liquidity_net, 0 if
        not initialised), memoised until the ticks or the loaded words change."""
        key = (self.version, self.words)
        steps = self._steps
        if self._steps_key != key:
            steps.clear()
            self._steps_key = key
        found = steps.get((tick, lte))
        if found is None:
            stop, initialized = self.next_initialized_within_word(tick, lte)
            stop = MIN_TICK if stop < MIN_TICK else MAX_TICK if stop > MAX_TICK else stop
            net = self.liquidity_net(stop) if initialized else 0
            found = (stop, initialized, sqrt_ratio_at_tick(stop), net)
            if len(steps) < _STEPS_KEPT:
                steps[(tick, lte)] = found
        return found

    def _check_word(self, word: int) -> None:
        if self.words is not None and not self.words[0] <= word <= self.words[1]:
            self.wanted.add(word)
            raise TicksNotLoaded(word)

    def next_initialized_within_word(self, tick: int, lte: bool) -> tuple[int, bool]:
        """`TickBitmap.nextInitializedTickWithinOneWord`, clamped to the tick range."""
        compressed = tick // self.spacing  # floor, as the contract's rounding toward -inf
        if lte:
            word_start = (compressed >> 8) << 8
            self._check_word(compressed >> 8)
            index = bisect_right(self._sorted, compressed * self.spacing) - 1
            if index >= 0 and self._sorted[index] >= word_start * self.spacing:
                return self._sorted[index], True
            return max(word_start * self.spacing, MIN_TICK), False
        start = compressed + 1
        word_end = ((start >> 8) << 8) + 255
        self._check_word(start >> 8)
        index = bisect_left(self._sorted, start * self.spacing)
        if index < len(self._sorted) and self._sorted[index] <= word_end * self.spacing:
            return self._sorted[index], True
        return min(word_end * self.spacing, MAX_TICK), False
