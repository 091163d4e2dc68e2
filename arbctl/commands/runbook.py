"""`checklist morning|evening`, `triage`, `report daily|performance`, `incident new`:
the runbooks' daily procedures, on-call triage and post-mortems as commands.

Each is a composition of what exists (socket methods, `logs`, `export trades`,
`reconcile`) done in the runbook's order with the runbook's thresholds; the logic lives
in `arbctl/runbook/`. They all answer when the engine is down — that is when on-call
needs them — by reading the state directory instead, and say so. Like every command
module, this one imports only typer and arbctl basics at start; the procedure loads
when its command runs.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from arbctl import exitcodes, options, output
from arbctl.commands.trading import Period

RETENTION_DAYS = 30  # runbook 1: "remove logs older than 30 days"

if TYPE_CHECKING:  # the procedures load only when their command runs
    from arbctl.runbook.checks import RunbookCheck
    from arbctl.runbook.sources import EngineSource

OutOpt = Annotated[
    Path | None,
    typer.Option("--out", "-o", show_default=False, help="Also write the markdown to FILE."),
]

# --- checklists ----------------------------------------------------------------------------
checklist_app = typer.Typer(
    name="checklist",
    help="The runbooks' daily checklists: `morning` (start of day), `evening` (end of day).",
    no_args_is_help=True,
)


@checklist_app.command("morning")
def morning(
    state_dir: options.StateDirOpt = None,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Run the morning checklist: is everything ready for trading?

    Engine state and health (ledger, Redis if configured, log freshness, loop latency),
    breaker and halt, wallet balances (reconcile), today's trades and success rate,
    trading activity, providers, gas, errors in the last hour (count and top patterns
    from the logs), disk use of the state directory, resources. Works with the engine
    down: its items FAIL saying so; halt marker, logs and disk are still checked. With
    --json prints {checklist, ts, engine, state_dir, verdict, exit_code, counts, checks:
    [{name, status, evidence, next_step, data}]} (docs/runbook.md).

    Exit codes: 0 all pass · 1 a warning · 2 a failure · 3 engine unreachable (the
    document still lists every item).
    """
    from arbctl.runbook import morning as procedure

    engine, sdir = _engine_and_dir(socket, state_dir)
    _finish_checklist("morning", procedure.run(engine, sdir), engine, sdir, as_json)


