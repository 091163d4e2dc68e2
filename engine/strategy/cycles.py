"""Enumerating arbitrage cycles as flat integer arrays, and indexing them by pool.

A market of 50k pools has on the order of a million cycles; Python objects per cycle would
cost gigabytes and make every block walk them. Instead a cycle is three *side* indices
(side = 2*pool + direction, direction 0 selling token0) in column arrays the kernel can
gather from directly; routes and keys are materialised only for the few winners.

Two-pool cycles are padded to three hops with an identity side (x -> x) so one kernel
evaluates every cycle. Rotations of a cycle are the same pools, so each directed cycle is
listed once, starting at its highest-priority base token (the order of `base_tokens`); the
search's exact re-check then trades it from whichever base token on it pays most.
"""

from __future__ import annotations

import hashlib
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import product

import numpy as np
import numpy.typing as npt

from engine.market.model import Market, Pool
from engine.strategy.opportunity import Hop

HOPS_MAX = 3
IntArray = npt.NDArray[np.int32]

# token -> neighbour token -> sides that sell `token` for `neighbour`
Adjacency = dict[str, dict[str, list[int]]]


def side_of(pool_index: int, pool: Pool, token_in: str) -> int:
    return 2 * pool_index + (0 if token_in == pool.token0 else 1)


@dataclass(slots=True)
class CycleTable:
    """All cycles of a market, column-wise, plus the pool -> cycles index."""

    pools: tuple[Pool, ...]  # pool index -> the market's live Pool object
    pool_index: dict[str, int]
    base_tokens: tuple[str, ...]
    sides: IntArray  # shape (HOPS_MAX, n_cycles); identity_side pads short cycles
    token: npt.NDArray[np.int16]  # index into base_tokens of the start/end token
    hops: npt.NDArray[np.int8]  # real hop count (2 or 3)
    by_pool_start: npt.NDArray[np.int64]  # CSR: cycles of pool p are
    by_pool_cycles: IntArray  # by_pool_cycles[by_pool_start[p]:by_pool_start[p + 1]]

    @property
    def identity_side(self) -> int:
        return 2 * len(self.pools)

    def __len__(self) -> int:
        return int(self.token.shape[0])

    def cycles_touching(self, pool_indices: Sequence[int] | npt.NDArray[np.int64]) -> IntArray:
        """Cycles that use any of the pools (may repeat a cycle; re-evaluating is idempotent)."""
        pools = np.asarray(pool_indices, dtype=np.int64)
        starts = self.by_pool_start[pools]
        lengths = self.by_pool_start[pools + 1] - starts
        total = int(lengths.sum())
        if total == 0:
            return np.empty(0, dtype=np.int32)
        # positions = starts[k] + 0..lengths[k]-1 for each pool k, without a Python loop
        block_offsets = np.cumsum(lengths) - lengths
        positions = np.arange(total, dtype=np.int64) + np.repeat(starts - block_offsets, lengths)
        cycles: IntArray = self.by_pool_cycles[positions]
        return cycles

    def touch_count(self, pool_indices: npt.NDArray[np.int64]) -> int:
        """How many cycles `cycles_touching` would return (with repeats), without them."""
        return int((self.by_pool_start[pool_indices + 1] - self.by_pool_start[pool_indices]).sum())

    def real_sides(self, cycle: int) -> list[int]:
        return [int(s) for s in self.sides[: int(self.hops[cycle]), cycle]]

    def route(self, cycle: int) -> tuple[Hop, ...]:
        return tuple(self._hop(side) for side in self.real_sides(cycle))

    def reserves(self, cycle: int) -> list[tuple[int, int, int]]:
        """Live (reserve_in, reserve_out, fee_bps) per hop, read from the market's pools."""
        out = []
        for side in self.real_sides(cycle):
            pool = self.pools[side >> 1]
            r0, r1 = pool.reserve0, pool.reserve1
            out.append((r0, r1, pool.fee_bps) if side & 1 == 0 else (r1, r0, pool.fee_bps))
        return out

    def key(self, cycle: int, route: Sequence[Hop] | None = None) -> str:
        """Stable short name of the directed cycle: same pools and direction, same key."""
        hops = self.route(cycle) if route is None else route
        return route_key(self.base_tokens[int(self.token[cycle])], hops)

    def _hop(self, side: int) -> Hop:
        pool = self.pools[side >> 1]
        if side & 1 == 0:
            return Hop(pool.address, pool.token0, pool.token1, pool.kind, pool.fee_pips)
        return Hop(pool.address, pool.token1, pool.token0, pool.kind, pool.fee_pips)


