"""Other searchers: rivals who race our orders, and those who work the market alone.

Rivals are the reason a correct, profitable transaction still reverts. With
`competitor_probability`, a rival saw the same dislocation and its transaction lands
first in the block: it trades the same route on the same pools with its own size (a
fraction to somewhat more than ours), as long as that still pays it. Our transaction
then executes against what is left and fails or succeeds on the real numbers: a hop
below its slippage bound or the final profit check, whichever the math hits first.

Background arbitrageurs keep the market in one piece (see `BackgroundArbs`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from engine.market.model import Market, Pool
from engine.market.sim import contract, swap
from engine.market.venue import ArbOrder, SwapHop

PPM = 1_000_000
SIZE_PPM = (300_000, 1_200_000)  # rival size as a fraction of ours
RIVAL_GAS_LIMIT = 10_000_000
BPS = 10_000
BACKGROUND_PROBABILITY = 0.2  # per pair and block, when a wide spread is open
BACKGROUND_THRESHOLD_BPS = 300  # spread beyond fees that other searchers act on
BACKGROUND_SIZE_PPM = (500_000, 1_000_000)  # of the optimal size: they close most of it
DRAW_BATCH = 2_048  # pair groups drawn at once (a trade redraws the rest of its batch)


class Rivals:
    def __init__(self, probability: float, rng: random.Random) -> None:
        self._probability = probability
        self._rng = rng
        self.front_runs = 0

    def front_run(self, market: Market, order: ArbOrder) -> frozenset[str]:
        """Maybe trade `order`'s route first; returns the pools the rival changed."""
        if self._rng.random() >= self._probability:
            return frozenset()
        size = order.amount_in * self._rng.randint(*SIZE_PPM) // PPM
        if size <= 0:
            return frozenset()
        execution = contract.run(market, _rival_order(order, size))
        if execution.status != "success":
            return frozenset()  # no longer profitable for the rival either: it stays out
        self.front_runs += 1
        return contract.commit(market, execution)


def _rival_order(order: ArbOrder, size: int) -> ArbOrder:
    """The rival wants any profit at all and sets no per-hop bounds."""
    hops = tuple(SwapHop(h.pool, h.token_in, h.token_out, 0) for h in order.hops)
    return replace(
        order,
        order_id=f"rival:{order.order_id}",
        amount_in=size,
        hops=hops,
        min_profit=1,
        flash_fee=0,
        gas_limit=RIVAL_GAS_LIMIT,
    )


class BackgroundArbs:
    """Other searchers working the market on their own, so it stays a market.

    Without them, prices on different dexes would random-walk apart whenever the engine
    is paused, and a resume would meet absurd spreads. They take only wide dislocations
    (`threshold_bps` beyond fees) between two pools of the same pair, and only some of
    the time, leaving the everyday opportunities to the engine. Pools the engine has an
    order pending on are left alone: racing our orders is `Rivals`' job, at its rate.

    Incremental: each block every pair group draws whether a searcher looks at it, but
    a group's widest spread is computed again only when one of its pools changed since
    it was last computed (`note_changed`, which the chain calls with every block's
    changed pools; pools change only in blocks). On a 50k-pool market that is a few
    hundred groups per block instead of every drawn one, and the draws are taken in
    batches (`uniform_draws`), so the sweep costs what changed, not the market's size.
    The outcome is exactly the full sweep's: the same draws from the same stream in the
    same order (a trade's size draw falls between two groups' draws, as before), the
    same spreads, the same trades.
    """

    def __init__(
        self,
        rng: random.Random,
        probability: float = BACKGROUND_PROBABILITY,
        threshold_bps: int = BACKGROUND_THRESHOLD_BPS,
    ) -> None:
        self._rng = rng
        self._probability = probability
        self._threshold_bps = threshold_bps
        self._groups: list[list[str]] = []
        self._groups_of = -1  # pool count the groups were built for
        self._group_of: dict[str, int] = {}  # pool address -> its group's index
        self._stale: npt.NDArray[np.bool_] = np.zeros(0, dtype=bool)  # to compute again
        self._open: npt.NDArray[np.bool_] = np.zeros(0, dtype=bool)  # widest is known, wide
        self._widest: dict[int, tuple[Pool, Pool, int]] = {}  # the open groups' widest
        self.sweeps = 0

    def note_changed(self, pools: Iterable[str]) -> None:
        """These pools' reserves changed: their groups are examined again when drawn."""
        for address in pools:
            index = self._group_of.get(address)
            if index is not None:
                self._stale[index] = True

    def sweep(self, market: Market, reserved: set[str]) -> set[str]:
        """Maybe close wide same-pair spreads; returns the pools traded."""
        if self._groups_of != len(market.pools):
            self._index(market)
        held = {self._group_of[a] for a in reserved if a in self._group_of}
        changed: set[str] = set()
        start = 0
        while start < len(self._groups):
            start = self._sweep_from(market, start, reserved, held, changed)
        return changed

    def _index(self, market: Market) -> None:
        self._groups, self._groups_of = _pair_groups(market), len(market.pools)
        self._group_of = {a: i for i, group in enumerate(self._groups) for a in group}
        self._stale = np.ones(len(self._groups), dtype=bool)
        self._open = np.zeros(len(self._groups), dtype=bool)
        self._widest = {}

    def _sweep_from(
        self, market: Market, start: int, reserved: set[str], held: set[int], changed: set[str]
    ) -> int:
        """Draw for the groups from `start` on, up to the first that trades; returns
        where to go on. The stream is rewound to just after that group's draw, so the
        trade's size draw comes before the next group's, as in a one-by-one sweep."""
        end = min(len(self._groups), start + DRAW_BATCH)
        state = self._rng.getstate()
        drawn = uniform_draws(self._rng, end - start) < self._probability
        worth = drawn & (self._stale[start:end] | self._open[start:end])
        for offset in np.flatnonzero(worth).tolist():
            index = start + offset
            best = self._best(market, index, reserved if index in held else None)
            if best is None:
                continue
            self._rng.setstate(state)
            uniform_draws(self._rng, offset + 1)
            changed |= self._close(*best)
            return index + 1
        return end

    def _best(
        self, market: Market, index: int, reserved: set[str] | None
    ) -> tuple[Pool, Pool, int] | None:
        """The group's widest spread, computed again only if a pool changed; with pools
        reserved, the widest among the others."""
        group = self._groups[index]
        if self._stale[index]:
            best = _widest([market.pools[a] for a in group], self._threshold_bps)
            self._stale[index], self._open[index] = False, best is not None
            if best is None:
                self._widest.pop(index, None)
            else:
                self._widest[index] = best
        best = self._widest.get(index)
        if best is None or reserved is None:
            return best
        return _widest([market.pools[a] for a in group if a not in reserved], self._threshold_bps)

    def _close(self, first: Pool, second: Pool, amount: int) -> set[str]:
        """Trade most of the spread away (the size is drawn); returns the pools traded."""
        amount = amount * self._rng.randint(*BACKGROUND_SIZE_PPM) // PPM
        if amount <= 0:
            return set()
        middle = swap.swap(first, first.token0, amount)
        swap.swap(second, first.token1, middle)
        self.note_changed((first.address, second.address))
        self.sweeps += 1
        return {first.address, second.address}


