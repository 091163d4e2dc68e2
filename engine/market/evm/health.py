"""What one RPC endpoint has been like lately: the signals failover and the guards read.

Every request the engine makes through a provider is folded in here (latency, answered
or not), and the block follower adds the heads the provider delivered. The record is
plain data with no I/O, so the same numbers back `provider_health()`, the status screen
and (next) the automatic failover that picks the active provider from them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["healthy", "degraded", "down"]

EWMA_WEIGHT = 0.2  # same smoothing as the simulated providers, so dashboards compare
WINDOW = 50  # requests kept for the success rate
DOWN_FAILURES = 3  # consecutive failed requests: down
DOWN_LAG = 5  # blocks behind the best head any provider has shown: down


@dataclass(slots=True)
class ProviderHealth:
    name: str
    priority: int
    latency_ms_ewma: float = 0.0
    consecutive_failures: int = 0
    last_error: str = ""
    last_error_at: float = 0.0
    last_head: int = -1  # highest block this provider has delivered
    requests: int = 0
    answered: int = 0
    window: deque[bool] = field(default_factory=lambda: deque(maxlen=WINDOW))

    def record_ok(self, latency_ms: float) -> None:
        """An answer arrived (a JSON-RPC error reply, e.g. a revert, is still an answer)."""
        self._observe_latency(latency_ms)
        self.window.append(True)
        self.consecutive_failures = 0

    def record_failure(self, error: str, at: float) -> None:
        """No usable answer: refused, timed out, HTTP error, malformed reply."""
        self.requests += 1
        self.window.append(False)
        self.consecutive_failures += 1
        self.last_error = error
        self.last_error_at = at

    def record_head(self, number: int) -> None:
        self.last_head = max(self.last_head, number)

    def _observe_latency(self, latency_ms: float) -> None:
        self.requests += 1
        self.answered += 1
        if self.answered == 1:
            self.latency_ms_ewma = latency_ms
        else:
            self.latency_ms_ewma += EWMA_WEIGHT * (latency_ms - self.latency_ms_ewma)

    @property
    def success_rate(self) -> float:
        return sum(self.window) / len(self.window) if self.window else 1.0

    def head_lag(self, best_head: int) -> int:
        return max(0, best_head - self.last_head) if self.last_head >= 0 else 0

    def status(self, best_head: int) -> Status:
        lag = self.head_lag(best_head)
        if self.consecutive_failures >= DOWN_FAILURES or lag >= DOWN_LAG:
            return "down"
        if self.consecutive_failures or lag >= 2 or self.success_rate < 0.9:
            return "degraded"
        return "healthy"

    def to_dict(self, best_head: int, active: bool) -> dict[str, Any]:
        """The `provider_health()` row: the sim venue's field names, plus the error time."""
        return {
            "name": self.name,
            "status": self.status(best_head),
            "latency_ms_ewma": round(self.latency_ms_ewma, 3),
            "success_rate": round(self.success_rate, 4),
            "consecutive_failures": self.consecutive_failures,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "head_lag": self.head_lag(best_head),
            "last_head": self.last_head,
            "active": active,
            "priority": self.priority,
        }
