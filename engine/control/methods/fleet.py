"""The Redis part's control-socket methods: `fleet`, `redis`, and a guarded `resume`.

`resume` wraps the engine's own handler: while the shared halt flag is set it is refused
(and the refusal audited), because resuming one engine under a fleet-wide halt would undo
an operator's emergency stop behind their back. The flag is cleared explicitly with
`arbctl resume --global --reason ...`; then each engine is resumed on its own.
"""

from __future__ import annotations

import time
from typing import Any

from engine import protocol
from engine.audit import AuditTrail
from engine.control import params as P
from engine.control.server import CallContext, Handler
from engine.fleet.keys import Keys
from engine.fleet.link import RedisDown
from engine.fleet.part import FleetPart
from engine.fleet.presence import read_fleet
from engine.lifecycle import Actor
from engine.protocol import ProtocolError


class FleetMethods:
    def __init__(self, fleet: FleetPart, audit: AuditTrail, resume: Handler) -> None:
        self._link = fleet.link
        self._keys = fleet.keys
        self._watcher = fleet.watcher
        self._mirror = fleet.mirror
        self._audit = audit
        self._resume = resume

    def table(self) -> dict[str, Handler]:
        return {"fleet": self.fleet, "redis": self.redis, "resume": self.resume}

    async def fleet(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """Engines present in this engine's namespace, and the halt flag (`arbctl fleet`)."""
        fleet_keys = Keys(self._keys.namespace)
        try:
            engines = await self._link.call(lambda client: read_fleet(client, fleet_keys))
        except RedisDown as exc:
            raise ProtocolError(protocol.UNAVAILABLE, f"Redis unreachable: {exc}") from None
        flag, _ = await self._watcher.current()
        return {
            "namespace": self._keys.namespace,
            "self": self._keys.engine,
            "engines": engines,
            "halt": flag,
        }

    async def redis(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """The link, the mirror and the halt flag as this engine last saw them."""
        return {
            "namespace": self._keys.namespace,
            "engine": self._keys.engine,
            "link": self._link.to_dict(),
            "mirror": self._mirror.to_dict(),
            "halt": self._watcher.to_dict(),
        }

    async def resume(self, params: dict[str, Any], ctx: CallContext) -> Any:
        reason = P.reason(params)
        flag, fresh = await self._watcher.current()
        if flag is None:
            return await self._resume(params, ctx)
        message = self._refusal(flag, fresh)
        actor = Actor(ctx.peer.uid, ctx.client)
        self._audit.record(actor, "resume", reason, outcome=f"refused: {message}")
        raise ProtocolError(protocol.INVALID_STATE, message)

    def _refusal(self, flag: dict[str, Any], fresh: bool) -> str:
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(flag.get("ts") or 0)))
        stale = "" if fresh else " (as last read: Redis is unreachable now)"
        return (
            f"the global halt flag is set in Redis namespace "
            f"{self._keys.namespace!r}{stale}: {flag.get('reason')!r} by "
            f"{flag.get('user', '?')}@{flag.get('host', '?')} at {when}. Clear it first with "
            "`arbctl resume --global --reason ...`"
        )
