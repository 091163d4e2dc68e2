"""`events` and `audit`: what happened, as a stream or as a record.

`events --follow` is what an on-call engineer leaves running over flaky SSH, so it must
survive the engine lagging it, restarting, or vanishing for a while: it reconnects with
backoff and resumes from the last seq it printed, without gaps or duplicates.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from arbctl import eventtext, exitcodes, options, output
from arbctl.client import Client, EngineUnreachable, RpcError
from arbctl.names import Names, fetch
from arbctl.rpc import call_or_exit
from engine import protocol

BACKOFF_MIN_S = 0.2
BACKOFF_MAX_S = 5.0
NAMES_RETRY_S = 5.0  # an engine still loading its market has no names yet

TopicOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--topic",
        "-t",
        show_default=False,
        help="Only this topic (repeatable): state, audit, heartbeat, opportunity, trade, "
        "block, guard_trigger, provider, resources, log.",
    ),
]
FollowOpt = Annotated[
    bool, typer.Option("--follow", "-f", help="Keep streaming new events until Ctrl-C.")
]
SinceSeqOpt = Annotated[
    int | None,
    typer.Option("--since-seq", show_default=False, help="Only events after this seq."),
]
LimitOpt = Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many.")]


def events(
    topic: TopicOpt = None,
    follow: FollowOpt = False,
    since_seq: SinceSeqOpt = None,
    limit: LimitOpt = 100,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Print recent engine events, or follow them live, one per line.

    Each event has a monotonically increasing seq. Without --follow prints the last
    --limit events kept by the engine (after --since-seq). With --follow streams until
    Ctrl-C, and on a lagged notice, engine restart or lost connection reconnects with
    backoff and resumes after the last seq printed. Notes about that go to stderr.

    Without --json each event is one line in words: time, topic, and e.g. for a trade its
    route by symbol and pool kind, size, profit in the quote token, status and revert
    reason. With --json stdout carries only JSON lines {seq, topic, ts, data} (exact base
    units, addresses, seq).

    Exit codes: 0 done (or Ctrl-C while following) · 1 the engine refused (bad topic)
    · 3 engine unreachable at start.
    """
    topics = list(topic) if topic else None
    if not follow:
        params: dict[str, Any] = {"limit": limit, "since_seq": since_seq or 0}
        if topics:
            params["topics"] = topics
        data = call_or_exit(socket, "events.recent", params, as_json=as_json)
        names = Names() if as_json else fetch(options.socket_path(socket))
        for event in data.get("events") or []:
            _print_event(event, as_json, names)
        return
    client = Client(options.socket_path(socket))
    names, asked = Names(), 0.0
    try:
        for event in follow_events(client, topics, since_seq, as_json):
            if not as_json and not names.tokens and time.monotonic() - asked > NAMES_RETRY_S:
                # once connected; again (at most every few seconds) while the market loads
                names, asked = fetch(options.socket_path(socket)), time.monotonic()
            _print_event(event, as_json, names)
    except KeyboardInterrupt:
        raise typer.Exit(exitcodes.OK) from None


def follow_events(
    client: Client, topics: list[str] | None, since_seq: int | None, as_json: bool
) -> Iterator[dict[str, Any]]:
    """Events in seq order, forever; resubscribes with since_seq after any interruption.

    Only the first subscribe may fail the command: after that the engine going away is
    an expected event (restart, upgrade) and we wait for it to come back.
    """
    last, backoff, connected_once = since_seq, BACKOFF_MIN_S, False
    while True:
        try:
            with client.subscribe(topics, last) as sub:
                connected_once, backoff = True, BACKOFF_MIN_S
                last = sub.last_seq if last is None else last
                for event in _until_lagged(sub):
                    if int(event.get("seq", 0)) <= last:
                        continue  # already printed before a reconnect
                    last = int(event["seq"])
                    yield event
            output.note(f"arbctl: lagged; resubscribing after seq {last}")
        except EngineUnreachable as exc:
            if not connected_once:
                output.fail_unreachable(exc, as_json)
            output.note(f"arbctl: {exc}; reconnecting in {backoff:.1f}s (after seq {last})")
            time.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_S)
        except RpcError as exc:
            output.fail_rpc(exc, as_json)


def _until_lagged(sub: Any) -> Iterator[dict[str, Any]]:
    """Events until the engine cuts us off for lagging (we must resubscribe)."""
    for event in sub:
        if event.get("topic") != protocol.TOPIC_LAGGED:
            yield event
            continue
        data = event.get("data") or {}
        output.note(f"arbctl: engine says lagged: {data.get('reason', '?')}")
        if "oldest_available_seq" not in data:
            return  # queue overflow: this subscription is over
        # a gap in the replay (e.g. engine restart): the stream itself continues


def _print_event(event: dict[str, Any], as_json: bool, names: Names) -> None:
    if as_json:
        output.emit_json_line(
            {k: event.get(k) for k in ("seq", "topic", "ts", "data")},
        )
        return
    print(eventtext.line(event, names), flush=True)


def audit(
    limit: LimitOpt = 50,
    since: Annotated[
        str | None,
        typer.Option("--since", show_default=False, help="Only newer: 1h, 7d, ISO, epoch."),
    ] = None,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Show the audit log: who (uid, client) changed what, when and why.

    Every pause, resume, kill and shutdown is recorded by the engine with the caller's
    uid (from the socket) and reason. With --json prints {entries: [{id, ts, uid, client,
    action, reason, params, outcome}]}.

    Exit codes: 0 ok · 1 the engine refused · 2 bad --since · 3 engine unreachable.
    """
    params: dict[str, Any] = {"limit": limit}
    if since:
        params["since"] = options.since_or_exit(since, as_json)
    data = call_or_exit(socket, "audit", params, as_json=as_json)
    if as_json:
        output.emit_json(data)
        return
    rows = [
        (
            output.clock(e.get("ts")),
            e.get("uid"),
            e.get("client"),
            e.get("action"),
            e.get("outcome"),
            e.get("reason"),
        )
        for e in data.get("entries") or []
    ]
    output.print_table(["time", "uid", "client", "action", "outcome", "reason"], rows, markup=False)
