"""Which provider to use right now: automatic failover, per-provider breakers, overrides.

Automatic mode keeps the active provider while it is usable and moves only when it is
not: down (failures in a row, wrong chain), lagging `FAILOVER_LAG` blocks behind the
best head, its breaker open, or marked offline by the operator. It moves to the best
usable one (healthy before degraded, then by `priority`), and goes back to a preferred
provider only once that one has answered `RECOVER_SUCCESSES` times in a row, so a
flapping endpoint does not pull the engine back and forth.

A pin is the operator's word and is never overridden: while pinned, the engine uses
that provider even when it is unusable (the `pinned_provider` guard then stops
trading, visibly), until the operator pins another or goes back to automatic.

Each provider has a breaker that counts every outcome its health record sees: enough
failures among the last few requests open it, and while open nobody calls the
endpoint (callers fail fast), until a cooldown lets one trial request through. The
cooldown doubles each time the breaker opens again, so an endpoint that flaps between
up and down is asked rarely instead of on every request.

No I/O here and the clock is injected: the evm venue passes wall time, the sim venue
its block number, which keeps simulated failover reproducible from the seed.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from engine.errors import ArbctlError
from engine.providers.health import DEGRADED_LAG, Health, Kind, Status

Mode = Literal["auto", "pinned"]
BreakerState = Literal["closed", "open", "half_open"]

FAILOVER_LAG = DEGRADED_LAG  # blocks behind the best head: the active one is replaced
RECOVER_SUCCESSES = 5  # answers in a row before automatic mode returns to a preferred one
HISTORY = 50  # switches kept for `providers`


class SelectionError(ArbctlError, ValueError):
    """An operator request the selector refuses (unknown name, pin an offline one...)."""


class UnknownProvider(SelectionError):
    """No provider of that name in this set."""


@dataclass(slots=True)
class Breaker:
    """Per-provider circuit breaker. Times are in the selector's clock units."""

    clock: Callable[[], float]
    cooldown: float
    max_cooldown: float
    failures: int = 3  # failures among the last `window` outcomes that open it
    window: int = 10
    state: BreakerState = "closed"
    retry_at: float = 0.0
    times_opened: int = 0
    _next_cooldown: float = 0.0
    _recent: deque[bool] = field(default_factory=deque)
    _trial_out: bool = False
    _clean: int = 0  # outcomes since it last closed, all successes

    def __post_init__(self) -> None:
        self._next_cooldown = self.cooldown
        self._recent = deque(maxlen=self.window)

    def blocked(self) -> bool:
        """Open and not due for a trial yet (no side effect, unlike `allow`)."""
        if self.state == "open":
            return self.clock() < self.retry_at
        return self.state == "half_open" and self._trial_out

    def allow(self) -> bool:
        """May a request go to the endpoint now? Half-open lets exactly one through."""
        if self.state == "closed":
            return True
        if self.state == "open":
            if self.clock() < self.retry_at:
                return False
            self.state, self._trial_out = "half_open", False
        if self._trial_out:
            return False
        self._trial_out = True
        return True

    def record(self, ok: bool) -> None:
        if self.state == "open" and self.clock() >= self.retry_at:
            self.state = "half_open"  # a request after the cooldown is the trial
        if self.state == "half_open":
            self.reset() if ok else self._open()
            return
        if self.state == "open":
            return  # an answer to a request sent before it opened decides nothing
        self._recent.append(ok)
        self._clean = self._clean + 1 if ok else 0
        if self._clean >= self.window:
            self._next_cooldown = self.cooldown  # stable again: forget the flapping
        if self._recent.count(False) >= self.failures:
            self._open()

    def trip(self) -> None:
        """Open now, whatever the window says: a failure that is proof on its own (a
        lender short of liquidity). The cooldown then offers it a trial, doubling."""
        if self.state != "open":
            self._open()

    def _open(self) -> None:
        self.state = "open"
        self.times_opened += 1
        self.retry_at = self.clock() + self._next_cooldown
        self._next_cooldown = min(self._next_cooldown * 2, self.max_cooldown)
        self._recent.clear()
        self._trial_out = False
        self._clean = 0

    def reset(self) -> None:
        """Closed, with a clean slate (a trial succeeded, or the operator vouched for it)."""
        self.state = "closed"
        self._recent.clear()
        self._trial_out = False
        self._clean = 0

    def view(self) -> BreakerView:
        return BreakerView(self.state, self.retry_at, self.times_opened)


