"""Simulated RPC providers: latency, errors and stalls, and the health signals they leave.

Blocks reach the engine through the active provider, the way a websocket `newHeads`
subscription would. Each provider has a nominal latency, an error rate and a stall
probability from the config; what happens on each attempt is drawn from the provider's
own random stream, so provider behaviour never perturbs the market. The reported
latency is the simulated one (at the 1 s block scale of the config); the actual wait is
scaled by `block_ms / 1000` so a test at 20 ms blocks stays fast.

Health and the choice of the active provider are the shared ones
(engine/providers/health.py, selector.py), so the sim shows the same statuses, fails
over on the same rules and obeys the same operator pins as the evm venue:
- a block the active provider errors on is fetched from the next provider by priority
  (unless pinned: then only the pinned one is asked);
- a stall on the active provider is silent (nothing arrives); the provider falls behind
  the chain head and, at `FAILOVER_LAG` blocks, automatic failover replaces it;
- the selector's clock is the chain head, so breaker cooldowns are counted in blocks and
  a seed replays the same failovers however fast the machine is.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field, replace
from typing import Literal

from engine.config import SimSection
from engine.market.sim.seeds import stream
from engine.providers.health import Health
from engine.providers.selector import ProviderStatus, Selector, Switch

STALL_BLOCKS = (2, 5)  # a stall withholds this many blocks
BREAKER_COOLDOWN_BLOCKS = 2.0
BREAKER_MAX_COOLDOWN_BLOCKS = 32.0
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
    stalled_until: int = -1  # withholds blocks while the chain head is below this
    health: Health = field(init=False)

    def __post_init__(self) -> None:
        self.health = Health(self.name, self.priority, nominal_latency_ms=self.latency_ms)

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
        health = self.health
        health.observe_latency(attempt.latency_ms)
        if attempt.outcome == "error":
            health.record_failure(attempt.error, time.time())
        elif attempt.outcome == "stall":
            self.stalled_until = head + attempt.stall_blocks
            health.last_error = f"stalled: no new heads since block {health.last_head}"
        else:
            health.record_ok()
            health.record_head(max(health.last_head, number))


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
    """The providers, and the selector's choice among them at the current chain head."""

    def __init__(self, providers: list[SimProvider]) -> None:
        if not providers:
            raise ValueError("at least one provider is required")
        self.members = sorted(providers, key=lambda p: p.priority)
        self._by_name = {p.name: p for p in self.members}
        self._head = 0
        self.selector = Selector(
            [p.health for p in self.members],
            lambda: float(self._head),
            BREAKER_COOLDOWN_BLOCKS,
            BREAKER_MAX_COOLDOWN_BLOCKS,
        )

    @property
    def active(self) -> SimProvider:
        return self._by_name[self.selector.active]

    @property
    def providers(self) -> list[SimProvider]:
        """Whom to ask for a block, in order: the active one, then the others by priority
        that may be asked (not offline, breaker not open). Only the pinned one when pinned:
        trading must never move off a pin behind the operator's back."""
        active = self.active
        if self.selector.pinned:
            return [active]
        others = [p for p in self.members if p is not active and self._askable(p)]
        return [active, *others]

    @property
    def reference(self) -> int:
        """Lag is measured against the chain head."""
        return self._head

    def _askable(self, provider: SimProvider) -> bool:
        blocked = self.selector.breakers[provider.name].blocked()
        return not provider.health.offline_reason and not blocked

    def at(self, head: int) -> Switch | None:
        """The chain is at `head`: re-judge the active provider (automatic failover)."""
        self._head = max(self._head, head)
        return self.selector.evaluate(self._head)

    def withholding(self, head: int) -> bool:
        """True while the active provider stalls: nothing arrives, the chain moves on."""
        self.at(head)
        return self.active.stalled(head)

    def probe_backups(self, head: int) -> None:
        """Backups follow the chain too (like a health checker polling them each block)."""
        self.at(head)
        for provider in self.members:
            if provider is self.active or provider.stalled(head):
                continue
            if self.selector.allow(provider.name):
                provider.record(provider.attempt(), head, head)
        self.at(head)

    def health(self, head: int) -> list[ProviderStatus]:
        self._head = max(self._head, head)
        statuses = self.selector.statuses(self._head)
        return [
            replace(status, stalled=provider.stalled(head))
            for status, provider in zip(statuses, self.members, strict=True)
        ]
