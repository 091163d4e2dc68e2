"""The banner: one loud line when the engine cannot trade or cannot be reached.

Hidden while all is well, so its appearance is itself the signal. It says what is
wrong, what the console is doing about it, and what the operator can do.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.widgets import Static

from engine import protocol
from screens import formats
from screens.state import BANNER, HEADER, ConsoleModel, as_dict
from screens.widgets.header import CLOCK
from screens.widgets.view import VIEW_CLASS, ModelView


def banner_text(model: ConsoleModel) -> tuple[str, str] | None:
    """(message, severity class) or None when there is nothing to shout about."""
    link = model.link
    if not link.connected:
        return _unreachable(model), "-error"
    if not model.answering:
        return _not_answering(model), "-warning"
    state = model.state
    reason = model.engine.get("reason") or ""
    if state == protocol.HALTED:
        return f"HALTED — {reason}. Nothing is signed or sent until a human resumes (p).", "-error"
    if state == protocol.PAUSED:
        return f"PAUSED — {reason}. No new trades; p resumes.", "-warning"
    if state == protocol.STOPPING:
        return f"STOPPING — {reason}", "-warning"
    return _breaker(model)


def _breaker(model: ConsoleModel) -> tuple[str, str] | None:
    """An open (or probing) breaker stops trading as surely as a pause: say so, and why."""
    breaker = as_dict(model.engine.get("breaker"))
    state = str(breaker.get("state") or "closed")
    if state == "closed":
        return None
    cause = f"{breaker.get('guard') or '?'}: {breaker.get('reason') or '?'}"
    retry = breaker.get("retry_at")
    when = ""
    if isinstance(retry, int | float):  # first: at 80 columns the end of the line is cut
        left = formats.duration(max(0.0, float(retry) - model.clock()))
        when = f", retry {formats.clock(retry)}Z (in {left})"
    word = "BREAKER OPEN" if state == "open" else "BREAKER HALF-OPEN (probing)"
    return f"{word}{when} — {cause}. No new trades. g guards · a alerts", "-error"


def _not_answering(model: ConsoleModel) -> str:
    heard = formats.clock(model.last_heard or model.link.since)
    return (
        f"NOT ANSWERING for {formats.duration(model.silent_s())} — connected, but no "
        f"heartbeat since {heard}Z (frozen, stopped or overloaded?). Panels are as of "
        f"{heard}Z. K still halts it (falls back to the pid)."
    )


def _unreachable(model: ConsoleModel) -> str:
    link = model.link
    down = formats.duration(model.clock() - link.since) if link.since else "?"
    verb = "ENGINE DOWN" if link.ever_connected else "NO ENGINE"
    resume = f"; will resume after seq {model.last_seq}" if model.last_seq else ""
    retry = f" (attempt {link.attempt}, every ≤5s)" if link.attempt else ""
    return f"{verb} for {down} — {link.detail}. Reconnecting{retry}{resume}."


class StateBanner(ModelView, Static):
    """Engine down, restarting, halted or paused: said in one line, in colour or not."""

    panels: ClassVar[tuple[str, ...]] = (BANNER, HEADER, CLOCK)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(classes=VIEW_CLASS, **kwargs)  # type: ignore[arg-type]

    def show(self, model: ConsoleModel) -> None:
        found = banner_text(model)
        self.set_class(found is not None, "-shown")
        for severity in ("-error", "-warning"):
            self.set_class(found is not None and found[1] == severity, severity)
        if found is not None:
            self.update(Text(found[0], no_wrap=True, overflow="ellipsis"))
