"""`export trades`, `reconcile`, `db cleanup`, `db backup`: the evening checklist and the
weekly maintenance as commands.

The engine owns the ledger connection, so each of these asks it: it pages CSV rows out,
compares its books with the wallet, deletes old snapshots, copies its SQLite file.
Only `db backup` works without an engine (a stopped engine's SQLite file is copied
directly; for PostgreSQL the pg_dump line is printed either way). Like every plain
command this module imports only the client at start; the engine's config and ledger
code load only for that offline backup.
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from arbctl import exitcodes, options, output
from arbctl.client import Client, EngineUnreachable, RpcError
from arbctl.commands.trading import Period
from arbctl.helptext import reflow
from arbctl.output import Col
from arbctl.rpc import audited, call_or_exit
from engine import units

EXPORT_PAGE = 2_000
RECONCILE_TIMEOUT_S = 60.0
BACKUP_TIMEOUT_S = 600.0
_NO_ENGINE = frozenset({"no_socket", "refused"})  # EngineUnreachable kinds: nobody serves

# --- export --------------------------------------------------------------------------------
export_app = typer.Typer(
    name="export",
    help="Export ledger data for accounting (CSV).",
    no_args_is_help=True,
)


@export_app.command("trades")
def export_trades(
    out: Annotated[
        str,
        typer.Option("--out", "-o", help="CSV file to write ('-': standard output)."),
    ],
    period: Annotated[
        Period, typer.Option("--period", "-p", help="Trades detected in this window.")
    ] = Period.today,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Write the trades of a period to a CSV file, newest first, every field exact.

    Columns (docs/accounting.md): every trade field under its own name, money as exact
    integers in base units and the revert reason included; then human columns (`_dec`
    amounts in whole tokens, `_utc` times). `today` starts at 00:00 UTC. The file appears
    only once complete; its folder is created if missing. With --json prints {out, rows,
    period, since, until, columns}.

    Exit codes: 0 written · 1 the engine refused (ledger unavailable) or the file cannot
    be written · 3 engine unreachable.
    """
    params: dict[str, Any] = {"period": period.value, "limit": EXPORT_PAGE}
    first = call_or_exit(socket, "export.trades", params, as_json=as_json)
    if out == "-":
        rows = _write_pages(sys.stdout, first, socket, as_json)
    else:
        rows = write_csv(Path(out), first, socket, as_json)
    summary = {
        "out": out,
        "rows": rows,
        "period": period.value,
        "since": first["since"],
        "until": first["until"],
        "columns": first["columns"],
    }
    if as_json and out != "-":
        output.emit_json(summary)
    elif out != "-":
        window = f"{output.clock(first['since'])} → {output.clock(first['until'])}"
        output.say(f"exported {rows} trades ({period.value}: {window}) to {output.esc(out)}")


def write_csv(path: Path, first: dict[str, Any], socket: Path | None, as_json: bool) -> int:
    """Write beside the target and rename: an interrupted export leaves no short file.
    A missing folder (`--out reports/x.csv`) is created, as the evening checklist does."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("w", newline="", encoding="utf-8") as handle:
            rows = _write_pages(handle, first, socket, as_json)
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        output.fail(f"cannot write {path}: {exc.strerror or exc}", exitcodes.FAILED, as_json)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return rows


def _write_pages(handle: IO[str], page: dict[str, Any], socket: Path | None, as_json: bool) -> int:
    """The header, then page after page until the engine says there is no more."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(page["columns"])
    rows = 0
    while True:
        writer.writerows(page["rows"])
        rows += len(page["rows"])
        if page.get("cursor") is None:
            return rows
        params = {
            "since": page["since"],
            "until": page["until"],
            "cursor": page["cursor"],
            "limit": EXPORT_PAGE,
        }
        page = call_or_exit(socket, "export.trades", params, as_json=as_json)


