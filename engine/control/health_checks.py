"""Engine health in the monitoring convention: OK / WARNING / CRITICAL per check.

The thresholds are the runbooks': avg loop latency under 50 ms, the ledger reachable,
logs fresh, market data fresh. A halted engine is CRITICAL (a human must act), a
paused one WARNING; a halt the kill switch could not write to disk yet is CRITICAL on
its own check (`halt_latch`), saying why, so the operator knows a restart would come
up running. `arbctl health` maps the worst status to exit 0/1/2.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from engine import protocol
from engine.control.parts import ControlParts

OK, WARNING, CRITICAL = "OK", "WARNING", "CRITICAL"
_RANK = {OK: 0, WARNING: 1, CRITICAL: 2}

LOOP_WARN_MS = 50.0
LOOP_CRIT_MS = 250.0
LOOP_STALL_S = 2.0
HEAD_AGE_WARN_S = 30.0
LEDGER_PENDING_WARN = 1000


@dataclass(slots=True)
class HealthCheck:
    name: str
    status: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail}


def _state_check(parts: ControlParts) -> HealthCheck:
    state, reason = parts.lifecycle.state, parts.lifecycle.reason
    if state == protocol.HALTED:
        return HealthCheck("state", CRITICAL, f"halted: {reason}")
    if state in (protocol.PAUSED, protocol.STARTING, protocol.STOPPING):
        return HealthCheck("state", WARNING, f"{state}: {reason}")
    return HealthCheck("state", OK, "running")


def _latch_check(parts: ControlParts) -> HealthCheck:
    latch = parts.killswitch.to_dict()
    if not latch["halted"]:
        return HealthCheck("halt_latch", OK, "no halt latched")
    if latch["persisted"]:
        return HealthCheck("halt_latch", OK, f"halt persisted in {latch['path']}")
    detail = (
        f"halt NOT persisted to {latch['path']} after {latch['attempts']} attempts: "
        f"{latch['error'] or 'still writing'}; retrying every {latch['retry_s']:g} s"
    )
    return HealthCheck("halt_latch", CRITICAL, detail)


def _loop_check(parts: ControlParts) -> HealthCheck:
    avg = parts.loop.avg_loop_latency_ms
    stalled = parts.loop.seconds_since_tick()
    detail = f"avg {avg:.2f} ms, last tick {stalled:.2f} s ago"
    if stalled > LOOP_STALL_S or avg > LOOP_CRIT_MS:
        return HealthCheck("loop", CRITICAL, detail)
    if avg > LOOP_WARN_MS:
        return HealthCheck("loop", WARNING, detail)
    return HealthCheck("loop", OK, detail)


async def _ledger_check(parts: ControlParts) -> HealthCheck:
    writer = parts.ledger
    try:
        ms = await asyncio.wait_for(writer.store.ping(), 2.0)
    except Exception as exc:
        return HealthCheck("ledger", CRITICAL, f"{writer.store.backend} unreachable: {exc}")
    if not writer.healthy:
        return HealthCheck("ledger", CRITICAL, f"writes failing: {writer.last_error}")
    if writer.pending > LEDGER_PENDING_WARN:
        return HealthCheck("ledger", WARNING, f"{writer.pending} rows waiting to be written")
    return HealthCheck("ledger", OK, f"{writer.store.backend} ping {ms:.2f} ms")


def _redis_check(parts: ControlParts) -> HealthCheck | None:
    """Redis is optional: unreachable is a WARNING, never CRITICAL — trading goes on."""
    if not parts.config.redis.url:
        return None
    if parts.fleet is None:
        return HealthCheck("redis", WARNING, "not connected yet")
    ok, detail = parts.fleet.redis_health()
    return HealthCheck("redis", OK if ok else WARNING, detail)


def _market_check(parts: ControlParts) -> HealthCheck:
    head = parts.market.head()
    if head is None:
        return HealthCheck("market_data", WARNING, "no block received yet")
    age = round(head.age_s, 3)
    if age > HEAD_AGE_WARN_S:
        return HealthCheck("market_data", WARNING, f"head is {age:.1f} s old")
    return HealthCheck("market_data", OK, f"block {head.block} {age:.1f} s old")


async def evaluate_health(parts: ControlParts) -> dict[str, Any]:
    checks = [_state_check(parts), _latch_check(parts), _loop_check(parts)]
    checks.append(await _ledger_check(parts))
    checks.append(_market_check(parts))
    if (redis := _redis_check(parts)) is not None:
        checks.append(redis)
    worst = max(checks, key=lambda c: _RANK[c.status]).status
    return {"status": worst, "checks": [c.to_dict() for c in checks]}
