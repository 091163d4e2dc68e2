"""The audit trail: who changed what, when and why.

Every state-changing control call lands here with the caller's uid (SO_PEERCRED) and
reason. The entry is published on the bus at once (so every attached console sees who
did it) and written to the ledger behind, so a slow database never delays a kill.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from engine import protocol
from engine.bus import EventBus
from engine.ledger.records import AuditEntry
from engine.ledger.writer import LedgerWriter
from engine.lifecycle import Actor

log = logging.getLogger("arbctl.audit")


class AuditTrail:
    def __init__(self, bus: EventBus, writer: LedgerWriter) -> None:
        self._bus = bus
        self._writer = writer

    def record(
        self,
        actor: Actor,
        action: str,
        reason: str,
        params: dict[str, Any] | None = None,
        outcome: str = "ok",
    ) -> AuditEntry:
        entry = AuditEntry(
            ts=time.time(),
            uid=actor.uid,
            client=actor.client,
            action=action,
            reason=reason,
            params=params or {},
            outcome=outcome,
        )
        self._bus.publish(protocol.TOPIC_AUDIT, entry.to_dict())
        self._writer.add_audit(entry)
        log.info(
            "AUDIT %s by uid=%d (%s): %s [%s]", action, actor.uid, actor.client, reason, outcome
        )
        return entry
