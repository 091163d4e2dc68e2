"""The dialogs: every state change asks before it acts, and says exactly what it does.

- `ReasonModal`: pause/resume. The audit trail wants a reason, but an operator in a hurry
  should not have to invent one, so Enter accepts a default — except when clearing a
  HALT, which is a deliberate human act and needs the human's own words.
- `KillModal`: names what kill does and needs `KILL` typed, then Enter. Focus starts on
  Cancel, so a stray Enter cancels; typing goes into the confirmation field anyway.
- `FailoverModal`: pin a provider or go back to automatic.
- `HelpModal`: every key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

KILL_WORD = "KILL"
KILL_EXPLANATION = (
    "From the instant the engine acknowledges the kill:\n"
    "• every send is blocked: nothing is signed or sent;\n"
    "• in-flight transactions are cancelled where the chain allows;\n"
    "• the halt persists, across restarts too, until a human resumes\n"
    "  with a reason (p)."
)


class TypeAhead:
    """Keys typed before the dialog's field has focus still land in the field.

    Focus moves asynchronously: over SSH an operator types `p` and the reason in one
    burst, and the first letters would otherwise go to whatever had focus a moment ago.
    Any printable key that bubbles up to the dialog was not taken by the field (which
    stops the keys it types), so it belongs there.
    """

    field_selector: ClassVar[str] = "Input"

    def on_key(self, event: events.Key) -> None:
        if not event.is_printable or event.character is None:
            return
        field = self.query_one(self.field_selector, Input)  # type: ignore[attr-defined]
        event.stop()
        event.prevent_default()
        field.focus()
        field.insert_text_at_cursor(event.character)


class ReasonModal(TypeAhead, ModalScreen[str | None]):
    """Ask why; Enter accepts the default when there is one. Result: the reason or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    field_selector: ClassVar[str] = "#reason"

    def __init__(self, title: str, explanation: str, default: str | None) -> None:
        super().__init__()
        self.title_text = title
        self.explanation = explanation
        self.default = default

    def compose(self) -> ComposeResult:
        hint = (
            f"Reason (Enter accepts “{self.default}”):"
            if self.default
            else "Reason (required: say why, it is audited):"
        )
        with Vertical(classes="dialog"):
            yield Label(Text(self.title_text, style="bold"), classes="dialog-title")
            yield Static(Text(self.explanation), classes="dialog-text")
            yield Label(hint)
            yield Input(placeholder=self.default or "why?", id="reason", select_on_focus=False)
            yield Label("", id="reason-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#ok")
    def accept(self) -> None:
        typed = self.query_one("#reason", Input).value.strip()
        reason = typed or self.default
        if not reason:
            self.query_one("#reason-error", Label).update("A reason is required here.")
            return
        self.dismiss(reason)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class KillModal(TypeAhead, ModalScreen[bool]):
    """The emergency kill confirmation. Result: True only for `KILL` + Enter.

    Focus starts on Cancel so a stray Enter cancels; typing goes to the field anyway.
    `on_confirm` runs the instant `KILL` is entered, before the dialog is even taken
    down: the kill must not wait for the dashboard to be repainted.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    field_selector: ClassVar[str] = "#confirm"

    def __init__(
        self,
        on_confirm: Callable[[], None],
        title: str = "EMERGENCY KILL",
        explanation: str = KILL_EXPLANATION,
    ) -> None:
        super().__init__()
        self.on_confirm = on_confirm
        self.title_text = title  # the fleet console's kill: same dialog, its own words
        self.explanation = explanation

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-danger"):
            yield Label(Text(self.title_text, style="bold"), classes="dialog-title")
            yield Static(Text(self.explanation), classes="dialog-text")
            yield Label(f"Type {KILL_WORD} and press Enter to confirm; Esc cancels.")
            yield Input(placeholder=KILL_WORD, id="confirm", select_on_focus=False)
            yield Label("", id="kill-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", variant="primary", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Input.Submitted, "#confirm")
    def confirm(self, message: Input.Submitted) -> None:
        if message.value.strip() == KILL_WORD:
            self.on_confirm()
            self.dismiss(True)
            return
        message.input.value = ""
        self.query_one("#kill-error", Label).update(
            Text(f"Not killed: {message.value!r} is not {KILL_WORD} (capitals).")
        )

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)


@dataclass(frozen=True)
class FailoverChoice:
    """The operator's pick: a provider's name to pin, or None for automatic failover."""

    name: str | None


AUTOMATIC = "__automatic__"


class FailoverModal(ModalScreen[FailoverChoice | None]):
    """Pick a provider to pin, or automatic. Result: the choice, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, providers: list[dict[str, Any]]) -> None:
        super().__init__()
        self.providers = providers

    def compose(self) -> ComposeResult:
        options = [Option("automatic — let the engine choose by health and priority", AUTOMATIC)]
        for p in self.providers:
            active = " (active)" if p.get("active") else ""
            label = f"pin {p.get('name')}: {p.get('status', '?')}{active}"
            options.append(Option(label, str(p.get("name"))))
        with Vertical(classes="dialog"):
            yield Label(Text("Failover override", style="bold"), classes="dialog-title")
            yield Static(
                Text("Pinning keeps the engine on one provider until you choose automatic."),
                classes="dialog-text",
            )
            yield OptionList(*options, id="choices")
            yield Label("Enter picks · Esc cancels", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#choices", OptionList).focus()

    @on(OptionList.OptionSelected, "#choices")
    def pick(self, message: OptionList.OptionSelected) -> None:
        picked = message.option.id
        self.dismiss(FailoverChoice(None if picked == AUTOMATIC else picked))

    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpModal(ModalScreen[None]):
    """Every key the console answers to, and what read-only mode hides."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("question_mark", "close", "Close"),
        Binding("q", "close", "Close"),
    ]

    def __init__(self, keys: list[tuple[str, str]], read_only: bool) -> None:
        super().__init__()
        self.keys = keys
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        lines = Text()
        for key, what in self.keys:
            lines.append(f"{key:>6}  ", style="bold")
            lines.append(f"{what}\n")
        if self.read_only:
            lines.append("\nRead-only console: pause, kill and failover are disabled.", "bold")
        with Vertical(classes="dialog"):
            yield Label(Text("Keys", style="bold"), classes="dialog-title")
            yield Static(lines, id="help-keys")
            yield Label("Esc closes", classes="dialog-hint")

    def action_close(self) -> None:
        self.dismiss(None)
