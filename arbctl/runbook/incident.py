"""`incident new`: runbook 2's post-mortem template, prefilled from what was recorded.

The template asks for a timeline (detected, response initiated, mitigation deployed,
service restored, root cause identified), the duration and the financial loss. The
engine already records most of it: the audit log says who paused, killed, reset the
breaker or resumed, when and why; alert notifications and breaker transitions say when
trouble was detected and when it cleared; `provider` events show a provider going down or
a failover; the ledger's trades give the P&L of the window to the base unit.
What only a person knows (root cause, lessons, actions) stays a placeholder.

With the engine down, the same facts come from its log: every audit entry, alert and
breaker transition is also a log line (`AUDIT …`, `ALERT …` with the notification
attached, `GUARD … breaker_open: …`).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from arbctl import output
from arbctl.runbook import fmt, logscan
from arbctl.runbook import markdown as md
from arbctl.runbook.sources import EngineSource
from arbctl.runbook.triage import transition_text

INCIDENTS_DIR = "incidents"
MITIGATIONS = frozenset(
    {
        "pause",
        "kill",
        "kill.cancel_in_flight",
        "breaker.reset",
        "shutdown",
        "failover",
        "providers.mark",
    }
)
MAX_TRADES = 100_000
PROVIDER_EVENTS = 2000
FIRST_ERRORS = 5
_PERIODS = (("1h", 3600.0), ("24h", 86400.0), ("7d", 7 * 86400.0), ("30d", 30 * 86400.0))
_AUDIT_LINE = re.compile(r"^AUDIT (\S+) by uid=(-?\d+) \(([^)]*)\): (.*) \[(.*)\]$", re.S)
_GUARD_LINE = re.compile(r"^GUARD (\S+) (breaker_\w+): (.*)$", re.S)
_BREAKER_STATE = {
    "breaker_open": "open",
    "breaker_half_open": "half_open",
    "breaker_closed": "closed",
    "breaker_reset": "closed",
}


@dataclass(slots=True)
class Entry:
    """One line of the timeline; `kind`: detected, mitigation, restored or event."""

    ts: float
    kind: str
    source: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def new(
    engine: EngineSource, state_dir: Path, severity: str, title: str, since: float
) -> tuple[dict[str, Any], str]:
    until = time.time()
    if engine.reachable:
        timeline = online_timeline(engine, state_dir, since)
    else:
        timeline = log_timeline(state_dir, since)
    timeline.sort(key=lambda e: e.ts)
    doc: dict[str, Any] = {
        "severity": severity,
        "title": title,
        "since": since,
        "until": until,
        **milestones(timeline, until),
        "timeline": [e.to_dict() for e in timeline],
        "pnl": window_pnl(engine, since, until),
        "sources": "engine" if engine.reachable else "logs",
    }
    doc["gaps"] = engine.gaps()
    return doc, render(doc)


# --- what the engine serves ----------------------------------------------------------------
def online_timeline(engine: EngineSource, state_dir: Path, since: float) -> list[Entry]:
    entries = [
        audit_entry(e)
        for e in engine.ask("audit", {"since": since, "limit": 1000}).get("entries") or []
    ]
    for note in engine.ask("alerts", {"limit": 1000}).get("recent") or []:
        if float(note.get("ts") or 0) >= since and (entry := alert_entry(note)):
            entries.append(entry)
    for step in engine.ask("breaker").get("history") or []:
        if float(step.get("at") or 0) >= since:
            entries.append(breaker_entry(step))
    entries += _state_entries(engine, since)
    entries += provider_entries(engine, since)
    entries += error_entries(state_dir, since)
    return entries


def audit_entry(entry: dict[str, Any]) -> Entry:
    action, outcome = str(entry.get("action")), str(entry.get("outcome"))
    kind = "event"
    if outcome == "ok" and action in MITIGATIONS:
        kind = "mitigation"
    elif outcome == "ok" and action == "resume":
        kind = "restored"
    return Entry(float(entry.get("ts") or 0), kind, "audit", fmt.audit(entry))


def alert_entry(note: dict[str, Any]) -> Entry | None:
    """A firing alert is a detection; its resolution a restoration; re-sends are noise."""
    status = note.get("status")
    if status == "firing" and not note.get("repeat"):
        kind = "detected"
    elif status == "resolved":
        kind = "restored"
    else:
        return None
    text = f"alert {note.get('rule')} [{note.get('severity')}] {status}: {note.get('summary')}"
    return Entry(float(note.get("ts") or 0), kind, "alert", text)


def breaker_entry(step: dict[str, Any]) -> Entry:
    state = step.get("state")
    kind = {"open": "detected", "closed": "restored"}.get(str(state), "event")
    return Entry(float(step.get("at") or 0), kind, "breaker", f"breaker {transition_text(step)}")


def _state_entries(engine: EngineSource, since: float) -> list[Entry]:
    """Transitions the engine made itself (start, halted on start); operators' own are
    in the audit log already."""
    params = {"topics": ["state"], "limit": 1000}
    entries = []
    for event in engine.ask("events.recent", params).get("events") or []:
        data = event.get("data") or {}
        if event["ts"] < since or (data.get("actor") or {}).get("uid", -1) != -1:
            continue
        kind = "detected" if data.get("state") == "halted" else "event"
        text = f"engine {data.get('previous')} → {data.get('state')}: {data.get('reason')}"
        entries.append(Entry(float(event["ts"]), kind, "state", text))
    return entries


def provider_entries(engine: EngineSource, since: float) -> list[Entry]:
    """Providers going down and coming back, and automatic failovers, from the `provider`
    events the ring still holds (operator pins and marks are in the audit log)."""
    params = {"topics": ["provider"], "limit": PROVIDER_EVENTS}
    entries, down = [], set[str]()
    for event in engine.ask("events.recent", params).get("events") or []:
        entry = provider_entry(float(event["ts"]), event.get("data") or {}, down)
        if entry is not None and entry.ts >= since:
            entries.append(entry)
    return entries


def provider_entry(ts: float, data: dict[str, Any], down: set[str] | None = None) -> Entry | None:
    """One provider event as a timeline entry, in order; `down` carries the providers
    that went down so far. Going down is a detection; only healthy again after being down
    is a restoration: down → degraded is better, not restored."""
    down = set() if down is None else down
    name, event, status = str(data.get("name")), data.get("event"), data.get("status")
    if event == "status" and status == "down":
        down.add(name)
        return Entry(ts, "detected", "providers", f"provider {name} down: {data.get('reason')}")
    if event == "status" and name in down and status in ("healthy", "degraded"):
        text = f"provider {name} {data.get('previous')} → {status}: {data.get('reason')}"
        if status == "healthy":
            down.discard(name)
            return Entry(ts, "restored", "providers", text)
        return Entry(ts, "event", "providers", text)
    if event == "failover":
        text = f"failover {data.get('previous')} → {data.get('active')}: {data.get('reason')}"
        return Entry(ts, "mitigation", "providers", text)
    return None


def error_entries(state_dir: Path, since: float) -> list[Entry]:
    """The first occurrence of each of the most frequent ERROR patterns in the window."""
    errors = logscan.records_since(state_dir, since, logscan.is_error)
    top = {(g["logger"], g["pattern"]) for g in logscan.top_patterns(errors, FIRST_ERRORS)}
    entries = []
    for record in errors:
        key = (str(record.get("logger", "")), logscan.pattern(str(record.get("msg", ""))))
        if key in top:
            top.discard(key)
            text = f"first ERROR {key[0]}: {str(record.get('msg', ''))[:300]}"
            entries.append(Entry(float(record.get("ts") or 0), "detected", "logs", text))
    return entries


# --- the engine's log, when the engine is down ----------------------------------------------
def log_timeline(state_dir: Path, since: float) -> list[Entry]:
    records = logscan.records_since(state_dir, since)
    entries = [entry for record in records if (entry := log_entry(record)) is not None]
    return entries + error_entries(state_dir, since) + _last_sign_of_life(records)


def _last_sign_of_life(records: list[dict[str, Any]]) -> list[Entry]:
    """The engine does not answer and its log does not end with a clean stop: its last
    record is when it was last seen working."""
    if not records or str(records[-1].get("msg", "")).startswith("engine stopped"):
        return []
    last = records[-1]
    text = f"last log record before the engine went silent: {logscan.render(last)}"
    return [Entry(float(last.get("ts") or 0), "detected", "logs", text)]


def log_entry(record: dict[str, Any]) -> Entry | None:
    ts, msg = float(record.get("ts") or 0), str(record.get("msg", ""))
    if isinstance(record.get("alert"), dict):
        return alert_entry(record["alert"])
    if match := _AUDIT_LINE.match(msg):
        action, uid, client, reason, outcome = match.groups()
        fields = {"ts": ts, "action": action, "uid": uid, "client": client}
        return audit_entry({**fields, "reason": reason, "outcome": outcome})
    if (match := _GUARD_LINE.match(msg)) and match[2] in _BREAKER_STATE:
        step = {"at": ts, "state": _BREAKER_STATE[match[2]], "previous": "?", "guard": match[1]}
        return breaker_entry({**step, "reason": match[3]})
    if msg.startswith(("engine running", "engine halted", "engine stopped")):
        kind = "detected" if msg.startswith("engine halted") else "event"
        return Entry(ts, kind, "logs", msg)
    return None


# --- summary -------------------------------------------------------------------------------
def milestones(timeline: list[Entry], until: float) -> dict[str, Any]:
    """The template's timeline points: detected, response, mitigation, restored.

    Response and mitigation are the first ones at or after the detection (a pause for an
    unrelated deploy an hour earlier is not this incident's response); with nothing
    detected, the first in the window."""
    detected = next((e.ts for e in timeline if e.kind == "detected"), None)
    after = [e for e in timeline if detected is None or e.ts >= detected]
    response = next((e.ts for e in after if e.source == "audit"), None)
    mitigated = next((e.ts for e in after if e.kind == "mitigation"), None)
    last_problem = max((e.ts for e in timeline if e.kind == "detected"), default=None)
    restores = [e.ts for e in timeline if e.kind == "restored"]
    restored = restores[-1] if restores else None
    if restored is not None and last_problem is not None and restored < last_problem:
        restored = None  # trouble came back after the last recovery: still ongoing
    start = detected or mitigated
    end = restored or until
    return {
        "detected_at": detected,
        "response_at": response,
        "mitigated_at": mitigated,
        "restored_at": restored,
        "duration_s": None if start is None else round(end - start, 1),
        "ongoing": restored is None,
    }


def window_pnl(engine: EngineSource, since: float, until: float) -> dict[str, Any] | None:
    """Exact P&L of the trades detected in the window, and the enclosing `pnl` period."""
    trades = engine.ask("trades", {"since": since, "limit": MAX_TRADES})
    if not trades.ok:
        return None
    listed = trades.get("trades") or []
    period = next((name for name, span in _PERIODS if span >= until - since), "all")
    summary = engine.ask("pnl", {"period": period})
    statuses = [t["status"] for t in listed]
    return {
        "trades": len(listed),
        "successful": statuses.count("success"),
        "reverted": statuses.count("reverted"),
        "failed": statuses.count("failed"),
        "net_profit_quote": sum(int(t["profit_quote"]) for t in listed),
        "gas_cost_quote": sum(int(t.get("gas_cost_quote") or 0) for t in listed),
        "net_profit_native": sum(int(t["profit_native"]) for t in listed),
        "truncated": len(listed) >= MAX_TRADES,
        "quote": (summary.get("units") or {}).get("quote"),
        "period": {
            "period": period,
            "total_trades": summary.get("total_trades"),
            "net_profit_quote": summary.get("net_profit_quote"),
        },
    }


# --- markdown ------------------------------------------------------------------------------
def render(doc: dict[str, Any]) -> str:
    lines = [f"# Incident Post-Mortem: {doc['title']}", ""]
    lines += md.section("Incident Summary", _summary_lines(doc))
    lines += md.section("Timeline", _timeline_lines(doc))
    lines += [
        *md.section("Root Cause", ["[Detailed explanation]"]),
        *md.section("Resolution", _resolution_lines(doc)),
        *md.section("Lessons Learned", ["1. [Lesson 1]", "2. [Lesson 2]", "3. [Lesson 3]"]),
        *md.section(
            "Action Items",
            ["- [ ] [Action item with owner and due date]" for _ in range(3)],
        ),
        *md.section("Prevention", ["[How to prevent in future]"]),
    ]
    lines += md.section("P&L impact", _pnl_lines(doc["pnl"]))
    if doc["gaps"]:
        lines += md.section("Not available", [f"- {gap}" for gap in doc["gaps"]])
    return "\n".join(lines)


def _summary_lines(doc: dict[str, Any]) -> list[str]:
    duration = "[Hours]"
    if doc["duration_s"] is not None:
        duration = f"{output.duration(doc['duration_s'])} ({doc['duration_s'] / 3600:.2f} h)"
        duration += " — ongoing when this was written" if doc["ongoing"] else ""
    return [
        f"- **Date/Time**: {fmt.stamp(doc['detected_at'] or doc['since'])}",
        f"- **Duration**: {duration}",
        f"- **Severity**: {doc['severity']}",
        f"- **Impact**: [Description] — {_impact(doc)}",
        f"- **Financial Loss**: {_loss(doc['pnl'])}",
        f"- **Window**: {fmt.stamp(doc['since'])} → {fmt.stamp(doc['until'])} "
        f"(records from the {doc['sources']})",
    ]


def _impact(doc: dict[str, Any]) -> str:
    pnl = doc["pnl"]
    counts = {k: sum(e["kind"] == k for e in doc["timeline"]) for k in ("detected", "mitigation")}
    trades = "trades unknown (ledger not read)"
    if pnl:
        trades = f"{pnl['trades']} trades in the window ({pnl['successful']} ok, "
        trades += f"{pnl['reverted']} reverted, {pnl['failed']} failed)"
    return f"{counts['detected']} problem signals, {counts['mitigation']} mitigations; {trades}"


def _loss(pnl: dict[str, Any] | None) -> str:
    if pnl is None:
        return "[$X.XX] (the ledger did not answer)"
    net = fmt.tokens(pnl["net_profit_quote"], pnl["quote"])
    if pnl["net_profit_quote"] < 0:
        return f"{net.lstrip('-')} (net P&L of the window: {net})"
    return f"none (net P&L of the window: {net})"


def _timeline_lines(doc: dict[str, Any]) -> list[str]:
    by_ts = {e["ts"]: e for e in doc["timeline"]}
    points = (
        ("detected_at", "Incident detected"),
        ("response_at", "Response initiated"),
        ("mitigated_at", "Mitigation deployed"),
        ("restored_at", "Service restored"),
    )
    lines = []
    known = sorted((p for p in points if doc[p[0]] is not None), key=lambda p: doc[p[0]])
    for key, label in known + [p for p in points if doc[p[0]] is None]:  # in time order
        ts = doc[key]
        detail = f" — {by_ts[ts]['text']}" if ts in by_ts else ""
        lines.append(f"- {fmt.stamp(ts) if ts else '[Time]'}: {label}{detail}")
    lines += ["- [Time]: Root cause identified", "", "### Everything recorded in the window", ""]
    lines += [
        f"- {fmt.stamp(e['ts'])} [{e['kind']}] ({e['source']}) {e['text']}" for e in doc["timeline"]
    ] or ["- nothing recorded"]
    return lines


def _resolution_lines(doc: dict[str, Any]) -> list[str]:
    done = [e for e in doc["timeline"] if e["kind"] in ("mitigation", "restored")]
    lines = ["[What was done to fix]", ""]
    return lines + [f"- {fmt.stamp(e['ts'])}: {e['text']}" for e in done]


def _pnl_lines(pnl: dict[str, Any] | None) -> list[str]:
    if pnl is None:
        return ["Not available: the engine (ledger) did not answer."]
    quote = pnl["quote"]
    period = pnl["period"]
    truncated = " (truncated)" if pnl["truncated"] else ""
    rows = [
        ("trades in the window", f"{pnl['trades']}{truncated}"),
        ("net profit (quote)", output.amount(pnl["net_profit_quote"], quote)),
        ("gas (quote)", output.amount(pnl["gas_cost_quote"], quote)),
        ("net profit (native, wei)", pnl["net_profit_native"]),
        (
            f"`pnl --period {period['period']}`",
            f"{period['total_trades']} trades, "
            f"net {output.amount(period['net_profit_quote'], quote)}",
        ),
    ]
    return md.fields(rows)


# --- the file ------------------------------------------------------------------------------
def slug(title: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return text[:60].rstrip("-") or "incident"


def write(text: str, out: Path | None, state_dir: Path, title: str, when: float) -> Path:
    """Create the file; never overwrite one (a post-mortem may already be edited)."""
    if out is not None:
        return _create(out.expanduser(), text)
    day = time.strftime("%Y-%m-%d", time.localtime(when))
    folder = state_dir / INCIDENTS_DIR
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    base = f"{day}-{slug(title)}"
    for n in range(1, 1000):
        path = folder / (f"{base}.md" if n == 1 else f"{base}-{n}.md")
        try:
            return _create(path, text)
        except FileExistsError:
            continue
    raise FileExistsError(f"too many incidents named {base} in {folder}")


def _create(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path.absolute()