@dataclass(frozen=True, slots=True)
class BreakerView:
    """A provider breaker at one moment, as screens and guards read it."""

    state: BreakerState
    retry_at: float
    times_opened: int

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "retry_at": self.retry_at, "times_opened": self.times_opened}


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    """One provider at one moment: its health numbers and the selector's view of it.

    What guards, screens and heartbeats read of a provider set (`Venue.provider_health`,
    `LiquiditySources.health`). Latency is kept to the microsecond and the success rate to
    a hundredth of a percent: the precision every reader judges and shows them at. The
    last fields belong to one kind of set and stay None elsewhere (`to_dict` leaves them
    out): `stalled` for simulated endpoints, `fee_bps` and `url` for lenders, `route_kind`
    for submission routes."""

    name: str
    kind: Kind
    status: Status
    latency_ms_ewma: float
    success_rate: float
    consecutive_failures: int
    last_error: str
    last_error_at: float
    head_lag: int
    last_head: int
    requests: int
    priority: int
    offline_reason: str
    active: bool
    pinned: bool
    usable: bool
    unusable_reason: str
    breaker: BreakerView
    stalled: bool | None = None
    fee_bps: int | None = None
    url: str | None = None
    route_kind: str | None = None  # submission routes: public | private | bundle
    # Every latency sample, per bucket of health.LATENCY_BOUNDS_MS (+ one above) and summed
    latency_counts: tuple[int, ...] = ()
    latency_sum_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The wire's health row (docs/protocol.md, `providers` and `status`)."""
        row: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "latency_ms_ewma": self.latency_ms_ewma,
            "success_rate": self.success_rate,
            "consecutive_failures": self.consecutive_failures,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "head_lag": self.head_lag,
            "last_head": self.last_head,
            "requests": self.requests,
            "priority": self.priority,
            "offline_reason": self.offline_reason,
            "active": self.active,
            "pinned": self.pinned,
            "usable": self.usable,
            "unusable_reason": self.unusable_reason,
            "breaker": self.breaker.to_dict(),
        }
        for name in ("stalled", "fee_bps", "url", "route_kind"):
            if (value := getattr(self, name)) is not None:
                row[name] = value
        if any(self.latency_counts):
            row["latency_counts"] = list(self.latency_counts)
            row["latency_sum_ms"] = round(self.latency_sum_ms, 3)
        return row


@dataclass(frozen=True, slots=True)
class Switch:
    """One change of the active provider or of the mode, and who caused it."""

    at: float
    event: str  # failover | recovered | pinned | automatic
    previous: str
    active: str
    mode: Mode
    reason: str
    actor: dict[str, Any] | None = None  # {uid, client} for operator changes

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "event": self.event,
            "previous": self.previous,
            "active": self.active,
            "mode": self.mode,
            "reason": self.reason,
            "actor": self.actor,
        }


@dataclass(frozen=True, slots=True)
class Selection:
    """One set's choice at one moment: what `providers` and the CLI show per kind."""

    mode: Mode
    pinned: str | None
    active: str
    reason: str
    since: float
    providers: tuple[ProviderStatus, ...]
    history: tuple[Switch, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "pinned": self.pinned,
            "active": self.active,
            "reason": self.reason,
            "since": self.since,
            "providers": [status.to_dict() for status in self.providers],
            "history": [switch.to_dict() for switch in self.history],
        }


