"""Which way a block brings its cycles' numbers up to date: by estimated CPU, learnt.

A block either re-evaluates the cycles through its changed pools (incremental: gather
them, de-duplicate, evaluate, update the candidate set; its cost grows with the touched
cycles, counted with repeats) or every cycle in table order (a full pass: its cost grows
with the table). Both leave the same numbers (engine.strategy.search), so the choice may
only change how long a block takes, never what it decides; it is made by comparing the
two estimates, `touches * per_touch` against `cycles * per_cycle`.

The estimates are CPU seconds per unit, learnt from what the search measured for each
path (an exponential average, so they follow the kernel backend, the V3 pre-filter and
the machine), starting from the figures measured with the numpy kernel at 100k pools
(scripts/bench/scale.py, docs/benchmarks.md "after fullpass"). Three guards keep one
noisy stretch from steering the choice for good (a path the estimates stopped choosing
is not measured again): one measurement moves an estimate by at most `_WEIGHT` of
`_CLAMP` times itself; an estimate stays within `_BAND` times its prior; and a block that
touched under `_MIN_SHARE` of the table teaches nothing (its time is mostly fixed costs,
Python calls and the scan of the touched flags, which a per-cycle figure would inflate
tenfold at 1 % of a small market; the choice is only ever close near a third).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

# CPU seconds per touched cycle (with repeats) of the incremental path and per cycle of a
# full pass, numpy kernel, 100k pools (1.03M cycles), candidate update / rebuild included.
PRIOR_PER_TOUCH = 30e-9
PRIOR_PER_CYCLE = 9e-9
# Weight of one measurement in the average, and how far from the estimate it may pull.
_WEIGHT = 0.1
_CLAMP = 4.0
# Learnt estimates stay within this factor of their prior.
_BAND = 2.0
# Incremental blocks touching less than this share of the table are not learnt from.
_MIN_SHARE = 0.05


@dataclass(frozen=True, slots=True)
class PassCosts:
    """Estimated CPU seconds per touched cycle (incremental) and per cycle (full pass)."""

    per_touch: float = PRIOR_PER_TOUCH
    per_cycle: float = PRIOR_PER_CYCLE

    def full_pass_cheaper(self, touches: int, cycles: int) -> bool:
        """Whether a full pass over `cycles` costs less than touching `touches` cycles."""
        return touches * self.per_touch > cycles * self.per_cycle

    def observed_incremental(self, touches: int, cycles: int, seconds: float) -> PassCosts:
        """The estimates after an incremental block touched `touches` cycles of a table of
        `cycles` in `seconds`."""
        if touches <= 0 or touches < _MIN_SHARE * cycles:
            return self
        learnt = _learn(self.per_touch, seconds / touches, PRIOR_PER_TOUCH)
        return dataclasses.replace(self, per_touch=learnt)

    def observed_full(self, cycles: int, seconds: float) -> PassCosts:
        """The estimates after a full pass over `cycles` cycles took `seconds`."""
        if cycles <= 0:
            return self
        learnt = _learn(self.per_cycle, seconds / cycles, PRIOR_PER_CYCLE)
        return dataclasses.replace(self, per_cycle=learnt)


def _learn(estimate: float, measured: float, prior: float) -> float:
    bounded = min(max(measured, estimate / _CLAMP), estimate * _CLAMP)
    learnt = (1.0 - _WEIGHT) * estimate + _WEIGHT * bounded
    return min(max(learnt, prior / _BAND), prior * _BAND)
