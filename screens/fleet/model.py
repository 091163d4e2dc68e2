"""The fleet view's model: one typed row per engine, however the console found it.

An engine is seen through Redis (its presence record and its heartbeat record, written
by engine/fleet/mirror.py), through a socket (`status`, `pnl`, the last heartbeat event,
and `redis` for its name), or both. Both ways describe the same engine when they give
the same (namespace, name); then the socket's answers win field by field (they are
direct), and the heartbeat age is the fresher of the two. An engine only on a socket is
keyed by that socket.

Everything read from Redis or a socket is untrusted JSON: every field is checked for its
type here, once, so the widgets and the kill never see a dict or a wrong type. Money stays
an integer in the engine's own quote token's base units: engines on different chains
quote in different tokens, and a fleet total in "units" would be a lie, so there is none.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

NOT_ANSWERING = "not answering"
UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class EngineRow:
    """What the fleet screen knows about one engine."""

    key: str
    name: str = ""
    namespace: str = ""
    host: str = ""
    chain: str = ""
    state: str = UNKNOWN
    reason: str = ""
    pnl_today: int | None = None  # quote base units
    quote_symbol: str = ""
    quote_decimals: int | None = None
    breaker: str = ""  # closed / half_open / open; "" when not known
    breaker_reason: str = ""
    alerts_known: bool = False  # a heartbeat said how many alerts fire
    alerts_active: int = 0
    worst_alert: str = ""  # the worst firing alert's severity (P1 is the worst)
    worst_rule: str = ""
    heartbeat_ts: float | None = None
    dial: Path | None = None  # where the console reaches it; None: Redis only
    own_socket: str = ""  # the socket path on the engine's own host
    state_dir: str = ""
    instance: str = ""
    pid: int | None = None
    answering: bool | None = None  # None: no socket to ask
    problem: str = ""  # why the socket did not answer
    sources: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.name or str(self.dial or self.own_socket or self.key)

    @property
    def shown_state(self) -> str:
        """The state, unless the socket we ask stopped answering: then that, loudly."""
        return NOT_ANSWERING if self.answering is False else self.state


@dataclass(frozen=True, slots=True)
class SocketAnswers:
    """One engine's answers on one poll; None where a call failed or was not made."""

    status: Any
    pnl: Any
    heartbeat: Any  # the newest `heartbeat` event {topic, seq, ts, data}
    identity: tuple[str, str] | None  # (namespace, name) from `redis`; None without Redis
    problem: str  # why the socket did not answer ("" when it did)


@dataclass(frozen=True, slots=True)
class FleetSnapshot:
    """The whole fleet at one poll."""

    rows: tuple[EngineRow, ...] = ()
    halt: dict[str, Any] | None = None  # the shared halt flag, when Redis is read
    redis_problem: str = ""  # why Redis could not be read ("" when it was, or not asked)
    read_at: float | None = None
    namespace: str = ""


# --- reading untrusted JSON ---------------------------------------------------------------
def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _heartbeat_fields(heartbeat: dict[str, Any]) -> dict[str, Any]:
    """Chain, breaker and alerts as a heartbeat carries them (engine/daemon.py)."""
    breaker, alerts = _dict(heartbeat.get("breaker")), _dict(heartbeat.get("alerts"))
    worst = alerts.get("worst")
    return {
        "chain": _text(heartbeat.get("chain")),
        "breaker": _text(breaker.get("state")),
        "breaker_reason": _text(breaker.get("reason")),
        "alerts_known": isinstance(heartbeat.get("alerts"), dict),
        "alerts_active": max(0, _int(alerts.get("active")) or 0),
        "worst_alert": worst if isinstance(worst, str) else "",
        "worst_rule": _text(alerts.get("worst_rule") or alerts.get("rule")),
    }


