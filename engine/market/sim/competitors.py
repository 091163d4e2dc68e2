"""Other searchers: rivals who race our orders, and those who work the market alone.

Rivals are the reason a correct, profitable transaction still reverts. With
`competitor_probability`, a rival saw the same dislocation and sends its own
transaction: the same route on the same pools with its own size (a fraction to
somewhat more than ours), as long as that pays it at the head of the block. It bids a
priority fee of `competitor_bid_share` of that expected profit (in native wei, per gas
it burns), and the block is ordered by priority fee, highest first (ours among
themselves in nonce order; a tie goes to the rival). Landing first, the rival trades and
our transaction executes against what is left, failing or succeeding on the real
numbers: a hop below its slippage bound or the final profit check, whichever the math
hits first. Outbid, the rival trades after us on what we left, if that still pays it.

Background arbitrageurs keep the market in one piece (see `BackgroundArbs`), across
both pool kinds: a V3 pool and a V2 pair (or two V3 fee tiers) of the same tokens are
one group, priced and traded with the V3 pool's exact swap (ticks crossed included).
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, replace

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
FLOAT_MARGIN = 1e-9  # relative: float error in the spread bound is ~1e-15
Q192 = 1 << 192  # a V3 price is sqrtPriceX96**2 / 2**192 token1 per token0


@dataclass(frozen=True, slots=True)
class RivalBid:
    """A rival's transaction racing our order number `target` of the block."""

    target: int
    order: ArbOrder
    priority_fee_per_gas: int


class Rivals:
    """The searchers racing our orders: who shows up (drawn per order), what they bid,
    and how they fare in the block's order (`bids`, `block_order`, `land`)."""

    def __init__(self, probability: float, rng: random.Random, bid_share: float = 0.5) -> None:
        self._probability = probability
        self._rng = rng
        self._bid_ppm = round(bid_share * PPM)
        self._native_pools: dict[str, str] = {}  # token -> its deepest pool with native
        self._pools_seen = -1
        self.front_runs = 0  # rivals that landed ahead of our order and traded
        self.outbid = 0  # rivals our order outbid: it went first
        self.last_bid = 0  # wei per gas, the latest rival's

    def bids(self, market: Market, orders: list[ArbOrder]) -> list[RivalBid]:
        """The rivals racing this block's orders, drawn in order, priced on the head."""
        bids = []
        for target, order in enumerate(orders):
            if self._rng.random() >= self._probability:
                continue
            size = order.amount_in * self._rng.randint(*SIZE_PPM) // PPM
            if size <= 0:
                continue
            bid = self._bid(market, target, _rival_order(order, size))
            if bid is not None:
                bids.append(bid)
        return bids

    def _bid(self, market: Market, target: int, order: ArbOrder) -> RivalBid | None:
        execution = contract.run(market, order)
        if execution.status != "success":
            return None  # not profitable for the rival: it stays out
        profit = self._in_native(market, order.token, execution.amount_out - order.amount_in)
        fee = profit * self._bid_ppm // PPM // max(1, execution.gas_used)
        self.last_bid = fee
        return RivalBid(target, order, fee)

    def land(self, market: Market, bid: RivalBid, ahead: bool) -> frozenset[str]:
        """The rival's transaction in its place in the block; returns the pools changed."""
        if not ahead:
            self.outbid += 1
        execution = contract.run(market, bid.order)
        if execution.status != "success":
            return frozenset()  # what is left no longer pays it
        self.front_runs += ahead
        return contract.commit(market, execution)

    def _in_native(self, market: Market, token: str, amount: int) -> int:
        """`amount` of `token` in native wei at the mid price of its deepest native pool."""
        if token == market.native or amount <= 0:
            return max(0, amount)
        if self._pools_seen != len(market.pools):
            self._native_pools = _native_pools(market)
            self._pools_seen = len(market.pools)
        address = self._native_pools.get(token)
        if address is None:
            return 0
        native_reserve, token_reserve = market.pools[address].reserves_for(market.native)
        return amount * native_reserve // token_reserve


