"""Rows back into records, shared by both backends.

Both databases hand back the same column order (the dataclass field order); money comes
back as decimal text (SQLite) or NUMERIC (PostgreSQL), and `int()` of either is exact.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from engine.ledger.records import (
    CORRECTION_COLUMNS,
    CORRECTION_MONEY_FIELDS,
    PNL_BUCKET_STATUSES,
    TRADE_MONEY_FIELDS,
    AuditEntry,
    CorrectionRecord,
    SessionSnapshot,
    TradeRecord,
)

TRADE_COLUMNS = tuple(f.name for f in fields(TradeRecord))


def decode_trade(row: Sequence[Any]) -> TradeRecord:
    values = dict(zip(TRADE_COLUMNS, row, strict=True))
    for name in TRADE_MONEY_FIELDS:
        values[name] = int(values[name])
    values["route"] = json.loads(values["route"])
    values["recovered"] = bool(values["recovered"])
    return TradeRecord(**values)


def decode_audit(row: Sequence[Any]) -> AuditEntry:
    id_, ts, uid, client, action, reason, params, outcome = row
    return AuditEntry(ts, uid, client, action, reason, json.loads(params), outcome, id_)


def decode_snapshot(row: Sequence[Any]) -> SessionSnapshot:
    id_, session_id, ts, kind, status, state = row
    return SessionSnapshot(session_id, ts, kind, status, json.loads(state), id_)


def decode_correction(row: Sequence[Any]) -> CorrectionRecord:
    values = dict(zip(CORRECTION_COLUMNS, row, strict=True))
    for name in CORRECTION_MONEY_FIELDS:
        values[name] = int(values[name])
    for name in ("old_block", "new_block", *PNL_BUCKET_STATUSES):
        values[name] = int(values[name])
    return CorrectionRecord(**values)
