"""Simulated RPC providers: latency, errors and stalls, and the health signals they leave.

Blocks reach the engine through the active provider, the way a websocket `newHeads`
subscription would. Each provider has a nominal latency, an error rate and a stall
probability from the config; what happens on each attempt is drawn from the provider's
own random stream, so provider behaviour never perturbs the market. The reported
latency is the simulated one (at the 1 s block scale of the config); the actual wait is
scaled by `block_ms / 1000` so a test at 20 ms blocks stays fast.

Failover is deliberately simple for now: when the active provider errors, the same
block is retried on the next provider by priority so blocks keep flowing; a stall on
the active provider is silent (nothing arrives until it recovers), exactly the failure
a head-lag based failover will have to detect.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from engine.config import SimSection
from engine.market.sim.seeds import stream

Status = Literal["healthy", "degraded", "down"]

EWMA_WEIGHT = 0.2
WINDOW = 50  # attempts kept for the success rate
STALL_BLOCKS = (2, 5)  # a stall withholds this many blocks
DOWN_FAILURES = 3
DOWN_LAG = 5
ERRORS = (
    "HTTP 502 Bad Gateway",
    "HTTP 429 Too Many Requests",
    "timeout after 2000 ms",
    "connection reset by peer",
    "-32603 internal error",
)
NAMES = ("alpha-rpc", "bravo-rpc", "charlie-rpc", "delta-rpc", "echo-rpc", "foxtrot-rpc")

Outcome = Literal["ok", "error", "stall"]


@dataclass(slots=True)
class Attempt:
    outcome: Outcome
    latency_ms: float
    error: str = ""
    stall_blocks: int = 0


@dataclass(slots=True)
class SimProvider:
    """One endpoint: its nominal behaviour, its random stream, and its health record."""

    name: str
    priority: int
    latency_ms: float
    error_rate: float
    stall_probability: float
    rng: random.Random
    latency_ms_ewma: float = 0.0
    consecutive_failures: int = 0
    last_error: str = ""
    last_head: int = -1  # highest block this provider has delivered or reported
    stalled_until: int = -1  # withholds blocks while the chain head is below this
    attempts: int = 0
    window: deque[bool] = field(default_factory=lambda: deque(maxlen=WINDOW))

    def attempt(self) -> Attempt:
        """Draw what happens on one request for a block."""
        latency = self.latency_ms * self.rng.lognormvariate(0.0, 0.35)
        if self.rng.random() < self.stall_probability:
            return Attempt("stall", latency, stall_blocks=self.rng.randint(*STALL_BLOCKS))
        if self.rng.random() < self.error_rate:
            return Attempt("error", latency, error=self.rng.choice(ERRORS))
        return Attempt("ok", latency)

    def stalled(self, head: int) -> bool:
        return head < self.stalled_until

    def record(self, attempt: Attempt, number: int, head: int) -> None:
        """Fold one attempt to serve block `number` (chain at `head`) into the signals."""
        self.attempts += 1
        self._observe_latency(attempt.latency_ms)
        if attempt.outcome == "error":
            self.window.append(False)
            self.consecutive_failures += 1
            self.last_error = attempt.error
            return
        if attempt.outcome == "stall":
            self.stalled_until = head + attempt.stall_blocks
            self.last_error = f"stalled: no new heads since block {self.last_head}"
            return
        self.window.append(True)
        self.consecutive_failures = 0
        self.last_head = max(self.last_head, number)

    def _observe_latency(self, latency_ms: float) -> None:
        if self.attempts == 1:
            self.latency_ms_ewma = latency_ms
        else:
            self.latency_ms_ewma += EWMA_WEIGHT * (latency_ms - self.latency_ms_ewma)

    @property
    def success_rate(self) -> float:
        return sum(self.window) / len(self.window) if self.window else 1.0

    def head_lag(self, head: int) -> int:
        return max(0, head - self.last_head)

    def status(self, head: int) -> Status:
        lag = self.head_lag(head)
        if self.consecutive_failures >= DOWN_FAILURES or lag >= DOWN_LAG:
            return "down"
        if self.consecutive_failures or lag >= 2 or self.success_rate < 0.9:
            return "degraded"
        if self.latency_ms_ewma > 3 * self.latency_ms:
            return "degraded"
        return "healthy"

    def health(self, head: int, active: bool) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status(head),
            "latency_ms_ewma": round(self.latency_ms_ewma, 3),
            "success_rate": round(self.success_rate, 4),
            "consecutive_failures": self.consecutive_failures,
            "last_error": self.last_error,
            "head_lag": self.head_lag(head),
            "active": active,
            "priority": self.priority,
            "stalled": self.stalled(head),
        }


def build_providers(sim: SimSection) -> list[SimProvider]:
    """`sim.providers` endpoints in priority order, each with its own random stream."""
    return [
        SimProvider(
            name=NAMES[i] if i < len(NAMES) else f"rpc-{i}",
            priority=i,
            latency_ms=sim.provider_latency_ms[i],
            error_rate=sim.provider_error_rate[i],
            stall_probability=sim.provider_stall_probability[i],
            rng=stream(sim.seed, f"provider:{i}"),
        )
        for i in range(sim.providers)
    ]


class ProviderSet:
    """The providers in priority order; the first is active (failover comes later)."""

    def __init__(self, providers: list[SimProvider]) -> None:
        if not providers:
            raise ValueError("at least one provider is required")
        self.providers = sorted(providers, key=lambda p: p.priority)
        self.active = self.providers[0]

    def withholding(self, head: int) -> bool:
        """True while the active provider stalls: nothing arrives, the chain moves on."""
        return self.active.stalled(head)

    def probe_backups(self, head: int) -> None:
        """Backups follow the chain too (like a health checker polling them each block)."""
        for provider in self.providers:
            if provider is self.active or provider.stalled(head):
                continue
            provider.record(provider.attempt(), head, head)

    def health(self, head: int) -> list[dict[str, Any]]:
        return [p.health(head, p is self.active) for p in self.providers]
