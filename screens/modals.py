"""The dialogs: every state change asks before it acts, and says exactly what it does.

- `ReasonModal`: pause/resume. The audit trail wants a reason, but an operator in a hurry
  should not have to invent one, so the reason has a default — except when clearing a
  HALT, which is a deliberate human act and needs the human's own words. Enter in the
  field moves to the button and a second Enter acts: `p` followed by text and Enter
  typed on the dashboard by mistake (`/profit⏎`) must not pause the engine.
- `KillModal`: names what kill does and needs `KILL` typed, then Enter. Focus starts on
  Cancel, so a stray Enter cancels; typing goes into the confirmation field anyway, and
  Enter submits what was typed even when it arrived before the field had focus (a
  pasted or coalesced `KKILL⏎` halts).
- `FailoverModal`: pin a provider or go back to automatic; says which is pinned now.
- `MarkModal`: take a provider out of rotation (offline) or bring it back (online).
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

from screens.widgets.steady import steady_input

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
    typeahead_ready: bool = False  # mounted, focus set: keys reach the widgets now
    pending_keys: list[events.Key] | None = None  # keys the app held until then

    def take_key(self, event: events.Key) -> None:
        """A key typed before this dialog was up (the app routed it here): applied now,
        or held until the dialog is mounted."""
        if self.typeahead_ready:
            self._apply_key(event)
            return
        if self.pending_keys is None:
            self.pending_keys = []
        self.pending_keys.append(event)

    def replay_held_keys(self) -> None:
        """Called once mounted: the held keys, in order, as if typed now."""
        self.typeahead_ready = True
        held, self.pending_keys = self.pending_keys or [], None
        for event in held:
            self._apply_key(event)

    def _apply_key(self, event: events.Key) -> None:
        if event.key == "enter":
            self.typeahead_enter()
        elif event.key == "escape":
            self.dismiss(None)  # type: ignore[attr-defined]
        elif event.is_printable and event.character is not None:
            field = self.typeahead_field()
            field.focus()
            field.insert_text_at_cursor(event.character)

    def typeahead_enter(self) -> None:
        """What an Enter typed ahead does (each dialog says)."""

    def on_key(self, event: events.Key) -> None:
        if not event.is_printable or event.character is None:
            return
        event.stop()
        event.prevent_default()
        field = self.typeahead_field()
        field.focus()
        field.insert_text_at_cursor(event.character)

    def typeahead_field(self) -> Input:
        return self.query_one(self.field_selector, Input)  # type: ignore[attr-defined]


class ReasonModal(TypeAhead, ModalScreen[str | None]):
    """Ask why, then confirm: Enter in the field moves to the button, Enter there acts.
    The field's default stands when nothing is typed. Result: the reason or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    field_selector: ClassVar[str] = "#reason"

    def __init__(self, title: str, explanation: str, default: str | None, verb: str = "OK") -> None:
        super().__init__()
        self.title_text = title
        self.explanation = explanation
        self.default = default
        self.verb = verb

    def compose(self) -> ComposeResult:
        hint = (
            f"Reason (empty: “{self.default}”). Enter, then Enter again to confirm:"
            if self.default
            else "Reason (required: say why, it is audited). Enter, then Enter again:"
        )
        with Vertical(classes="dialog"):
            yield Label(Text(self.title_text, style="bold"), classes="dialog-title")
            yield Static(Text(self.explanation), classes="dialog-text")
            yield Label(hint)
            yield steady_input(
                placeholder=self.default or "why?",
                id="reason",
                select_on_focus=False,
            )
            yield Label("", id="reason-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.verb, variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()
        self.replay_held_keys()

    def typeahead_enter(self) -> None:
        if self.query_one("#ok", Button).has_focus:
            self.accept()
        else:
            self.arm()

    def _reason(self) -> str | None:
        typed = self.query_one("#reason", Input).value.strip()
        reason = typed or self.default
        if not reason:
            self.query_one("#reason-error", Label).update("A reason is required here.")
        return reason

    @on(Input.Submitted, "#reason")
    def arm(self) -> None:
        """The first Enter: the reason is taken, the button asks for the second."""
        if self._reason():
            self.query_one("#reason-error", Label).update(
                Text(f"Enter again to {self.verb.lower()}, Esc cancels.", style="bold")
            )
            self.query_one("#ok", Button).focus()

    @on(Button.Pressed, "#ok")
    def accept(self) -> None:
        reason = self._reason()
        if reason:
            self.dismiss(reason)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class EnterlessButton(Button, inherit_bindings=False):
    """A button that Enter does not press (space and the mouse do): in the kill dialog
    Enter belongs to the dialog, which judges what was typed before it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("space", "press", "Press", show=False)]


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
            yield steady_input(placeholder=KILL_WORD, id="confirm", select_on_focus=False)
            yield Label("", id="kill-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield EnterlessButton("Cancel", variant="primary", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()
        self.replay_held_keys()

    def typeahead_enter(self) -> None:
        self.action_submit()

    def on_key(self, event: events.Key) -> None:
        """Enter reaches the dialog in order, after the letters typed before it (the
        Cancel button does not take Enter): what was typed is judged then."""
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.action_submit()
            return
        super().on_key(event)

    @on(Input.Submitted, "#confirm")
    def action_submit(self) -> None:
        """Enter: what was typed is judged; nothing typed is a stray Enter, and cancels."""
        field = self.query_one("#confirm", Input)
        typed = field.value.strip()
        if not typed:
            self.action_cancel()
        elif typed == KILL_WORD:
            self.on_confirm()
            self.dismiss(True)
        else:
            field.value = ""
            self.query_one("#kill-error", Label).update(
                Text(f"Not killed: {typed!r} is not {KILL_WORD} (capitals).")
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

    def __init__(self, providers: list[dict[str, Any]], pinned: str | None = None) -> None:
        super().__init__()
        self.providers = providers
        self.pinned = pinned

    def now(self) -> str:
        active = next((str(p.get("name")) for p in self.providers if p.get("active")), "?")
        if self.pinned:
            return f"now: pinned to {self.pinned} (active {active})"
        return f"now: automatic (active {active})"

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
            yield Label(Text(self.now(), style="bold"), id="failover-now")
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


@dataclass(frozen=True)
class MarkChoice:
    """Take `name` out of rotation (online False) or bring it back (online True)."""

    name: str
    online: bool


class MarkModal(ModalScreen[MarkChoice | None]):
    """Mark a provider offline or online: the runbook's "mark provider offline/online"
    (`providers.mark`). Each row offers the opposite of the provider's current mark."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, providers: list[dict[str, Any]]) -> None:
        super().__init__()
        self.providers = providers

    def compose(self) -> ComposeResult:
        options = []
        for p in self.providers:
            name, status = str(p.get("name")), str(p.get("status") or "?")
            verb = "bring online" if status == "offline" else "take offline"
            options.append(Option(f"{verb}: {name} ({status})", name))
        with Vertical(classes="dialog"):
            yield Label(Text("Mark a provider", style="bold"), classes="dialog-title")
            yield Static(
                Text(
                    "Offline: never used until marked online. Online: its failures are "
                    "forgiven and it is judged afresh. The pinned provider, or the last "
                    "usable RPC endpoint, cannot be taken offline."
                ),
                classes="dialog-text",
            )
            yield OptionList(*options, id="mark-choices")
            yield Label("Enter picks · Esc cancels", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#mark-choices", OptionList).focus()

    @on(OptionList.OptionSelected, "#mark-choices")
    def pick(self, message: OptionList.OptionSelected) -> None:
        name = str(message.option.id)
        row = next((p for p in self.providers if str(p.get("name")) == name), {})
        self.dismiss(MarkChoice(name, online=row.get("status") == "offline"))

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
