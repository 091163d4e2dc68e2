"""Human output of checklists and triage: one table or list a screen, colour for status.

rich is imported inside each function, as in arbctl/output.py: with --json nothing here
runs. Engine-supplied text (reasons, log messages) is shown verbatim, never parsed as
markup.
"""

from __future__ import annotations

from typing import Any

from arbctl import output
from arbctl.runbook import fmt

STATUS_STYLE = {"PASS": "green", "WARN": "yellow", "FAIL": "bold red"}
SEVERITY_STYLE = {"P0": "bold red", "P1": "red", "P2": "yellow", "P3": "cyan"}


def engine_line(doc: dict[str, Any]) -> str:
    """`engine running (pid 42) · state dir /…` or why the engine is not answering."""
    engine = doc.get("engine") or {}
    if engine.get("reachable"):
        where = f"engine {engine.get('state')} (pid {engine.get('pid')})"
    else:
        where = f"engine NOT ANSWERING on {engine.get('socket')} ({engine.get('reason')})"
    return f"{where} · state dir {doc.get('state_dir')}"


def checklist(doc: dict[str, Any], title: str) -> None:
    from rich.table import Table
    from rich.text import Text

    console = output.console()
    console.print(Text(f"{title} — {fmt.stamp(doc.get('ts'))}", style="bold"))
    console.print(Text(engine_line(doc)))
    steps = any(check["next_step"] for check in doc["checks"])  # all passed: no column
    table = Table(header_style="bold", show_lines=False)
    for column in ("status", "check", "evidence", "next step")[: 4 if steps else 3]:
        table.add_column(column, overflow="fold")
    for names, check in same_answer(doc["checks"]):
        status = str(check["status"])
        cells = [
            Text(status, style=STATUS_STYLE.get(status, "")),
            Text(", ".join(names)),
            Text(str(check["evidence"])),
            Text(str(check["next_step"])),
        ]
        table.add_row(*cells[: 4 if steps else 3])
    console.print(table)
    counts = doc["counts"]
    summary = f"{len(doc['checks'])} checks: {counts['PASS']} PASS · {counts['WARN']} WARN"
    console.print(Text(f"{summary} · {counts['FAIL']} FAIL → {doc['verdict']}", style="bold"))


def same_answer(checks: list[dict[str, Any]]) -> list[tuple[list[str], dict[str, Any]]]:
    """Checks that failed for the same reason, as one row naming them all: with the engine
    down a dozen items share one cause, and a person should read it once, not twelve
    times. Rows keep the order of each group's first check."""
    groups: dict[tuple[str, str, str], tuple[list[str], dict[str, Any]]] = {}
    for check in checks:
        key = (str(check["status"]), str(check["evidence"]), str(check["next_step"]))
        groups.setdefault(key, ([], check))[0].append(str(check["name"]))
    return list(groups.values())


def findings(doc: dict[str, Any]) -> None:
    from rich.text import Text

    console = output.console()
    console.print(Text(f"Triage — {fmt.stamp(doc.get('ts'))}", style="bold"))
    console.print(Text(engine_line(doc)))
    found = doc["findings"]
    if not found:
        console.print(Text("no findings: nothing the runbooks call an incident", style="green"))
        return
    for finding in found:
        severity = str(finding["severity"])
        head = Text(f"{severity} ", style=SEVERITY_STYLE.get(severity, ""))
        head.append(f"{finding['title']}", style="bold")
        head.append(f"  [{finding['key']}]", style="dim")
        console.print(head)
        for line in finding["evidence"]:
            console.print(Text(f"    · {line}"))
        console.print(Text(f"    → {finding['next_step']}", style="cyan"))
    worst = doc.get("worst")
    console.print(Text(f"{len(found)} findings, worst {worst}", style="bold"))
