"""The accounting control-socket methods: `reconcile`, `export.trades`, `db.cleanup`,
`db.backup`.

Written like engine.py beside it and merged into the server's table by the daemon.
The export and the database methods work as soon as the socket is up; `reconcile` needs
the market, so it answers `unavailable` until the daemon attaches the pipeline.
`db.cleanup` deletes rows and `db.backup` copies the whole ledger out, so both are
audited with the caller's uid (the reason is optional: they run from cron).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine import protocol
from engine.accounting import export
from engine.accounting.backup import PG_PASSWORD_NOTE, OnlineBackup, pg_dump_command
from engine.accounting.reconcile import InFlight, NotQuiet, Reconciler, SessionStart
from engine.audit import AuditTrail
from engine.config import Config
from engine.control import params as P
from engine.control.server import CallContext, Handler
from engine.ledger.writer import LedgerWriter
from engine.lifecycle import Actor
from engine.market.model import BlockRef
from engine.market.venue import Venue
from engine.protocol import ProtocolError

DEFAULT_CLEANUP_REASON = "scheduled snapshot cleanup"
DEFAULT_BACKUP_REASON = "ledger backup"


class AccountingMethods:
    def __init__(
        self, config: Config, writer: LedgerWriter, audit: AuditTrail, venue: Venue
    ) -> None:
        self._config = config
        self._writer = writer
        self._audit = audit
        self._units = export.Units.of(venue.market)
        self._venue = venue
        self._reconciler: Reconciler | None = None

    def attach(
        self,
        pipeline: InFlight,
        start: SessionStart,
        books_checked: Callable[[], BlockRef | None] | None = None,
    ) -> None:
        """The market is trading: reconciliation can start (daemon, after venue start).
        `books_checked`: the head the reorg watch last checked, on a chain."""
        self._reconciler = Reconciler(
            self._venue, pipeline, self._writer, start, books_checked=books_checked
        )

    def table(self) -> dict[str, Handler]:
        return {
            "reconcile": self.reconcile,
            "export.trades": self.export_trades,
            "db.cleanup": self.db_cleanup,
            "db.backup": self.db_backup,
        }

    # --- reconcile ------------------------------------------------------------------------
    async def reconcile(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        timeout = P.optional_float(params, "timeout", 10.0) or 10.0
        if self._reconciler is None:
            raise ProtocolError(protocol.UNAVAILABLE, "the market is still loading; try again")
        try:
            result = await self._reconciler.reconcile(min(max(timeout, 0.1), 60.0))
        except NotQuiet as exc:
            raise ProtocolError(protocol.UNAVAILABLE, str(exc)) from None
        except Exception as exc:
            raise ProtocolError(protocol.UNAVAILABLE, f"ledger unavailable: {exc}") from None
        return result.to_dict()

    # --- export ---------------------------------------------------------------------------
    async def export_trades(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """One page of CSV rows. The first call names a period; the answer carries the
        window it resolved to and a cursor, which later calls send back unchanged."""
        limit = P.optional_int(params, "limit", export.DEFAULT_PAGE, lo=1, hi=export.MAX_PAGE)
        since, until, cursor = self._export_window(params)
        if cursor is None:
            await self._writer.flush()  # trades booked a moment ago belong in the export
        try:
            trades, following = await export.trade_page(
                self._writer.store, since, until, cursor, limit or export.DEFAULT_PAGE
            )
        except Exception as exc:
            raise ProtocolError(protocol.UNAVAILABLE, f"ledger unavailable: {exc}") from None
        return {
            "since": since,
            "until": until,
            "columns": list(export.COLUMNS),
            "rows": [export.trade_row(trade, self._units) for trade in trades],
            "cursor": following.to_dict() if following else None,
        }

    def _export_window(self, params: dict[str, Any]) -> tuple[float, float, export.Cursor | None]:
        raw_cursor = params.get("cursor")
        if raw_cursor is None:
            period = P.choice(params, "period", P.PERIODS, "today")
            now = time.time()
            return P.period_start(period, now), now, None
        since, until = P.optional_float(params, "since"), P.optional_float(params, "until")
        if since is None or until is None or not isinstance(raw_cursor, dict):
            raise ProtocolError(
                protocol.INVALID_PARAMS, '"cursor" needs the "since" and "until" of its first page'
            )
        try:
            return since, until, export.Cursor.from_dict(raw_cursor)
        except ValueError as exc:
            raise ProtocolError(protocol.INVALID_PARAMS, str(exc)) from None

    # --- database upkeep ------------------------------------------------------------------
    async def db_cleanup(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """The runbook's cleanup_old_snapshots_30d, for any age: snapshots older than
        `before` (epoch seconds) of sessions that stopped; never the newest snapshot."""
        before = P.optional_float(params, "before")
        if before is None or before > time.time():
            raise ProtocolError(protocol.INVALID_PARAMS, '"before" must be a time in the past')
        reason = P.optional_str(params, "reason") or DEFAULT_CLEANUP_REASON
        actor = Actor(ctx.peer.uid, ctx.client)
        try:
            deleted = await self._writer.store.cleanup_snapshots(before)
        except Exception as exc:
            self._audit.record(actor, "db.cleanup", reason, {"before": before}, f"failed: {exc}")
            raise ProtocolError(protocol.UNAVAILABLE, f"ledger unavailable: {exc}") from None
        self._audit.record(actor, "db.cleanup", reason, {"before": before, "deleted": deleted})
        return {"backend": self._writer.store.backend, "before": before, "deleted": deleted}

    async def db_backup(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """SQLite: an online copy to `path` (absolute, written by the engine's user).
        PostgreSQL: the pg_dump command to run; nothing is written."""
        path = P.required_str(params, "path")
        if not Path(path).is_absolute():
            raise ProtocolError(protocol.INVALID_PARAMS, '"path" must be absolute')
        store = self._writer.store
        if not isinstance(store, OnlineBackup):
            ledger = self._config.ledger
            command = pg_dump_command(ledger.dsn, ledger.schema, path)
            return {"backend": store.backend, "command": command, "note": PG_PASSWORD_NOTE}
        reason = P.optional_str(params, "reason") or DEFAULT_BACKUP_REASON
        actor = Actor(ctx.peer.uid, ctx.client)
        try:
            await store.backup(Path(path))
        except Exception as exc:
            self._audit.record(actor, "db.backup", reason, {"path": path}, f"failed: {exc}")
            raise ProtocolError(protocol.UNAVAILABLE, f"backup failed: {exc}") from None
        size = Path(path).stat().st_size
        self._audit.record(actor, "db.backup", reason, {"path": path, "bytes": size})
        return {"backend": store.backend, "path": path, "bytes": size}