@checklist_app.command("evening")
def evening(
    reports_dir: Annotated[
        Path | None,
        typer.Option(
            "--reports-dir", show_default=False, help="Where the CSV goes (<state dir>/reports)."
        ),
    ] = None,
    retention_days: Annotated[
        int,
        typer.Option("--retention-days", min=0, help="Keep log archives this long (0: forever)."),
    ] = RETENTION_DAYS,
    state_dir: options.StateDirOpt = None,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Run the evening checklist: close the trading day.

    Today's P&L summary; today's trades exported to <reports-dir>/trades-<UTC day>.csv
    (exact columns, as `export trades`); anomalies detected today; gzip copies of the
    logs into <state dir>/logs/archive/<day>_<file>.gz, archives older than
    --retention-days deleted (the live log is never touched); reconciliation. With --json
    prints the same document as `checklist morning` (docs/runbook.md).

    Exit codes: 0 all pass · 1 a warning · 2 a failure · 3 engine unreachable.
    """
    from arbctl.runbook import evening as procedure

    engine, sdir = _engine_and_dir(socket, state_dir)
    reports = reports_dir if reports_dir is not None else sdir / procedure.REPORTS_DIR
    checks = procedure.run(engine, sdir, reports, retention_days)
    _finish_checklist("evening", checks, engine, sdir, as_json)


def _engine_and_dir(socket: Path | None, state_dir: Path | None) -> tuple[EngineSource, Path]:
    from arbctl.runbook.sources import EngineSource, resolve_state_dir

    engine = EngineSource(socket)
    return engine, resolve_state_dir(state_dir, engine)


def _finish_checklist(
    kind: str, checks: list[RunbookCheck], engine: EngineSource, state_dir: Path, as_json: bool
) -> None:
    import time

    from arbctl.runbook import checks as checklist
    from arbctl.runbook import render

    context = {"ts": time.time(), "engine": engine.describe(), "state_dir": str(state_dir)}
    doc = checklist.checklist_doc(kind, checks, context)
    _unreachable_is_3(doc, engine)
    if as_json:
        output.emit_json(doc)
    else:
        render.checklist(doc, f"{kind.capitalize()} checklist")
    raise typer.Exit(doc["exit_code"])


def _unreachable_is_3(doc: dict[str, Any], engine: EngineSource) -> None:
    """Engine unreachable exits 3 in every command (docs/cli.md "Contracts"); the verdict
    and the findings in the document still say how bad things are."""
    if not engine.reachable and engine.unreachable is not None:
        doc["exit_code"] = exitcodes.UNREACHABLE


# --- triage --------------------------------------------------------------------------------
def triage(
    state_dir: options.StateDirOpt = None,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """On-call in one screen: what is wrong, how bad (P0–P3), the evidence, what to do.

    Findings follow the runbooks' scenarios: engine down or halted (P0); breaker open,
    ledger unreachable, active provider down, high error rate (top error patterns from
    the logs), high latency (resources, database and RPC latency), low success rate
    (P1); no trading activity (breaker, guard triggers, head age, opportunities seen),
    a backup provider down, Redis down (P2); paused (P3); plus any firing alert not
    already explained. With the engine down it reads the state directory: pid file,
    halt marker, last log lines, the last snapshot in the SQLite ledger. With --json
    prints {ts, engine, state_dir, worst, exit_code, findings: [{severity, key, title,
    evidence, next_step, scenario, alerts}]} (docs/runbook.md).

    Exit codes: 0 nothing above P3 · 1 worst is P2 · 2 a P0 or P1 finding · 3 engine
    unreachable (its findings, P0 engine down first, are still shown).
    """
    from arbctl.runbook import render
    from arbctl.runbook import triage as procedure

    engine, sdir = _engine_and_dir(socket, state_dir)
    doc = procedure.run(engine, sdir)
    _unreachable_is_3(doc, engine)
    if as_json:
        output.emit_json(doc)
    else:
        render.findings(doc)
    raise typer.Exit(doc["exit_code"])


# --- reports -------------------------------------------------------------------------------
report_app = typer.Typer(
    name="report",
    help="Reports: `daily` (the 18:00 report) and `performance` (trends, charted).",
    no_args_is_help=True,
)


@report_app.command("daily")
def report_daily(
    out: OutOpt = None,
    state_dir: options.StateDirOpt = None,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """The daily report: status, uptime, trading metrics over 24 h, error summary and top
    errors, disk and resource usage.

    Markdown on stdout (and in --out FILE). With --json prints {report, ts, engine,
    state_dir, service, uptime, trading, errors, disk, resources, gaps, out}
    (docs/runbook.md).

    Exit codes: 0 complete · 1 incomplete (see `gaps`) or --out not writable · 3 engine
    unreachable.
    """
    from arbctl.runbook import reports

    engine, sdir = _engine_and_dir(socket, state_dir)
    doc, text = reports.daily(engine, sdir)
    _finish_report(doc, text, out, engine, as_json)


@report_app.command("performance")
def report_performance(
    period: Annotated[
        Period, typer.Option("--period", "-p", help="The window reviewed.")
    ] = Period.d30,
    max_trades: Annotated[
        int,
        typer.Option(
            "--max-trades", min=100, max=100_000, help="Trades read for the trend charts."
        ),
    ] = 20_000,
    out: OutOpt = None,
    state_dir: options.StateDirOpt = None,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """The performance review: latency, error rate, volume and resource trends, charted.

    From the ledger (`pnl` for exact period totals; `trades` for per-bucket volume,
    success and error rate, execution latency and profit), the logs (ERROR records per
    bucket) and the engine's recent heartbeats (loop latency, CPU, memory). What the
    sources cannot cover is said, not invented: e.g. resource history older than the
    event ring, or trades beyond --max-trades. With --json prints {report, period,
    since, until, bucket_s, buckets: [...], totals, recent, gaps, ...} (docs/runbook.md).

    Exit codes: 0 complete · 1 incomplete (see `gaps`) or --out not writable · 3 engine
    unreachable.
    """
    from arbctl.runbook import reports

    engine, sdir = _engine_and_dir(socket, state_dir)
    doc, text = reports.performance(engine, sdir, period.value, max_trades)
    _finish_report(doc, text, out, engine, as_json)


def _finish_report(
    doc: dict[str, Any], text: str, out: Path | None, engine: EngineSource, as_json: bool
) -> None:
    from arbctl.runbook import markdown

    code = exitcodes.OK if not doc.get("gaps") else exitcodes.FAILED
    if not engine.reachable:
        code = exitcodes.UNREACHABLE
    doc["out"] = None
    if out is not None:
        try:
            doc["out"] = str(markdown.write(out, text))
        except OSError as exc:
            output.note(f"arbctl: cannot write {out}: {exc.strerror or exc}")
            doc.setdefault("gaps", []).append(f"out: cannot write {out}: {exc}")
            code = exitcodes.FAILED if code == exitcodes.OK else code
    if as_json:
        output.emit_json(doc)
    else:
        print(text, end="" if text.endswith("\n") else "\n", flush=True)
    raise typer.Exit(code)


# --- incidents -----------------------------------------------------------------------------
class Severity(StrEnum):
    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


incident_app = typer.Typer(
    name="incident",
    help="Incident records: `new` writes the post-mortem template, prefilled.",
    no_args_is_help=True,
)


@incident_app.command("new")
def incident_new(
    severity: Annotated[
        Severity, typer.Option("--severity", "-s", help="P0 critical … P3 low (runbooks).")
    ],
    title: Annotated[str, typer.Option("--title", "-t", help="One line: what happened.")],
    since: Annotated[
        str, typer.Option("--since", help="Start of the window: 2h, 30m, ISO time, epoch.")
    ] = "2h",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            show_default=False,
            help="Write here (default <state dir>/incidents/<date>-<slug>.md).",
        ),
    ] = None,
    state_dir: options.StateDirOpt = None,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Write the post-mortem (runbook 2's template), prefilled from the engine's records.

    The timeline comes from the audit log (pause, kill, breaker reset, failover, resume:
    who, when, why), alert notifications, breaker transitions, state changes, provider
    events and ERROR log records since --since: detected (first alert, breaker opening,
    provider down, error), mitigations, restored (resume, breaker closed, alerts
    resolved). The P&L impact is the net of the
    trades in the window (exact, from the ledger). With the engine down the timeline is
    read from the logs (AUDIT, ALERT, GUARD lines). An existing file is never
    overwritten. With --json prints {path, severity, title, since, until, detected_at,
    response_at, mitigated_at, restored_at, duration_s, ongoing, timeline, pnl, sources,
    gaps} (docs/runbook.md).

    Exit codes: 0 written · 1 written but incomplete (see `gaps`), or not written · 2
    bad option · 3 engine unreachable (written from the logs).
    """
    from arbctl.runbook import incident

    start = options.since_or_exit(since, as_json)
    if not title.strip():
        output.fail("--title must not be empty", exitcodes.USAGE, as_json)
    engine, sdir = _engine_and_dir(socket, state_dir)
    doc, text = incident.new(engine, sdir, severity.value, title.strip(), start)
    try:
        doc["path"] = str(incident.write(text, out, sdir, title.strip(), doc["until"]))
    except OSError as exc:
        output.fail(f"cannot write the incident file: {exc}", exitcodes.FAILED, as_json)
    code = exitcodes.OK if not doc["gaps"] else exitcodes.FAILED
    if not engine.reachable:
        code = exitcodes.UNREACHABLE
    if as_json:
        output.emit_json(doc)
    else:
        output.say(f"incident written to {output.esc(doc['path'])}")
        for gap in doc["gaps"]:
            output.note(f"arbctl: not available: {gap}")
    raise typer.Exit(code)
