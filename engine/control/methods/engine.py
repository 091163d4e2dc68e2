"""The engine's own methods on the control socket: state, lifecycle, events, ledger reads.

The adapters in this package are the only code that speaks JSON-RPC: each takes typed
parts, reads params through `engine.control.params`, and turns domain errors into
`ProtocolError`s; the daemon merges their tables into the server's.

Each method is a small async function of (params, caller). State-changing ones take a
reason and are audited with the caller's uid. `kill` and `resume` of a halt go through
the kill switch (engine/killswitch.py): the gate shuts before any I/O, and the answer
says whether the halt is persisted yet; cancelling in-flight work follows in the
background so the acknowledgement never waits on a chain.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from engine import protocol
from engine.config import redacted
from engine.control import params as P
from engine.control.health_checks import evaluate_health
from engine.control.parts import ControlParts
from engine.control.server import CallContext, Handler
from engine.killswitch import LatchNotCleared
from engine.lifecycle import Actor, InvalidTransition
from engine.protocol import ProtocolError

log = logging.getLogger("arbctl.control")

VERSION = "0.1.0"


class EngineMethods:
    def __init__(self, parts: ControlParts) -> None:
        self.p = parts
        self._background: set[asyncio.Task[Any]] = set()

    def table(self) -> dict[str, Handler]:
        table = self._public()
        if self.p.config.engine.debug_methods:
            table["debug.flood"] = self.debug_flood
        return table

    def _public(self) -> dict[str, Handler]:
        return {
            "ping": self.ping,
            "status": self.status,
            "health": self.health,
            "pause": self.pause,
            "resume": self.resume,
            "kill": self.kill,
            "shutdown": self.shutdown,
            "events.recent": self.events_recent,
            "audit": self.audit,
            "config.show": self.config_show,
            "opportunities": self.opportunities,
            "trades": self.trades,
            "trade": self.trade,
            "pnl": self.pnl,
            "names": self.names,
        }

    # --- reads ----------------------------------------------------------------------
    async def ping(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        return {"pong": True, "ts": time.time()}

    async def status(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        p = self.p
        now = time.time()
        return {
            "state": p.lifecycle.state,
            "reason": p.lifecycle.reason,
            "since": p.lifecycle.since,
            "halt": p.killswitch.halt_view(),
            "pid": os.getpid(),
            "started_at": p.started_at,
            "uptime_s": round(now - p.started_at, 3),
            "socket": p.socket_path,
            "state_dir": p.state_dir,
            "config_source": p.config.source,
            "version": VERSION,
            "loop_latency_ms": round(p.loop.loop_latency_ms, 3),
            "avg_loop_latency_ms": round(p.loop.avg_loop_latency_ms, 3),
            "last_seq": p.bus.last_seq,
            "subscribers": p.bus.subscriber_count,
            "events_per_s": round(p.bus.events_per_s, 1),
            "resources": p.resources.latest,
            "clients": p.client_count(),
            "gate": p.gate.to_dict(),
            "ledger": p.ledger.health().to_dict(),
            **p.market_status(),
        }

    async def health(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        return await evaluate_health(self.p)

    async def events_recent(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        since = P.optional_int(params, "since_seq", 0)
        limit = P.optional_int(params, "limit", 1000, lo=1, hi=100_000)
        events = self.p.bus.recent(P.topics(params), since_seq=since or 0, limit=limit or 1000)
        return {"events": [e.to_dict() for e in events], "last_seq": self.p.bus.last_seq}

    async def audit(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        limit = P.optional_int(params, "limit", 50, lo=1, hi=10_000) or 50
        since = P.optional_float(params, "since", 0.0) or 0.0
        await self.p.ledger.flush()  # entries queued a moment ago belong in the answer
        entries = await self._ledger_call(self.p.ledger.store.list_audit(since, limit))
        return {"entries": [e.to_dict() for e in entries]}

    async def config_show(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        return {"source": self.p.config.source, "config": redacted(self.p.config)}

    async def opportunities(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        limit = P.optional_int(params, "limit", 20, lo=1, hi=1000) or 20
        return {"opportunities": self.p.market.recent_opportunities(limit)}

    async def names(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        return self.p.market.names()

    async def trades(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        since = P.optional_float(params, "since", 0.0) or 0.0
        failed = P.optional_bool(params, "failed", False)
        limit = P.optional_int(params, "limit", 50, lo=1, hi=100_000) or 50
        await self.p.ledger.flush()
        store = self.p.ledger.store
        found = await self._ledger_call(
            store.list_trades(since=since, failed_only=failed, limit=limit)
        )
        # Reorg corrections (written after their trade, so at or after `since`): each
        # trade lists its own, newest first; --corrections asks for the rows themselves.
        corrections = await self._ledger_call(store.list_corrections(since=since, limit=limit))
        by_trade: dict[str, list[dict[str, Any]]] = {}
        for correction in corrections:
            by_trade.setdefault(correction.trade_id, []).append(correction.to_dict())
        reply: dict[str, Any] = {
            "trades": [t.to_dict() | {"corrections": by_trade.get(t.id, [])} for t in found]
        }
        if P.optional_bool(params, "corrections", False):
            reply["corrections"] = [c.to_dict() for c in corrections]
        return reply

    async def trade(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        trade_id = P.required_str(params, "id")
        await self.p.ledger.flush()
        found = await self._ledger_call(self.p.ledger.store.get_trade(trade_id))
        if found is None:
            raise ProtocolError(protocol.NOT_FOUND, f"no trade with id {trade_id!r}")
        corrections = await self._ledger_call(
            self.p.ledger.store.list_corrections(trade_id=trade_id, limit=1000)
        )
        return found.to_dict() | {"corrections": [c.to_dict() for c in corrections]}

    async def pnl(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        period = P.choice(params, "period", P.PERIODS, "today")
        since = P.optional_float(params, "since")  # an exact start beats the period
        start = P.period_start(period) if since is None else since
        await self.p.ledger.flush()
        summary = await self._ledger_call(self.p.ledger.store.pnl(start))
        label = period if since is None else "since"
        return {"period": label, "units": self.p.market.units(), **summary.to_dict()}

    async def _ledger_call(self, coro: Any) -> Any:
        try:
            return await coro
        except Exception as exc:
            raise ProtocolError(protocol.UNAVAILABLE, f"ledger unavailable: {exc}") from None

    # --- state changes ----------------------------------------------------------------
    async def pause(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        return self._transition("pause", params, ctx, self.p.lifecycle.pause)

    async def resume(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        reason = P.reason(params)
        actor = Actor(ctx.peer.uid, ctx.client)
        try:
            await self.p.killswitch.resume(reason, actor)  # clears the latch, even unpersisted
        except InvalidTransition as exc:
            raise self._refused(actor, "resume", reason, protocol.INVALID_STATE, exc) from None
        except LatchNotCleared as exc:
            raise self._refused(actor, "resume", reason, protocol.UNAVAILABLE, exc) from None
        self.p.audit.record(actor, "resume", reason)
        return self.p.lifecycle.to_dict()

    def _transition(
        self,
        action: str,
        params: dict[str, Any],
        ctx: CallContext,
        change: Callable[[str, Actor], None],
    ) -> dict[str, Any]:
        reason = P.reason(params)
        actor = Actor(ctx.peer.uid, ctx.client)
        try:
            change(reason, actor)
        except InvalidTransition as exc:
            raise self._refused(actor, action, reason, protocol.INVALID_STATE, exc) from None
        self.p.audit.record(actor, action, reason)
        return self.p.lifecycle.to_dict()

    def _refused(
        self, actor: Actor, action: str, reason: str, code: int, exc: Exception
    ) -> ProtocolError:
        self.p.audit.record(actor, action, reason, outcome=f"refused: {exc}")
        return ProtocolError(code, str(exc))

    async def kill(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        reason = P.kill_reason(params)
        shutdown = params.get("shutdown") is True  # a malformed flag still halts
        actor = Actor(ctx.peer.uid, ctx.client)
        try:
            outcome = await self.p.killswitch.kill(reason, actor, {"shutdown": shutdown})
        except InvalidTransition as exc:
            raise ProtocolError(protocol.INVALID_STATE, str(exc)) from None
        if shutdown:
            self._spawn(self._shutdown_when_settled(reason))
        return {
            "state": self.p.lifecycle.state,
            **outcome.to_dict(),
            "cancellation": "already started" if outcome.already_halted else "started",
            "shutdown": shutdown,
        }

    async def _shutdown_when_settled(self, reason: str) -> None:
        """`kill --shutdown` stops the process once in-flight work is cancelled and the
        halt is on disk: exiting before would let a restart come up running."""
        await self.p.killswitch.settled()
        self.p.request_shutdown(f"kill --shutdown: {reason}")

    async def shutdown(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        reason = P.reason(params)
        self.p.audit.record(Actor(ctx.peer.uid, ctx.client), "shutdown", reason)
        self.p.request_shutdown(reason)
        return {"ok": True, "state": self.p.lifecycle.state}

    async def debug_flood(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """Publish `count` synthetic events in chunks, yielding to the loop between them,
        the way real bursts arrive. Only with `[engine] debug_methods = true`."""
        count = P.optional_int(params, "count", 1000, lo=1, hi=10_000_000) or 1000
        size = P.optional_int(params, "size", 64, lo=0, hi=65_536) or 0
        chunk = P.optional_int(params, "chunk", 500, lo=1, hi=100_000) or 500
        topic = P.optional_str(params, "topic", "bench") or "bench"
        padding = "x" * size
        started = time.perf_counter()
        first_seq = self.p.bus.last_seq + 1
        for i in range(count):
            self.p.bus.publish(topic, {"i": i, "pad": padding})
            if (i + 1) % chunk == 0 and i + 1 < count:  # no yield after the last event,
                await asyncio.sleep(0)  # so last_seq is the flood's own last event
        elapsed = time.perf_counter() - started
        return {
            "published": count,
            "seconds": elapsed,
            "first_seq": first_seq,
            "last_seq": self.p.bus.last_seq,
        }

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
