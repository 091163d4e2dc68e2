"""What the control plane reads and steers of the engine, handed over once by the daemon.

`ControlParts` is frozen: the daemon builds it once, with every part it will ever hold
(an optional part, like the Redis link, is None from the start), so a method adapter
never sees a half-wired engine. What start-up only learns after the socket is up — the
market (the socket answers `starting` while it loads), the pid file's nonce, the recovery
report, the breaker — arrives through one `EngineView`, whose setters the daemon calls
once each; everything else reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from engine.audit import AuditTrail
from engine.bus import EventBus
from engine.config import Config
from engine.execution.gate import SendGate
from engine.killswitch import KillSwitch
from engine.ledger.writer import LedgerWriter
from engine.lifecycle import Lifecycle
from engine.market.venue import HeadStatus
from engine.telemetry.loop import LoopMonitor
from engine.telemetry.resources import ResourceSampler


class MarketView(Protocol):
    """What the control plane may read of the trading side (the pipeline implements it)."""

    def market_status(self) -> dict[str, Any]: ...

    def head(self) -> HeadStatus | None: ...

    def recent_opportunities(self, limit: int) -> list[dict[str, Any]]: ...

    def units(self) -> dict[str, Any]: ...

    def names(self) -> dict[str, Any]: ...


class RedisHealth(Protocol):
    """What the health check reads of the optional Redis part (engine/fleet)."""

    def redis_health(self) -> tuple[bool, str]: ...


class Reported(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class _MarketLoading:
    """What the control plane sees of the market before the venue has loaded."""

    def market_status(self) -> dict[str, Any]:
        return {"venue": None, "chain": None, "block": None, "head_age_s": None}

    def head(self) -> None:
        return None

    def recent_opportunities(self, limit: int) -> list[dict[str, Any]]:
        return []

    def units(self) -> dict[str, Any]:
        return {}

    def names(self) -> dict[str, Any]:
        return {"tokens": {}, "pools": {}}


class EngineView:
    """The market and what start-up learns late, as `status` and the heartbeat show it.

    Keys follow the market's own, in the order start-up learns them: `instance` (the
    socket listens), `recovery` (evm only), `breaker` (the pipeline trades).
    """

    def __init__(self) -> None:
        self._market: MarketView = _MarketLoading()
        self._instance: str | None = None
        self._recovery: Reported | None = None
        self._breaker: Callable[[], dict[str, Any]] | None = None

    def identified(self, nonce: str) -> None:
        """The pid file is written: `status` repeats its nonce as `instance`."""
        self._instance = nonce

    def recovered(self, report: Reported) -> None:
        """What a previous run sent and never booked, as recovery found it."""
        self._recovery = report

    def trading(self, market: MarketView, breaker: Callable[[], dict[str, Any]]) -> None:
        """The pipeline is built: the market is live and the breaker has a state."""
        self._market = market
        self._breaker = breaker

    def market_status(self) -> dict[str, Any]:
        merged = self._market.market_status()
        if self._instance is not None:
            merged["instance"] = self._instance
        if self._recovery is not None:
            merged["recovery"] = self._recovery.to_dict()
        if self._breaker is not None:
            merged["breaker"] = self._breaker()
        return merged

    def head(self) -> HeadStatus | None:
        return self._market.head()

    def recent_opportunities(self, limit: int) -> list[dict[str, Any]]:
        return self._market.recent_opportunities(limit)

    def units(self) -> dict[str, Any]:
        return self._market.units()

    def names(self) -> dict[str, Any]:
        return self._market.names()


@dataclass(frozen=True, slots=True)
class ControlParts:
    config: Config
    socket_path: str
    state_dir: str
    started_at: float
    bus: EventBus
    lifecycle: Lifecycle
    gate: SendGate
    killswitch: KillSwitch
    audit: AuditTrail
    ledger: LedgerWriter
    loop: LoopMonitor
    resources: ResourceSampler
    market: EngineView
    client_count: Callable[[], int]
    request_shutdown: Callable[[str], None]
    fleet: RedisHealth | None  # None without [redis]

    def market_status(self) -> dict[str, Any]:
        return self.market.market_status()
