"""The evening checklist (runbook 2, end of trading day), one `RunbookCheck` per step.

1. today's P&L summary (`pnl --period today`); 2. the day's trades exported to CSV
(`export trades`, same pages, same exact columns); 3. anomalies detected today;
4. log archive (gzip copies, retention); 5. reconciliation (`reconcile`). The archive
needs only the state directory, so it is done even when the engine is down.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from arbctl.commands import accounting
from arbctl.runbook import archive, fmt, logscan, steps
from arbctl.runbook.checks import RunbookCheck, failed, passed, warned
from arbctl.runbook.morning import unanswered
from arbctl.runbook.sources import RECONCILE_TIMEOUT_S, EngineSource

REPORTS_DIR = "reports"


def run(
    engine: EngineSource, state_dir: Path, reports_dir: Path, retention_days: int
) -> list[RunbookCheck]:
    return [
        pnl(engine),
        export(engine, reports_dir),
        anomalies(engine),
        log_archive(state_dir, retention_days),
        reconcile(engine),
    ]


def pnl(engine: EngineSource) -> RunbookCheck:
    """Runbook 2's "Daily Summary": trades, successes, failures, net profit, costs."""
    answer = engine.ask("pnl", {"period": "today"})
    if not answer.ok:
        return unanswered("pnl", answer, steps.LEDGER)
    quote = (answer.get("units") or {}).get("quote")
    net = answer.get("net_profit_quote")
    costs = (answer.get("gas_cost_quote") or 0) + (answer.get("flash_fee_quote") or 0)
    evidence = (
        f"{answer.get('total_trades')} trades ({answer.get('successful_trades')} ok · "
        f"{answer.get('reverted_trades')} reverted · {answer.get('failed_trades')} failed), "
        f"success {fmt.pct(answer.get('success_rate'))}, net {fmt.tokens(net, quote)}, "
        f"costs {fmt.tokens(costs, quote).lstrip('+')}"
    )
    data = {k: v for k, v in answer.value.items() if k != "by_token"}
    if isinstance(net, int) and net < 0:
        return warned("pnl", f"{evidence}: a losing day", steps.SUCCESS_RATE, **data)
    return passed("pnl", evidence, **data)


def export_path(reports_dir: Path, now: float | None = None) -> Path:
    """`trades-<YYYY-MM-DD>.csv`, the UTC day: `today` is since 00:00 UTC (the ledger's)."""
    day = time.strftime("%Y-%m-%d", time.gmtime(time.time() if now is None else now))
    return reports_dir / f"trades-{day}.csv"


def export(engine: EngineSource, reports_dir: Path) -> RunbookCheck:
    """`arbctl export trades --period today --out <reports>/trades-<day>.csv`, reused."""
    params = {"period": "today", "limit": accounting.EXPORT_PAGE}
    first = engine.ask("export.trades", params)
    if not first.ok:
        return unanswered("export", first, steps.EXPORT)
    path = export_path(reports_dir)
    try:
        reports_dir.mkdir(parents=True, exist_ok=True)
        rows = accounting.write_csv(path, first.value, engine.socket, as_json=False)
    except OSError as exc:
        return failed("export", f"cannot write {path}: {exc}", steps.EXPORT, path=str(path))
    except typer.Exit:  # the export explained itself on stderr
        return failed("export", f"export to {path} failed (see above)", steps.EXPORT)
    return passed("export", f"{rows} trades written to {path}", path=str(path), rows=rows)


def anomalies(engine: EngineSource) -> RunbookCheck:
    """ "⚠️ N anomalies detected today" with the five most recent, or "✓ none"."""
    answer = engine.ask("anomalies", {"limit": 5})
    if not answer.ok:
        return unanswered("anomalies", answer, steps.ANOMALIES)
    today = int(answer.get("today") or 0)
    recent = answer.get("recent") or []
    data: dict[str, Any] = {"today": today, "recent": recent[:5]}
    if not today:
        return passed("anomalies", "no anomalies detected today", **data)
    listed = "; ".join(
        f"{a.get('kind')} {a.get('subject') or ''}: {a.get('detail')}" for a in recent[:5]
    )
    evidence = f"{today} anomalies detected today: {listed}"
    return warned("anomalies", evidence, steps.ANOMALIES, **data)


def log_archive(state_dir: Path, retention_days: int) -> RunbookCheck:
    try:
        result = archive.archive_logs(logscan.log_dir(state_dir), retention_days)
    except OSError as exc:
        return failed("log_archive", f"archiving failed: {exc}", steps.ARCHIVE)
    done = result["archived"]
    if not done:
        evidence = f"no log files in {logscan.log_dir(state_dir)}"
        return warned("log_archive", evidence, steps.LOGS, **result)
    kept = f"kept {retention_days} days" if retention_days else "kept forever"
    evidence = (
        f"{len(done)} files → {result['dir']} "
        f"({fmt.size(sum(d['compressed_bytes'] for d in done))} gzipped); "
        f"{len(result['pruned'])} old archives pruned ({kept})"
    )
    return passed("log_archive", evidence, **result)


def reconcile(engine: EngineSource) -> RunbookCheck:
    answer = engine.ask("reconcile", {}, timeout=RECONCILE_TIMEOUT_S)
    if not answer.ok:
        return unanswered("reconcile", answer, steps.RECONCILE)
    tokens = answer.get("tokens") or []
    counts = answer.get("trades") or {}
    data = {"reconciled": answer.get("reconciled"), "session_id": answer.get("session_id")}
    if answer.get("reconciled"):
        evidence = f"accounts reconciled: {len(tokens)} tokens, {counts.get('total', 0)} trades"
        return passed("reconcile", evidence, **data)
    off = [f"{t['symbol']} {fmt.tokens(t['difference'], t)}" for t in tokens if t["difference"]]
    return failed("reconcile", f"mismatch: {', '.join(off)}", steps.RECONCILE, **data)
