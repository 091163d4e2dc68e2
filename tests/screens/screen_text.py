"""What a console screen shows, as text and styles: what an operator reads off the glass."""

from __future__ import annotations

from rich.style import Style

from screens.app import ArbConsole


def screen_lines(app: ArbConsole) -> list[str]:
    """The composed screen (dialogs over the dashboard included), one string a row."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def screen_text(app: ArbConsole) -> str:
    return "\n".join(screen_lines(app))


def styles_of(app: ArbConsole, fragment: str) -> list[Style]:
    """The styles of every segment whose text contains `fragment`."""
    found: list[Style] = []
    for strip in app.screen._compositor.render_strips():
        for segment in strip:
            if fragment in segment.text and segment.style is not None:
                found.append(segment.style)
    return found
