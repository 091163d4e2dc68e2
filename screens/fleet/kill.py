"""The fleet-wide kill: the shared halt flag, and every engine's own kill, at once.

Both ways, because each covers what the other cannot: the flag in Redis reaches engines
this console has no socket to (other hosts), and an engine's own `kill` over its socket
is acknowledged — we know it halted, and its halt is persisted — even when Redis is down.
They run concurrently; neither waits for the other.

An engine that does not take the kill is halted the way the single-engine console does
it (arbctl/offline_kill.py: halt marker first, then signal the proven pid), but only when
its socket is its own on this host: a forwarded socket's state dir is on another machine,
and a marker written into a same-named local directory would halt the wrong engine.
Every engine gets one line in the report; the report is complete only if every engine
halted and, when Redis is used, the flag was set.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arbctl.client.aio import AsyncClient
from arbctl.client.core import EngineUnreachable, RpcError
from arbctl.commands.fleet import RedisTarget
from arbctl.offline_kill import CONSOLE_SOURCE, KillReport, offline_kill
from screens.app import describe_fallback
from screens.connection import CLIENT_NAME, audited
from screens.fleet.model import EngineRow

KILL_TIMEOUT_S = 2.0
FLEET_KILL_REASON = "emergency kill from the fleet console"


@dataclass(frozen=True, slots=True)
class EngineKill:
    """One engine's outcome: halted means acknowledged and persisted (or marker written)."""

    label: str
    halted: bool
    detail: str


@dataclass(frozen=True, slots=True)
class FleetKillReport:
    flag_set: bool | None  # None: no Redis to set it in
    flag_detail: str
    results: tuple[EngineKill, ...]
    finished_at: float

    @property
    def failed(self) -> tuple[EngineKill, ...]:
        return tuple(r for r in self.results if not r.halted)

    @property
    def complete(self) -> bool:
        return not self.failed and self.flag_set is not False

    def summary(self) -> str:
        """One line, the worst first: what did NOT halt leads, it is what to act on."""
        halted = f"{len(self.results) - len(self.failed)} of {len(self.results)} engines halted"
        if self.complete:
            return f"FLEET KILL: {halted}; {self.flag_detail}"
        missed = ", ".join(r.label for r in self.failed)
        lead = f"NOT halted: {missed}; " if missed else ""
        return f"FLEET KILL INCOMPLETE — {lead}{halted}; {self.flag_detail}"


async def fleet_kill(
    rows: tuple[EngineRow, ...], redis: RedisTarget | None, here: str, clock: Any = time.time
) -> FleetKillReport:
    """Set the flag and kill every engine, concurrently; never raises."""
    flag, results = await asyncio.gather(
        _set_flag(redis), asyncio.gather(*(_kill_one(row, here) for row in rows))
    )
    return FleetKillReport(flag[0], flag[1], tuple(results), clock())


async def _set_flag(redis: RedisTarget | None) -> tuple[bool | None, str]:
    if redis is None:
        return None, "no Redis: the shared halt flag was not set"
    from arbctl.commands.fleet import REDIS_TIMEOUT_S
    from engine.fleet.halt import new_flag, set_flag
    from engine.fleet.keys import Keys
    from engine.fleet.link import connect

    client = connect(redis.url, REDIS_TIMEOUT_S)
    try:
        flag = new_flag(FLEET_KILL_REASON, CLIENT_NAME)
        await asyncio.wait_for(set_flag(client, Keys(redis.namespace), flag), REDIS_TIMEOUT_S * 2)
    except Exception as exc:
        return False, f"global halt flag NOT set: {exc or type(exc).__name__}"
    finally:
        await client.aclose()
    return True, f"global halt flag set in namespace {redis.namespace}"


async def _kill_one(row: EngineRow, here: str) -> EngineKill:
    label = row.label
    try:
        if row.dial is None:
            where = f"on {row.host}" if row.host else "here"
            return EngineKill(label, False, f"no socket {where}: left to the shared halt flag")
        ack = await AsyncClient(row.dial).call(
            "kill", audited(FLEET_KILL_REASON), timeout=KILL_TIMEOUT_S
        )
        return _acknowledged(label, ack)
    except (EngineUnreachable, RpcError) as exc:
        why = exc.detail if isinstance(exc, EngineUnreachable) else exc.message
        return await _fallback(row, here, why)
    except Exception as exc:  # a bug must not hide that this engine may still trade
        return EngineKill(label, False, f"{type(exc).__name__}: {exc}")


def _acknowledged(label: str, ack: Any) -> EngineKill:
    answer = ack if isinstance(ack, dict) else {}
    if answer.get("persisted") is False:
        error = answer.get("persist_error") or "unknown error"
        return EngineKill(label, False, f"halted in memory only: halt NOT persisted ({error})")
    return EngineKill(label, True, "halted: acknowledged by the engine")


def _is_own_local_socket(row: EngineRow, here: str) -> bool:
    return (
        row.dial is not None
        and bool(row.state_dir)
        and row.host in ("", here)
        and row.own_socket == str(row.dial)
    )


async def _fallback(row: EngineRow, here: str, why: str) -> EngineKill:
    """The console's own offline kill, for an engine whose socket is its own, here."""
    if not _is_own_local_socket(row, here):
        return EngineKill(row.label, False, why)
    report = KillReport(reason=FLEET_KILL_REASON, state_dir=Path(row.state_dir))
    assert row.dial is not None
    try:
        await asyncio.to_thread(
            offline_kill, report, row.dial, CONSOLE_SOURCE, instance=row.instance or None
        )
    except Exception as exc:
        return EngineKill(row.label, False, f"kill fallback failed ({exc})")
    return EngineKill(row.label, report.halted, describe_fallback(report))