class Selector:
    """The active provider of one set (RPC endpoints, or liquidity sources)."""

    def __init__(
        self,
        members: Sequence[Health],
        clock: Callable[[], float],
        cooldown: float,
        max_cooldown: float,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """`clock` times the breakers (the sim passes its block number); switches are
        stamped with `wall_clock`, for people."""
        if not members:
            raise ValueError("a provider set needs at least one provider")
        self.members = sorted(members, key=lambda h: h.priority)
        self._by_name = {h.name: h for h in self.members}
        self._clock = wall_clock
        self.breakers = {h.name: Breaker(clock, cooldown, max_cooldown) for h in self.members}
        for health in self.members:
            health.on_outcome = self.breakers[health.name].record
        self.mode: Mode = "auto"
        self.active = self.members[0].name
        self.reason = "highest priority"
        self.since = wall_clock()
        self.history: deque[Switch] = deque(maxlen=HISTORY)
        self._listeners: list[Callable[[Switch], None]] = []

    # --- reading ----------------------------------------------------------------------
    @property
    def pinned(self) -> str | None:
        return self.active if self.mode == "pinned" else None

    def health(self, name: str) -> Health:
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(self._by_name)
            raise UnknownProvider(f"no provider named {name!r} (known: {known})") from None

    def unusable_reason(self, name: str, reference: int) -> str:
        """Why this provider must not serve now; empty when it may."""
        health = self.health(name)
        if health.offline_reason:
            return f"marked offline by the operator: {health.offline_reason}"
        breaker = self.breakers[name]
        if breaker.blocked():
            return f"breaker open ({breaker.times_opened}x): {health.last_error}"
        down = health.down_reason(reference)
        if down:
            return f"down: {down}"
        lag = health.head_lag(reference)
        return f"lagging {lag} blocks behind the best head" if lag >= FAILOVER_LAG else ""

    def usable(self, name: str, reference: int) -> bool:
        return not self.unusable_reason(name, reference)

    def allow(self, name: str) -> bool:
        """May a request go to this provider now (its breaker)? Consumes a trial slot."""
        return self.breakers[name].allow()

    def statuses(self, reference: int) -> list[ProviderStatus]:
        """Every provider's health with the selector's view of it, by priority."""
        return [self._status(h, reference) for h in self.members]

    def _status(self, health: Health, reference: int) -> ProviderStatus:
        why = self.unusable_reason(health.name, reference)
        return ProviderStatus(
            name=health.name,
            kind=health.kind,
            status=health.status(reference),
            latency_ms_ewma=round(health.latency_ms_ewma, 3),
            success_rate=round(health.success_rate, 4),
            consecutive_failures=health.consecutive_failures,
            last_error=health.last_error,
            last_error_at=health.last_error_at,
            head_lag=health.head_lag(reference),
            last_head=health.last_head,
            requests=health.requests,
            priority=health.priority,
            offline_reason=health.offline_reason,
            active=health.name == self.active,
            pinned=health.name == self.pinned,
            usable=not why,
            unusable_reason=why,
            breaker=self.breakers[health.name].view(),
            latency_counts=tuple(health.latency_counts),
            latency_sum_ms=health.latency_sum_ms,
        )

    def selection(self, reference: int) -> Selection:
        """Which provider is active and why, with every provider's status and the switches."""
        return Selection(
            self.mode,
            self.pinned,
            self.active,
            self.reason,
            self.since,
            tuple(self.statuses(reference)),
            tuple(self.history),
        )

    def subscribe(self, listener: Callable[[Switch], None]) -> None:
        """`listener` hears every switch (the event publisher, in-flight request abort)."""
        self._listeners.append(listener)

    # --- automatic choice ------------------------------------------------------------
    def evaluate(self, reference: int) -> Switch | None:
        """Fail over if the active provider is unusable, or return to a preferred one that
        has recovered. Never while pinned. Returns the switch made, if any."""
        if self.mode == "pinned":
            return None
        why = self.unusable_reason(self.active, reference)
        if why:
            best = self._best_usable(reference, exclude=self.active)
            if best is None:
                return None  # nothing better: stay, requests fail and are retried
            return self._switch("failover", best, f"failover from {self.active}: {why}")
        preferred = self._recovered_preferred(reference)
        if preferred is None:
            return None
        reason = f"back to {preferred}: healthy again ({RECOVER_SUCCESSES}+ answers in a row)"
        return self._switch("recovered", preferred, reason)

    def _best_usable(self, reference: int, exclude: str = "") -> str | None:
        """Healthy before degraded, then by priority; None when nothing is usable."""
        usable = [h for h in self.members if h.name != exclude and self.usable(h.name, reference)]
        usable.sort(key=lambda h: (h.status(reference) != "healthy", h.priority))
        return usable[0].name if usable else None

    def _recovered_preferred(self, reference: int) -> str | None:
        current = self.health(self.active)
        for health in self.members:
            if health.priority >= current.priority:
                return None
            ready = health.consecutive_successes >= RECOVER_SUCCESSES
            if (
                ready
                and health.status(reference) == "healthy"
                and self.usable(health.name, reference)
            ):
                return health.name
        return None

    def choose(self, name: str, reason: str) -> Switch | None:
        """The owning set's own call (e.g. the primary did not answer at start); a pin
        still wins."""
        if self.mode == "pinned" or name == self.active:
            return None
        return self._switch("failover", name, reason)

    # --- operator overrides ------------------------------------------------------------
    def pin(self, name: str, reason: str, actor: dict[str, Any] | None = None) -> Switch:
        """Use `name` and nothing else until `automatic`; refused if it is marked offline."""
        health = self.health(name)
        if health.offline_reason:
            raise SelectionError(f"{name} is marked offline; mark it online before pinning it")
        self.mode = "pinned"
        return self._switch("pinned", name, f"pinned by the operator: {reason}", actor)

    def automatic(self, reason: str, reference: int, actor: dict[str, Any] | None = None) -> Switch:
        """Hand the choice back to the engine: the best usable provider by health/priority."""
        self.mode = "auto"
        best = self._best_usable(reference) or self.active
        return self._switch("automatic", best, f"automatic (operator: {reason})", actor)

    def mark(self, name: str, online: bool, reason: str, keep_one: bool = False) -> None:
        """Operator says a provider is (not) to be used, whatever its record says. Marking
        online also clears its failure streak and breaker and counts as its recovery (a
        preferred provider is returned to at once): the operator judged the health record
        a false positive (the runbook's "mark provider online"). `keep_one` refuses to
        mark the last provider offline (an engine without any RPC endpoint cannot even
        see the chain it would need to cancel on)."""
        health = self.health(name)
        if online:
            health.offline_reason = ""
            health.consecutive_failures = 0
            health.consecutive_successes = max(health.consecutive_successes, RECOVER_SUCCESSES)
            self.breakers[name].reset()
            return
        if self.pinned == name:
            raise SelectionError(f"{name} is pinned; pin another or go automatic first")
        others = [h for h in self.members if h.name != name and not h.offline_reason]
        if keep_one and not others:
            raise SelectionError(f"{name} is the last provider not marked offline")
        health.offline_reason = reason

    # --- internals -------------------------------------------------------------------
    def _switch(
        self, event: str, name: str, reason: str, actor: dict[str, Any] | None = None
    ) -> Switch:
        switch = Switch(self._clock(), event, self.active, name, self.mode, reason, actor)
        if name != self.active or event in ("pinned", "automatic"):
            self.since = switch.at
        self.active, self.reason = name, reason
        self.history.append(switch)
        for listener in self._listeners:
            listener(switch)
        return switch
