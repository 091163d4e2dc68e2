"""A check: one runbook step's verdict, the evidence behind it, and what to do next.

The runbooks are written as "check X; expected Y; action if not: see section Z". A
`RunbookCheck` keeps exactly that shape so a checklist prints the same way for a person and for
a script, and the exit code (0 all pass · 1 a warning · 2 a failure) is derived from the
checks alone, never decided separately.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"
_RANK = {PASS: 0, WARN: 1, FAIL: 2}


@dataclass(slots=True)
class RunbookCheck:
    """`next_step` is the runbook's action for this check; empty when it passed."""

    name: str
    status: str
    evidence: str
    next_step: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def passed(name: str, evidence: str, **data: Any) -> RunbookCheck:
    return RunbookCheck(name, PASS, evidence, "", data)


def warned(name: str, evidence: str, next_step: str, **data: Any) -> RunbookCheck:
    return RunbookCheck(name, WARN, evidence, next_step, data)


def failed(name: str, evidence: str, next_step: str, **data: Any) -> RunbookCheck:
    return RunbookCheck(name, FAIL, evidence, next_step, data)


def graded(name: str, status: str, evidence: str, next_step: str, **data: Any) -> RunbookCheck:
    """A check whose status was computed; the next step is kept only when it did not pass."""
    return RunbookCheck(name, status, evidence, "" if status == PASS else next_step, data)


def worst(statuses: Iterable[str]) -> str:
    return max(statuses, key=lambda s: _RANK[s], default=PASS)


def exit_code(checks: Iterable[RunbookCheck]) -> int:
    """0 all passed · 1 at least one warning · 2 at least one failure."""
    return _RANK[worst(c.status for c in checks)]


def by_threshold(value: float, warn_at: float, fail_at: float | None = None) -> str:
    """PASS below `warn_at`, WARN from it, FAIL from `fail_at` (higher is worse)."""
    if fail_at is not None and value >= fail_at:
        return FAIL
    return WARN if value >= warn_at else PASS


def checklist_doc(kind: str, checks: list[RunbookCheck], context: dict[str, Any]) -> dict[str, Any]:
    """The `--json` document of a checklist (fields documented in docs/runbook.md)."""
    verdict = worst(c.status for c in checks)
    return {
        "checklist": kind,
        **context,
        "verdict": verdict,
        "exit_code": _RANK[verdict],
        "counts": {s: sum(c.status == s for c in checks) for s in (PASS, WARN, FAIL)},
        "checks": [c.to_dict() for c in checks],
    }