def row_from_presence(record: Any, heartbeat: Any, here: str) -> EngineRow:
    """An engine as Redis shows it; dialled through its own socket when it is on `here`."""
    presence, beat = _dict(record), _dict(heartbeat)
    name, namespace, host = (_text(presence.get(k)) for k in ("name", "namespace", "host"))
    own_socket = _text(presence.get("socket"))
    local = bool(own_socket) and host == here
    ts = _float(beat.get("ts"))
    presence_ts = _float(presence.get("ts"))
    return EngineRow(
        key=f"{namespace}/{name}" if name else f"redis:{own_socket}",
        name=name,
        namespace=namespace,
        host=host,
        state=_text(presence.get("state")) or _text(beat.get("state")) or UNKNOWN,
        reason=_text(presence.get("reason")),
        heartbeat_ts=_freshest(ts, presence_ts),
        dial=Path(own_socket) if local else None,
        own_socket=own_socket,
        state_dir=_text(presence.get("state_dir")),
        pid=_int(presence.get("pid")),
        sources=("redis",),
        **_heartbeat_fields(beat),
    )


def row_from_socket(dial: Path, answers: SocketAnswers) -> EngineRow:
    """An engine as its socket answered (or did not)."""
    namespace, name = answers.identity or ("", "")
    key = f"{namespace}/{name}" if name else f"socket:{dial}"
    if answers.problem:
        return EngineRow(
            key, name, namespace, dial=dial, answering=False, problem=answers.problem,
            sources=("socket",),
        )  # fmt: skip
    status, pnl, event = _dict(answers.status), _dict(answers.pnl), _dict(answers.heartbeat)
    quote = _dict(_dict(pnl.get("units")).get("quote"))
    fresh: dict[str, Any] = {k: status[k] for k in ("chain", "breaker") if k in status}
    beat: dict[str, Any] = {**_dict(event.get("data")), **fresh}
    return EngineRow(
        key=key,
        name=name,
        namespace=namespace,
        state=_text(status.get("state")) or UNKNOWN,
        reason=_text(status.get("reason")),
        pnl_today=_int(pnl.get("net_profit_quote")),
        quote_symbol=_text(quote.get("symbol")),
        quote_decimals=_int(quote.get("decimals")),
        heartbeat_ts=_float(event.get("ts")),
        dial=dial,
        own_socket=_text(status.get("socket")),
        state_dir=_text(status.get("state_dir")),
        instance=_text(status.get("instance")),
        pid=_int(status.get("pid")),
        answering=True,
        sources=("socket",),
        **_heartbeat_fields(beat),
    )


def _freshest(*stamps: float | None) -> float | None:
    known = [ts for ts in stamps if ts is not None]
    return max(known) if known else None


_DEFAULTS = {f.name: f.default for f in fields(EngineRow)}


def merge(seen: EngineRow, direct: EngineRow) -> EngineRow:
    """`direct` (a socket) over `seen` (Redis), field by field where it knows better."""
    changes: dict[str, Any] = {
        f.name: getattr(direct, f.name)
        for f in fields(EngineRow)
        if getattr(direct, f.name) != _DEFAULTS[f.name] and f.name not in ("key", "sources")
    }
    if direct.answering is False:  # a silent socket knows nothing of its engine's state
        changes = {k: v for k, v in changes.items() if k in ("dial", "answering", "problem")}
    changes["heartbeat_ts"] = _freshest(seen.heartbeat_ts, direct.heartbeat_ts)
    changes["sources"] = tuple(dict.fromkeys(seen.sources + direct.sources))
    return replace(seen, **changes)


def merge_rows(redis_rows: list[EngineRow], socket_rows: list[EngineRow]) -> list[EngineRow]:
    """One row per engine, sorted by label (stable: the operator's cursor stays put)."""
    rows = {row.key: row for row in redis_rows}
    for row in socket_rows:
        rows[row.key] = merge(rows[row.key], row) if row.key in rows else row
    return sorted(rows.values(), key=lambda r: (r.label, r.key))