# --- reconcile -----------------------------------------------------------------------------
def reconcile(
    exact: options.ExactOpt = False,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Check the ledger against the wallet, per token, since this engine session started.

    Expected change = the trades' realised change of each token, minus gas paid in the
    native token; actual change = balance now - balance at session start. Both sides are
    taken at one moment when no execution is in flight, without pausing trading
    (docs/accounting.md). Prints `reconciled` or `difference` per token in token units
    (--exact: in base units), and the trades in the window (starting and current
    balances are in --json). With --json prints
    {reconciled, tokens: [{token, symbol, start, current, actual_change, expected_change,
    difference, status, ...}], trades, since, until, ...}.

    Exit codes: 0 reconciled · 1 a difference (or the engine refused: ledger unavailable,
    no quiet moment) · 3 engine unreachable.
    """
    data = call_or_exit(socket, "reconcile", {}, as_json=as_json, timeout=RECONCILE_TIMEOUT_S)
    if as_json:
        output.emit_json(data)
    else:
        _print_reconciliation(data, exact)
    if not data.get("reconciled"):
        raise typer.Exit(exitcodes.FAILED)


def _print_reconciliation(data: dict[str, Any], exact: bool) -> None:
    ok = bool(data.get("reconciled"))
    verdict = "[bold green]RECONCILED[/]" if ok else "[bold red]DIFFERENCE[/]"
    window = f"{output.clock(data.get('since'))} → {output.clock(data.get('until'))}"
    output.say(f"{verdict} · session {data.get('session_id')} · {window}")
    rows = [
        (
            line.get("symbol"),
            *(_amount(line.get(k), line.get("decimals"), exact) for k in _RECONCILE_CHANGES),
            _difference(line.get("difference"), line.get("decimals"), exact),
            line.get("trades"),
            line.get("status"),
        )
        for line in data.get("tokens") or []
    ]
    columns = [
        Col("token", shrink=8),
        Col("actual change", right=True, drop=2),
        Col("expected change", right=True, drop=1),
        Col("difference", right=True),
        Col("trades", right=True, drop=3),
        Col("status"),
    ]
    output.print_fitted(columns, rows)
    t = data.get("trades") or {}
    output.say(
        f"trades in the window: {t.get('total', 0)} · {t.get('successful', 0)} ok · "
        f"{t.get('reverted', 0)} reverted · {t.get('failed', 0)} failed"
    )


_RECONCILE_CHANGES = ("actual_change", "expected_change")


def _difference(amount: Any, decimals: Any, exact: bool) -> str:
    """The difference is the point of the check: every significant digit, never rounded."""
    if exact or not isinstance(amount, int) or not isinstance(decimals, int):
        return str(amount)
    return units.to_text(amount, decimals, separators=True, plus=True) if amount else "0"


def _amount(amount: Any, decimals: Any, exact: bool) -> str:
    """In token units (the token column names the unit); base units with --exact or when
    the token's decimals are unknown."""
    if exact or not isinstance(amount, int) or not isinstance(decimals, int):
        return str(amount)
    return units.human(amount, decimals, plus=True)


# --- db ------------------------------------------------------------------------------------
db_app = typer.Typer(
    name="db",
    help=reflow(
        """Ledger database upkeep: delete old session snapshots, back the ledger up.

        `arbctl db cleanup --older-than 30d` is the runbook's weekly
        cleanup_old_snapshots_30d; `arbctl db backup FILE` copies the SQLite ledger (or
        prints the pg_dump command for PostgreSQL).
        """
    ),
    no_args_is_help=True,
)

OlderThanOpt = Annotated[
    str,
    typer.Option(
        "--older-than", help="Delete snapshots taken before this: 30d, 12h, an ISO time, epoch."
    ),
]
OptionalReasonOpt = Annotated[
    str | None,
    typer.Option(
        "--reason", "-r", show_default=False, help="Why (recorded in the audit log with your uid)."
    ),
]


@db_app.command("cleanup")
def db_cleanup(
    older_than: OlderThanOpt = "30d",
    reason: OptionalReasonOpt = None,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Delete the session snapshots of stopped sessions taken before --older-than.

    What the runbook's `SELECT cleanup_old_snapshots_30d();` does, for any age and either
    backend: a crashed session (never stopped) keeps its snapshots for the post-mortem,
    and the newest snapshot of all is never deleted, so a restart still restores.
    Audited with your uid. With --json prints {backend, before, deleted}.

    Exit codes: 0 done · 1 the engine refused (ledger unavailable) · 2 bad --older-than
    · 3 engine unreachable.
    """
    before = options.since_or_exit(older_than, as_json)
    why = (reason or "").strip() or f"db cleanup --older-than {older_than}"
    data = call_or_exit(socket, "db.cleanup", audited(why, before=before), as_json=as_json)
    if as_json:
        output.emit_json(data)
        return
    output.say(
        f"deleted {data.get('deleted')} snapshots of stopped sessions taken before "
        f"{output.clock(data.get('before'))} ({data.get('backend')})"
    )


@db_app.command("backup")
def db_backup(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Where to write the copy.")],
    reason: OptionalReasonOpt = None,
    config: options.ConfigOpt = None,
    state_dir: options.StateDirOpt = None,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Back the ledger up to FILE.

    SQLite: the running engine copies its ledger with SQLite's online backup API (a
    consistent copy while it trades); with no engine running, the file named by --config
    / --state-dir is copied directly. The copy is one self-contained SQLite file, written
    beside FILE and renamed when complete. PostgreSQL: prints the exact pg_dump command
    for the configured DSN, password masked (use PGPASSWORD or ~/.pgpass); nothing is
    written. With --json prints {backend, path, bytes} or {backend, command, note}.

    Exit codes: 0 done · 1 the backup failed · 2 invalid config · 3 no engine and no
    ledger file found, or an engine holds the socket but does not answer.
    """
    dest = file.expanduser().absolute()
    why = (reason or "").strip() or "db backup"
    try:
        data = Client(options.socket_path(socket)).call(
            "db.backup", audited(why, path=str(dest)), timeout=BACKUP_TIMEOUT_S
        )
    except EngineUnreachable as exc:
        if exc.kind not in _NO_ENGINE:  # it is there but busy or frozen: never copy beside it
            output.fail_unreachable(exc, as_json)
        data = _offline_backup(dest, config, state_dir, as_json)
    except RpcError as exc:
        output.fail_rpc(exc, as_json)
    _print_backup(data, as_json)


def _offline_backup(
    dest: Path, config: Path | None, state_dir: Path | None, as_json: bool
) -> dict[str, Any]:
    """No engine answers: read the config ourselves and copy its SQLite file."""
    from engine.accounting.backup import PG_PASSWORD_NOTE, pg_dump_command
    from engine.config import ConfigError, load
    from engine.ledger.factory import sqlite_path

    try:
        loaded = load(config)
    except ConfigError as exc:
        output.fail(f"invalid config: {exc}", exitcodes.USAGE, as_json)
    ledger = loaded.ledger
    if ledger.backend == "postgres":
        command = pg_dump_command(ledger.dsn, ledger.schema, str(dest))
        return {"backend": "postgres", "command": command, "note": PG_PASSWORD_NOTE}
    sdir = state_dir or (Path(loaded.engine.state_dir) if loaded.engine.state_dir else None)
    source = sqlite_path(ledger, options.state_dir(sdir))
    return _copy_sqlite(source, dest, as_json)


def _copy_sqlite(source: Path, dest: Path, as_json: bool) -> dict[str, Any]:
    import sqlite3

    from engine.ledger.sqlite import backup_file

    if not source.is_file():
        message = f"no engine answers and there is no SQLite ledger at {source}"
        output.fail(message, exitcodes.UNREACHABLE, as_json)
    try:
        backup_file(source, dest)
    except (OSError, ValueError, sqlite3.Error) as exc:
        output.fail(f"backup of {source} failed: {exc}", exitcodes.FAILED, as_json)
    return {"backend": "sqlite", "path": str(dest), "bytes": dest.stat().st_size, "offline": True}


def _print_backup(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        output.emit_json(data)
        return
    if "command" in data:
        sys.stdout.write(f"{data['command']}\n")
        output.note(f"arbctl: {data.get('note', '')}")
        return
    how = "copied directly (no engine running)" if data.get("offline") else "online backup"
    output.say(f"{output.esc(data.get('path'))}: {data.get('bytes')} bytes ({how})")