def block_order(ours: list[ArbOrder], rivals: list[RivalBid]) -> list[int | RivalBid]:
    """The block's transactions by priority fee, highest first: ours (by index) keep
    their nonce order among themselves; a rival goes ahead of ours on a tie."""
    waiting = sorted(rivals, key=lambda bid: (-bid.priority_fee_per_gas, bid.target))
    placed: list[int | RivalBid] = []
    for index, order in enumerate(ours):
        while waiting and waiting[0].priority_fee_per_gas >= order.priority_fee_per_gas:
            placed.append(waiting.pop(0))
        placed.append(index)
    return placed + waiting


def _native_pools(market: Market) -> dict[str, str]:
    """Each token's pool with the native token holding the most native."""
    best: dict[str, tuple[int, str]] = {}
    for address, pool in market.pools.items():
        if market.native not in (pool.token0, pool.token1) or pool.v3 is not None:
            continue
        token = pool.other(market.native)
        depth = pool.reserves_for(market.native)[0]
        if token not in best or depth > best[token][0]:
            best[token] = (depth, address)
    return {token: address for token, (_, address) in best.items()}


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
    changed pools; pools change only in blocks), and exactly only when a float bound
    cannot rule a wide spread out (`_PairGroups`). On a 50k-pool market with 1,000 noise
    swaps a block that is a few dozen exact computations instead of ~3,300, and the
    draws are taken in batches (`uniform_draws`): the sweep costs what changed, not the
    market's size.
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
        self._groups = _PairGroups(Market(), threshold_bps)
        self.sweeps = 0

    def note_changed(self, pools: Iterable[str]) -> None:
        """These pools' reserves changed: their groups are examined again when drawn."""
        self._groups.note_changed(pools)

    def sweep(self, market: Market, reserved: set[str]) -> set[str]:
        """Maybe close wide same-pair spreads; returns the pools traded."""
        if self._groups.pool_count != len(market.pools):
            self._groups = _PairGroups(market, self._threshold_bps)
        self._groups.settle_narrow()
        held = {self._groups.of[a] for a in reserved if a in self._groups.of}
        changed: set[str] = set()
        start = 0
        while start < len(self._groups.members):
            start = self._sweep_from(start, reserved, held, changed)
        return changed

    def _sweep_from(self, start: int, reserved: set[str], held: set[int], changed: set[str]) -> int:
        """Draw for the groups from `start` on, up to the first that trades; returns
        where to go on. The stream is rewound to just after that group's draw, so the
        trade's size draw comes before the next group's, as in a one-by-one sweep."""
        groups = self._groups
        end = min(len(groups.members), start + DRAW_BATCH)
        state = self._rng.getstate()
        drawn = uniform_draws(self._rng, end - start) < self._probability
        worth = drawn & (groups.stale[start:end] | groups.open[start:end])
        for offset in np.flatnonzero(worth).tolist():
            index = start + offset
            best = groups.widest(index, reserved if index in held else None)
            if best is None:
                continue
            self._rng.setstate(state)
            uniform_draws(self._rng, offset + 1)
            changed |= self._close(*best)
            return index + 1
        return end

    def _close(self, first: Pool, second: Pool, amount: int) -> set[str]:
        """Trade most of the spread away (the size is drawn); returns the pools traded."""
        amount = amount * self._rng.randint(*BACKGROUND_SIZE_PPM) // PPM
        if amount <= 0:
            return set()
        v3 = first.v3 is not None or second.v3 is not None
        if v3 and _cycle_profit(first, second, amount) <= 0:
            return set()  # (a V3 pool's swap is applied only once it is known to fill)
        middle = swap.swap(first, first.token0, amount)
        swap.swap(second, first.token1, middle)
        self.note_changed((first.address, second.address))
        self.sweeps += 1
        return {first.address, second.address}


