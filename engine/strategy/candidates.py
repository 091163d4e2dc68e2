"""The cycles a block's ranking looks at, kept up to date from the cycles it re-evaluated.

The decision ranks cycles by float net value in quote, `(gross - gas) * to_quote`, and
re-checks at most `depth` of them. Gas and the quote rate change every block, so no order
survives from one block to the next; but both are the same for every cycle of one *group*
(same route shape, same start token), and within a group the value and the "clears gas"
filter only ever rise with the float gross profit (float rounding is monotone). So the
`depth` best cycles of a group are always among its `depth` largest gross profits, and the
best `depth` overall are among the union of those. A group therefore keeps a gross
*threshold*: its members are its positive cycles at or above it, at least `depth` of them
unless the threshold is 0 (then every positive cycle of the group is a member).

A block updates membership only for the cycles it re-evaluated (O(touched)), and a group
whose members fell below `depth` re-reads its own cycles once to lower its threshold
(rare in a stationary market: cycles leave and join the top at the same rate); one that
grew past `2 * target` raises it among its members. The ranking then reads a few
thousand members instead of every positive cycle of the market.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# Members a group aims for after a refill, in units of `depth`: headroom so that a group
# losing some of its top cycles in one block does not need to re-read its cycles.
_TARGET = 2
# A group with more than this many times `target` members raises its threshold.
_HIGH = 2


class CandidateSet:
    """Per-group gross thresholds and the member cycles at or above them."""

    def __init__(self, group: npt.NDArray[np.int32], n_groups: int, depth: int) -> None:
        self._group = group
        self._n_groups = n_groups
        self._depth = depth
        self._target = _TARGET * depth
        order = np.argsort(group, kind="stable")
        counts = np.bincount(group, minlength=n_groups)
        self._group_start = np.zeros(n_groups + 1, dtype=np.int64)
        np.cumsum(counts, out=self._group_start[1:])
        self._group_cycles = order.astype(np.int64)
        self._threshold = np.zeros(n_groups, dtype=np.float64)
        self._count = np.zeros(n_groups, dtype=np.int64)
        self._members: IntArray = np.empty(0, dtype=np.int64)
        self.refills = 0  # groups that re-read their cycles (for the benchmark)

    @property
    def members(self) -> IntArray:
        """Every member cycle (unordered): a superset of each group's `depth` best."""
        return self._members

    def reset(self, gross: FloatArray) -> None:
        """Membership from scratch (a full pass): thresholds kept, then groups repaired.

        Only the positive cycles (a few percent of a market) are compared with their
        group's threshold: no per-cycle gather over the whole table."""
        positive = np.flatnonzero(gross > 0.0)
        above = gross[positive] >= self._threshold[self._group[positive]]
        self._members = positive[above]
        self._count = np.bincount(self._group[self._members], minlength=self._n_groups)
        self._repair(gross)

    def update(
        self, cycles: IntArray, values: FloatArray, gross: FloatArray, touched: BoolArray
    ) -> None:
        """`cycles` (distinct, flagged in `touched`) have the new values `values`, already
        stored in `gross`.

        O(touched) only in two passes over `values` (a compare and its non-zeros); the
        rest is over the members and the touched positive cycles, a few percent of them:
        the members among the touched (`was`) come from the member list, not from a
        per-cycle flag."""
        if not len(cycles):
            return
        touched_member = touched[self._members]
        was = self._members[touched_member]
        kept = self._members[~touched_member]
        positive = np.flatnonzero(values > 0.0)
        candidates = cycles[positive]
        group = self._group[candidates]
        above = values[positive] >= self._threshold[group]
        now = candidates[above]
        n_groups = self._n_groups
        self._count += np.bincount(group[above], minlength=n_groups)
        self._count -= np.bincount(self._group[was], minlength=n_groups)
        self._members = np.concatenate((kept, now))
        self._repair(gross)

    def _repair(self, gross: FloatArray) -> None:
        low = (self._count < self._depth) & (self._threshold > 0.0)
        high = self._count > _HIGH * self._target
        for g in np.flatnonzero(low | high).tolist():
            if low[g]:
                self._refill(g, gross)
            else:
                self._trim(g, gross)

    def _refill(self, g: int, gross: FloatArray) -> None:
        """Re-read the group's cycles: threshold down to its `target`-th best (or 0)."""
        self.refills += 1
        cycles = self._group_cycles[self._group_start[g] : self._group_start[g + 1]]
        values = gross[cycles]
        self._threshold[g] = _kth_largest_positive(values, self._target)
        self._set_group(g, cycles, values)

    def _trim(self, g: int, gross: FloatArray) -> None:
        """Raise the threshold among the group's members to its `target`-th best."""
        members = self._members[self._group[self._members] == g]
        values = gross[members]
        self._threshold[g] = _kth_largest_positive(values, self._target)
        self._set_group(g, members, values)

    def _set_group(self, g: int, cycles: IntArray, values: FloatArray) -> None:
        now = (values > 0.0) & (values >= self._threshold[g])
        self._count[g] = int(np.count_nonzero(now))
        others = self._members[self._group[self._members] != g]
        self._members = np.concatenate((others, cycles[now]))


def _kth_largest_positive(values: FloatArray, k: int) -> float:
    """The k-th largest positive value, or 0.0 when there are at most k positive ones."""
    positive = values[values > 0.0]
    if len(positive) <= k:
        return 0.0
    return float(np.partition(positive, len(positive) - k)[len(positive) - k])
