"""What one provider has been like lately: the numbers failover, guards and screens read.

One record serves every kind of provider. The sim venue folds in its simulated attempts,
the evm venue every JSON-RPC request and every head an endpoint reports, the liquidity
sources the flash-borrow outcome of each booked trade. Keeping a single model means a
"degraded" RPC endpoint and a "degraded" lender are judged by the same thresholds, and
the status screen, the `max_head_lag` guard and the automatic failover never disagree.

The record is plain data with no I/O and no clock of its own (callers pass times), so
unit tests drive it with plain values and the sim venue stays deterministic.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Status = Literal["healthy", "degraded", "down", "offline"]
Kind = Literal["rpc", "liquidity", "route"]

EWMA_WEIGHT = 0.2  # latency smoothing: a few slow answers show, one does not dominate
WINDOW = 50  # outcomes kept for the success rate
DOWN_FAILURES = 3  # consecutive failures: down
DOWN_LAG = 5  # blocks behind the reference head: down
DEGRADED_LAG = 2  # blocks behind: degraded (and, for the active provider, a failover)
DEGRADED_SUCCESS_RATE = 0.9
SLOW_FACTOR = 3.0  # latency this many times the nominal one: degraded (when nominal is known)
# Upper bounds (ms, inclusive) of the latency histogram every sample is counted in, plus
# one bucket above the last: Prometheus' `rpc_latency_seconds` is built from these counts
# (the EWMA above is for judging; a histogram of every request is for percentiles).
LATENCY_BOUNDS_MS = (5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0)


@dataclass(slots=True)
class Health:
    name: str
    priority: int
    kind: Kind = "rpc"
    nominal_latency_ms: float = 0.0  # what the endpoint should answer in; 0: unknown
    latency_ms_ewma: float = 0.0
    latency_samples: int = 0
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    last_error: str = ""
    last_error_at: float = 0.0
    last_head: int = -1  # the newest block the provider reported (-1: none yet)
    requests: int = 0
    answered: int = 0
    problem: str = ""  # a condition that makes it unusable whatever its record (wrong chain)
    offline_reason: str = ""  # set while the operator has marked it offline
    window: deque[bool] = field(default_factory=lambda: deque(maxlen=WINDOW))
    latency_counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS_MS) + 1))
    latency_sum_ms: float = 0.0
    # Told every outcome (True: answered): the selector's per-provider breaker listens here,
    # so every request any part makes through the provider counts, not only routed ones.
    on_outcome: Callable[[bool], None] | None = None

    # --- what happened --------------------------------------------------------------
    def observe_latency(self, latency_ms: float) -> None:
        self.latency_samples += 1
        self.latency_counts[bisect_left(LATENCY_BOUNDS_MS, latency_ms)] += 1
        self.latency_sum_ms += latency_ms
        if self.latency_samples == 1:
            self.latency_ms_ewma = latency_ms
        else:
            self.latency_ms_ewma += EWMA_WEIGHT * (latency_ms - self.latency_ms_ewma)

    def record_ok(self, latency_ms: float | None = None) -> None:
        """An answer arrived (a JSON-RPC error reply, e.g. a revert, is still an answer)."""
        if latency_ms is not None:
            self.observe_latency(latency_ms)
        self.requests += 1
        self.answered += 1
        self.window.append(True)
        self.consecutive_failures = 0
        self.consecutive_successes += 1
        self._tell(True)

    def record_failure(self, error: str, at: float) -> None:
        """No usable answer: refused, timed out, HTTP error, malformed or stale reply."""
        self.requests += 1
        self.window.append(False)
        self.consecutive_failures += 1
        self.consecutive_successes = 0
        self.last_error = error
        self.last_error_at = at
        self._tell(False)

    def record_definitive_failure(self, error: str, at: float) -> None:
        """A failure that is proof on its own (a lender refusing a loan for its own
        reason: drained, paused): down at once, not after DOWN_FAILURES in a row."""
        self.record_failure(error, at)
        self.consecutive_failures = max(self.consecutive_failures, DOWN_FAILURES)

    def record_head(self, number: int) -> None:
        """The newest block the provider reports; a provider that starts serving an older
        block than before is *behind* now, which is exactly what the lag must show."""
        self.last_head = number

    def _tell(self, ok: bool) -> None:
        if self.on_outcome is not None:
            self.on_outcome(ok)

    # --- judgements -----------------------------------------------------------------
    @property
    def success_rate(self) -> float:
        return sum(self.window) / len(self.window) if self.window else 1.0

    def head_lag(self, reference: int) -> int:
        """Blocks behind `reference` (the chain head, or the best head any provider
        reported). One that never reported a head is behind by all of them: it must not
        look in sync just because it never answered."""
        return max(0, reference - self.last_head)

    def status(self, reference: int) -> Status:
        if self.offline_reason:
            return "offline"
        lag = self.head_lag(reference)
        if self.problem or self.consecutive_failures >= DOWN_FAILURES or lag >= DOWN_LAG:
            return "down"
        if self.consecutive_failures or lag >= DEGRADED_LAG:
            return "degraded"
        if self.success_rate < DEGRADED_SUCCESS_RATE or self._slow():
            return "degraded"
        return "healthy"

    def _slow(self) -> bool:
        nominal = self.nominal_latency_ms
        return bool(nominal) and self.latency_ms_ewma > SLOW_FACTOR * nominal

    def down_reason(self, reference: int) -> str:
        """Why `status` says down, in the words an operator needs (empty if it is not)."""
        if self.problem:
            return self.problem
        if self.consecutive_failures >= DOWN_FAILURES:
            return f"{self.consecutive_failures} failures in a row: {self.last_error}"
        lag = self.head_lag(reference)
        return f"{lag} blocks behind" if lag >= DOWN_LAG else ""