class _PairGroups:
    """The market's same-pair pool groups and what is known of their spreads.

    A group is `stale` when a pool of it changed since its widest spread was computed,
    `open` when that spread is known and above the threshold. Stale groups first meet a
    float bound (per pool g*r1/r0 and g*r0/r1; a cycle's edge is the product of the
    first's and the second's, so max*max bounds every cycle): one that stays below the
    threshold with a margin far beyond float error is closed without exact arithmetic.
    The bound only skips work; every trade is decided in integers by `_widest`.
    """

    def __init__(self, market: Market, threshold_bps: int) -> None:
        self.pool_count = len(market.pools)
        self._threshold_bps = threshold_bps
        lists = _pair_groups(market)
        self.of = {a: i for i, group in enumerate(lists) for a in group}
        self._lists = [[market.pools[a] for a in group] for group in lists]
        self._pools = [pool for group in self._lists for pool in group]
        self._slot = {pool.address: k for k, pool in enumerate(self._pools)}
        self._group_of_slot = np.array([self.of[pool.address] for pool in self._pools], int)
        self._gain = np.array([PPM - pool.fee_pips for pool in self._pools], float) / 100
        width = max((len(group) for group in lists), default=0)
        self.members = np.full((len(lists), width), len(self._pools))  # pad: a zero slot
        for index, group in enumerate(lists):
            self.members[index, : len(group)] = [self._slot[a] for a in group]
        self._bounds = np.zeros((2, len(self._pools) + 1))
        self._moved = set(range(len(self._pools)))  # slots whose bounds are out of date
        self._limit = BPS * (BPS + threshold_bps) * (1 - FLOAT_MARGIN)
        self.stale = np.ones(len(lists), dtype=bool)
        self.open = np.zeros(len(lists), dtype=bool)
        self._widest: dict[int, tuple[Pool, Pool, int]] = {}  # the open groups'

    def note_changed(self, pools: Iterable[str]) -> None:
        slots = [self._slot[a] for a in pools if a in self._slot]
        self._moved.update(slots)
        self.stale[self._group_of_slot[slots]] = True

    def settle_narrow(self) -> None:
        """Close, without exact arithmetic, the stale groups the float bound rules out."""
        moved = list(self._moved)
        self._moved.clear()
        prices = [_price(self._pools[slot]) for slot in moved]
        numerator = np.array([float(n) for n, _ in prices])
        denominator = np.array([float(d) for _, d in prices])
        self._bounds[0, moved] = self._gain[moved] * numerator / denominator
        self._bounds[1, moved] = self._gain[moved] * denominator / numerator
        stale = np.flatnonzero(self.stale)
        if not stale.size:
            return
        members = self.members[stale]
        bound = self._bounds[0][members].max(axis=1) * self._bounds[1][members].max(axis=1)
        narrow = stale[bound <= self._limit]
        for index in np.flatnonzero(self.open[narrow]).tolist():
            self._widest.pop(int(narrow[index]), None)
        self.stale[narrow] = False
        self.open[narrow] = False

    def widest(self, index: int, reserved: set[str] | None) -> tuple[Pool, Pool, int] | None:
        """The group's widest spread, computed again only if a pool changed; with pools
        reserved, the widest among the others."""
        pools = self._lists[index]
        if self.stale[index]:
            best = _widest(pools, self._threshold_bps)
            self.stale[index], self.open[index] = False, best is not None
            if best is None:
                self._widest.pop(index, None)
            else:
                self._widest[index] = best
        best = self._widest.get(index)
        if best is None or reserved is None:
            return best
        return _widest([p for p in pools if p.address not in reserved], self._threshold_bps)


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
    """Pools (V2 pairs and V3 pools alike) listing the same two tokens, in market order."""
    groups: dict[tuple[str, str], list[str]] = {}
    for address, pool in market.pools.items():
        groups.setdefault((pool.token0, pool.token1), []).append(address)
    return [g for g in groups.values() if len(g) > 1]