def route_key(token: str, route: Sequence[Hop]) -> str:
    """Stable short name of a directed cycle traded from `token`."""
    text = "|".join([token] + [f"{hop.pool}:{hop.token_in}" for hop in route])
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def build_cycle_table(market: Market, base_tokens: Sequence[str], max_hops: int) -> CycleTable:
    """Enumerate once per market shape; reserves are read later, so Syncs never rebuild this.

    Base tokens absent from the market are dropped (a config may list tokens of other chains).
    """
    if max_hops not in (2, 3):
        raise ValueError(f"max_hops must be 2 or 3, got {max_hops}")
    pools = tuple(p for p in market.pools.values() if p.token0 != p.token1)
    bases = tuple(b for b in dict.fromkeys(base_tokens) if b in market.tokens)
    adjacency = _adjacency(pools)
    rank = {token: i for i, token in enumerate(bases)}
    columns: list[array[int]] = [array("i") for _ in range(HOPS_MAX)]
    starts, hop_counts = array("h"), array("b")
    pad = 2 * len(pools)
    for triple in _two_pool_cycles(adjacency, bases, rank):
        _append(columns, starts, hop_counts, triple, pad, rank)
    if max_hops == 3:
        for triple in _three_hop_cycles(adjacency, bases, rank):
            _append(columns, starts, hop_counts, triple, pad, rank)
    sides = np.array([np.frombuffer(c, dtype=np.int32) for c in columns], dtype=np.int32)
    sides = sides.reshape(HOPS_MAX, -1)
    by_pool_start, by_pool_cycles = _pool_index(sides, len(pools))
    return CycleTable(
        pools=pools,
        pool_index={p.address: i for i, p in enumerate(pools)},
        base_tokens=bases,
        sides=np.ascontiguousarray(sides),
        token=np.frombuffer(starts, dtype=np.int16).copy(),
        hops=np.frombuffer(hop_counts, dtype=np.int8).copy(),
        by_pool_start=by_pool_start,
        by_pool_cycles=by_pool_cycles,
    )


def _adjacency(pools: Sequence[Pool]) -> Adjacency:
    adjacency: Adjacency = defaultdict(lambda: defaultdict(list))
    for index, pool in enumerate(pools):
        adjacency[pool.token0][pool.token1].append(2 * index)
        adjacency[pool.token1][pool.token0].append(2 * index + 1)
    return adjacency


def _two_pool_cycles(
    adjacency: Adjacency, bases: Sequence[str], rank: dict[str, int]
) -> Iterable[tuple[tuple[int, ...], str]]:
    """base -> X on one pool and back on a different pool of the same pair."""
    for base in bases:
        for other, out_sides in adjacency[base].items():
            if rank.get(other, len(bases)) < rank[base]:
                continue  # listed from the higher-priority base
            back_sides = adjacency[other][base]
            for out_side, back_side in product(out_sides, back_sides):
                if out_side >> 1 != back_side >> 1:
                    yield (out_side, back_side), base


def _three_hop_cycles(
    adjacency: Adjacency, bases: Sequence[str], rank: dict[str, int]
) -> Iterable[tuple[tuple[int, ...], str]]:
    """base -> X -> Y -> base through three different pairs, both directions."""
    lowest = len(bases)
    for base in bases:
        from_base = adjacency[base]
        for x, first_sides in from_base.items():
            if rank.get(x, lowest) < rank[base]:
                continue
            for y, second_sides in adjacency[x].items():
                if y == base or rank.get(y, lowest) < rank[base]:
                    continue
                third_sides = adjacency[y].get(base)
                if not third_sides:
                    continue
                for triple in product(first_sides, second_sides, third_sides):
                    yield triple, base


def _append(
    columns: list[array[int]],
    starts: array[int],
    hop_counts: array[int],
    cycle: tuple[tuple[int, ...], str],
    pad: int,
    rank: dict[str, int],
) -> None:
    sides, base = cycle
    for h in range(HOPS_MAX):
        columns[h].append(sides[h] if h < len(sides) else pad)
    starts.append(rank[base])
    hop_counts.append(len(sides))


def _pool_index(sides: IntArray, n_pools: int) -> tuple[npt.NDArray[np.int64], IntArray]:
    """CSR index pool -> cycles, built with one argsort instead of per-pool Python lists."""
    n_cycles = sides.shape[1]
    pools = (sides >> 1).ravel()
    cycles = np.tile(np.arange(n_cycles, dtype=np.int32), HOPS_MAX)
    real = pools < n_pools  # drop the identity padding
    pools, cycles = pools[real], cycles[real]
    order = np.argsort(pools, kind="stable")
    counts = np.bincount(pools, minlength=n_pools)
    start = np.zeros(n_pools + 1, dtype=np.int64)
    np.cumsum(counts, out=start[1:])
    return start, cycles[order].astype(np.int32)
