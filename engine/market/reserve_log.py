"""The reserves a venue wrote since the search last looked, kept as flat float columns.

The search's per-block cost was dominated by finding each changed pool (a dictionary
lookup by address) and reading its two Python-int reserves: ~1.1 µs a pool at 100k
pools, all cache misses on scattered objects. The writer already holds the pool and the
integers, so as it writes them it also stores them, as floats, at the pool's *slot* in
two dense columns and flags the slot; the search takes the flagged slots and their
reserves as numpy arrays and assigns them into its kernel's coefficient arrays in one
vectorised step (engine.strategy.search). A pool written twice keeps its last reserves,
as the object does.

Invariants:
- A pool's slot is its position in its market's log, given once by `Market.add_pool`;
  the search maps slots to its own table's indices.
- `Pool.set_reserves` writes the Pool object and the log in one call, so the two never
  disagree; every V2 reserve writer goes through it (the EVM venue's Sync, the simulated
  market's swaps, its contract's commit, the benchmark's market mover). A pool written
  any other way is still seen, as before, if the writer reports it changed: the search
  reads reported pools without a log entry from their objects (and every pool whose
  coefficients do not come from reserve0/1, a V3 pool, always).
- Only a market's own pool objects log: a copy of a Pool (`copy.copy`,
  `dataclasses.replace`) and a pool replaced in the market have no log.
- Bounded by construction: one float pair and one flag per pool, however long nobody
  reads it (a pool written many times keeps its last reserves).
- One reader (the market's search) takes the entries; a second search over the same
  market sees an empty log and falls back to the reported pools' objects.
- Never written while it is taken: the venue writes between searches (on the market's
  worker, or on the loop while the worker is idle), the search takes it on the worker;
  the rule the Pool objects already follow.

Cost: the write adds ~0.3-0.5 µs to the writer (three stores at the slot, mostly cache
misses); the search's share drops from ~0.7-1.1 µs a changed pool to ~0.1
(docs/benchmarks.md, "Scaling of the per-block decision").
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from engine.market.model import Pool


@dataclass(frozen=True, slots=True)
class LogEntries:
    """What `ReserveLog.take` hands over: each written pool once, by ascending slot."""

    slots: npt.NDArray[np.int64]
    reserve0: npt.NDArray[np.float64]  # the last reserves written, as float() rounds them
    reserve1: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.slots)


class ReserveLog:
    """Slots of one market's pools, and the reserves written since the last take."""

    __slots__ = ("_dirty", "_pools", "_r0", "_r1")

    def __init__(self) -> None:
        self._pools: list[Pool | None] = []
        self._r0: array[float] = array("d")
        self._r1: array[float] = array("d")
        self._dirty = bytearray()

    def __len__(self) -> int:
        """Pools written since the last take."""
        return self._dirty.count(1)

    def attach(self, pool: Pool) -> None:
        """Give `pool` the next slot (a pool already here keeps its own)."""
        if self.owns(pool):
            return
        pool.slot = len(self._pools)
        pool.log = self
        self._pools.append(pool)
        self._r0.append(0.0)
        self._r1.append(0.0)
        self._dirty.append(0)

    def detach(self, pool: Pool) -> None:
        """`pool` left the market (replaced by another object): it logs no more."""
        if self.owns(pool):
            self._pools[pool.slot] = None
            pool.log = None

    def owns(self, pool: Pool) -> bool:
        slot = pool.slot
        return pool.log is self and 0 <= slot < len(self._pools) and self._pools[slot] is pool

    def write(self, pool: Pool, reserve0: int, reserve1: int) -> None:
        """Set the pool's reserves and log them; `pool` is this log's own (its `log`)."""
        pool.reserve0 = reserve0
        pool.reserve1 = reserve1
        slot = pool.slot
        self._r0[slot] = reserve0  # converted as float() does (correctly rounded)
        self._r1[slot] = reserve1
        self._dirty[slot] = 1

    def take(self) -> LogEntries:
        """Every pool written since the last take (the log is left empty)."""
        dirty = np.frombuffer(self._dirty, dtype=np.bool_)  # 0/1 bytes: nonzero is 3x faster
        slots = np.flatnonzero(dirty)
        dirty[slots] = False
        del dirty  # the buffer must not stay exported: `attach` grows it
        return LogEntries(
            slots,
            np.frombuffer(self._r0, dtype=np.float64)[slots],
            np.frombuffer(self._r1, dtype=np.float64)[slots],
        )