def _widest(pools: list[Pool], threshold_bps: int) -> tuple[Pool, Pool, int] | None:
    """The 2-pool cycle (token0 -> token1 -> token0) whose spread beyond fees is widest
    and above the threshold, with its profit-maximising input."""
    best: tuple[int, int, Pool, Pool] | None = None  # (num, den) of the edge
    for first in pools:
        for second in pools:
            if first is second:
                continue
            edge = _edge(first, second)
            if edge[0] * BPS <= edge[1] * (BPS + threshold_bps):
                continue
            if best is None or edge[0] * best[1] > best[0] * edge[1]:
                best = (*edge, first, second)
    return None if best is None else (best[2], best[3], _best_input(best[2], best[3]))


def _price(pool: Pool) -> tuple[int, int]:
    """The pool's marginal price of token0 in token1, as an exact fraction: a pair's
    reserve ratio, a V3 pool's sqrtPriceX96 squared over 2**192."""
    if pool.v3 is not None:
        return pool.v3.sqrt_price_x96**2, Q192
    return pool.reserve1, pool.reserve0


def _edge(first: Pool, second: Pool) -> tuple[int, int]:
    """Marginal return of the cycle at zero size, as a fraction: above 1 it pays."""
    if first.v3 is None and second.v3 is None:  # the pairs' own fraction, as it always was
        g1, g2 = BPS - first.fee_bps, BPS - second.fee_bps
        return (
            g1 * g2 * first.reserve1 * second.reserve0,
            BPS * BPS * first.reserve0 * second.reserve1,
        )
    (n1, d1), (n2, d2) = _price(first), _price(second)
    g1, g2 = PPM - first.fee_pips, PPM - second.fee_pips
    return g1 * g2 * n1 * d2, PPM * PPM * d1 * n2


def _best_input(first: Pool, second: Pool) -> int:
    """The cycle's input: the closed form for two pairs; with a V3 pool, the most
    profitable input found on the exact swaps (`_exact_peak`)."""
    if first.v3 is None and second.v3 is None:
        return _optimal_input(first, second)
    return _exact_peak(first, second)


def _cycle_profit(first: Pool, second: Pool, amount: int) -> int:
    """token0 in, token0 back: exact, V3 hops with the pool's own swap (an input a V3
    pool cannot fill whole or pay returns nothing: a loss of the whole input)."""
    if amount <= 0:
        return 0
    middle = swap.quote(first, first.token0, amount)
    back = swap.quote(second, first.token1, middle) if middle > 0 else 0
    return back - amount


def _exact_peak(first: Pool, second: Pool) -> int:
    """An input next to the one maximising the cycle's exact profit.

    Each hop's output is concave in its input where the pool fills it, so the profit is
    unimodal: it rises to its peak, falls, and drops to a loss of the whole input where
    a V3 pool runs out of ticks or balance. The peak is bracketed by doubling from a
    millionth of the first pool's input-side balance, then narrowed by golden section
    until the bracket is a millionth of its size (the profit there is within ~1e-10 of
    the peak's): deterministic for a given state, and as exact as a rival needs (it
    trades a drawn fraction of it, and every size it trades is priced exactly)."""
    profit = functools.cache(lambda x: _cycle_profit(first, second, x))
    low, high = 0, max(1, first.reserve0 >> 20)
    while profit(high) > profit(high // 2) and high.bit_length() < 256:
        low, high = high // 2, 2 * high  # the peak is past high // 2: keep doubling
    gap = (high - low) * 382 // 1000
    left, right = low + gap, high - gap
    while high - low > max(8, high >> 20):
        if profit(left) < profit(right):
            low, left = left, right
            right = max(left + 1, high - (high - low) * 382 // 1000)
        else:
            high, right = right, left
            left = min(right - 1, low + (high - low) * 382 // 1000)
    near = range(low, high + 1) if high - low <= 8 else (low, left, right, high)
    best = max(near, key=lambda x: (profit(x), -x))
    return best if profit(best) > 0 else 0


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