def uniform_draws(rng: random.Random, count: int) -> npt.NDArray[np.float64]:
    """`[rng.random() for _ in range(count)]`, bit for bit, in one call.

    CPython's `random()` takes two 32-bit Mersenne Twister words (a >> 5, b >> 6) and
    `getrandbits(64 * n)` takes the same 2n words, least significant first: the stream
    ends in the same state and the floats are rebuilt exactly (pinned by a test).
    """
    if count <= 0:
        return np.zeros(0, dtype=np.float64)
    words = np.frombuffer(rng.getrandbits(64 * count).to_bytes(8 * count, "little"), "<u4")
    high, low = (words[0::2] >> 5).astype(np.float64), (words[1::2] >> 6).astype(np.float64)
    result: npt.NDArray[np.float64] = (high * 67108864.0 + low) * (1.0 / 9007199254740992.0)
    return result


def _pair_groups(market: Market) -> list[list[str]]:
    """Pools listing the same two tokens, in market order."""
    groups: dict[tuple[str, str], list[str]] = {}
    for address, pool in market.pools.items():
        groups.setdefault((pool.token0, pool.token1), []).append(address)
    return [g for g in groups.values() if len(g) > 1]


def _widest(pools: list[Pool], threshold_bps: int) -> tuple[Pool, Pool, int] | None:
    """The 2-pool cycle (token0 -> token1 -> token0) whose spread beyond fees is widest
    and above the threshold, with its profit-maximising input."""
    best: tuple[int, int, Pool, Pool, int] | None = None  # (num, den) of the edge
    for first in pools:
        for second in pools:
            if first is second:
                continue
            edge = _edge(first, second)
            if edge[0] * BPS <= edge[1] * (BPS + threshold_bps):
                continue
            if best is None or edge[0] * best[1] > best[0] * edge[1]:
                best = (*edge, first, second, _optimal_input(first, second))
    return None if best is None else (best[2], best[3], best[4])


def _edge(first: Pool, second: Pool) -> tuple[int, int]:
    """Marginal return of the cycle at zero size, as a fraction: above 1 it pays."""
    g1, g2 = BPS - first.fee_bps, BPS - second.fee_bps
    return g1 * g2 * first.reserve1 * second.reserve0, BPS * BPS * first.reserve0 * second.reserve1


def _optimal_input(first: Pool, second: Pool) -> int:
    """Closed-form optimum of a two-hop constant-product cycle (integer square root).

    The cycle's output is a*x / (b + c*x); its profit peaks where a*b = (b + c*x)^2.
    """
    r1i, r1o, r2i, r2o = first.reserve0, first.reserve1, second.reserve1, second.reserve0
    g1, g2 = BPS - first.fee_bps, BPS - second.fee_bps
    root = math.isqrt(g1 * g2 * r1o * r2o * r1i * r2i)
    numerator = root * BPS - r1i * r2i * BPS * BPS
    denominator = g1 * (r2i * BPS + g2 * r1o)
    return max(0, numerator // denominator)
