"""The operator console: `arbctl tui`.

Start-up is what the operator waits for (issue 19: the first complete dashboard
≤ 400 ms): the screens behind `t`, `g`, `a` and `l` are imported when first opened (the
log screen alone pulls in rich's pretty-printer and attrs), and the dashboard is painted
as soon as the first snapshot reads are in, not at the next repaint tick. The kill
dialog and the kill fallback stay imported up front: the emergency path pays nothing.

One asyncio loop runs the UI, the event stream and the calls. Events only update the
`ConsoleModel`; a timer repaints the visible widgets at `RENDER_HZ` from it, and only
those whose panels changed. That is the whole flood defence: however many events
arrive, the screen is repainted a few times a second and the keys stay responsive.

Every state-changing key asks first (modals.py), passes `"client": "arbctl-tui"` so the
audit trail says who did it, and reports the outcome as a notification — an engine
error becomes a sentence, never a traceback. `--read-only` hides and refuses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen

from arbctl.offline_kill import CONSOLE_SOURCE, KillReport, offline_kill
from engine import protocol
from screens.connection import (
    EngineLink,
    EngineUnreachable,
    RpcError,
    StreamHooks,
    audited,
)
from screens.dashboard import DashboardScreen
from screens.modals import (
    FailoverChoice,
    FailoverModal,
    HelpModal,
    KillModal,
    MarkChoice,
    MarkModal,
    ReasonModal,
    TypeAhead,
)
from screens.state import PROVIDERS, ConsoleModel
from screens.widgets.header import CLOCK
from screens.widgets.view import VIEW_CLASS, ModelView

RENDER_HZ = 5  # repaints per second, at most
POLL_PNL_S = 2.0
KILL_TIMEOUT_S = 2.0
MAX_TOASTS_PER_PAINT = 3
FIRST_SNAPSHOT_WAIT_S = 0.3  # the first frame waits this long at most for the engine
HARD_EXIT_AFTER_S = 3.0  # if a clean exit cannot finish (terminal gone), leave anyway
COLLECTOR_BACK_AFTER_S = 1.0  # after the first frame: `arbctl tui` starts with gc off

# Every key, once: the bindings, the footer, `?` and docs/console.md agree on these.
KEYS: list[tuple[str, str, str, bool]] = [
    # key, action, description, changes state
    ("p", "pause_resume", "pause / resume (asks a reason)", True),
    ("f", "failover", "failover: pin a provider or automatic", True),
    ("K", "kill", "EMERGENCY KILL (type KILL, Enter)", True),
    ("o", "mark", "mark a provider offline / online", True),
    ("t", "trades", "trades screen (/ filter, Enter detail)", False),
    ("g", "guards", "guards, breaker and triggers", False),
    ("a", "alerts", "alerts: what fires, the next step, acknowledge", False),
    ("l", "logs", "engine log tail (/ search)", False),
    ("r", "resync", "resync: re-read everything from the engine", False),
    ("question_mark", "help", "this help", False),
    ("q", "quit", "quit the console (the engine keeps running)", False),
]
FOOTER_LABELS = {
    "pause_resume": "Pause",
    "failover": "Failover",
    "kill": "KILL",
    "mark": "Mark",
    "trades": "Trades",
    "guards": "Guards",
    "logs": "Logs",
    "alerts": "Alerts",
    "resync": "Resync",
    "help": "Help",
    "quit": "Quit",
}
FOOTER_ORDER = [
    "pause_resume",
    "failover",
    "kill",
    "help",
    "quit",
    "mark",
    "trades",
    "guards",
    "alerts",
    "logs",
    "resync",
]
STATE_CHANGING = {action for _, action, _, changes in KEYS if changes}
DISPLAY_KEYS = {"question_mark": "?"}

PAUSE_DEFAULT = "paused from the operator console"
RESUME_DEFAULT = "resumed from the operator console"
KILL_REASON = "emergency kill from the operator console"
FAILOVER_REASON = "failover override from the operator console"
ACK_DEFAULT = "acknowledged from the operator console"


class ArbConsole(App[int]):
    """The Textual app: model, link, screens, keys."""

    CSS_PATH = "styles.tcss"
    TITLE = "arbctl"
    ENABLE_COMMAND_PALETTE = False
    # Unavoidable ignore: textual declares it `ClassVar[list[...]] | None`, which mypy reads
    # as an instance variable, so no annotation of ours (ClassVar or not) matches it.
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (120, "-wide")]  # type: ignore[misc]
    # The footer's order: the actions, then help and quit (which must survive at 60
    # columns, where the screen keys are cut off: they are in `?` too).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(key, action, FOOTER_LABELS[action], key_display=DISPLAY_KEYS.get(key))
        for key, action, _, _ in sorted(KEYS, key=lambda k: FOOTER_ORDER.index(k[1]))
    ]

    def __init__(
        self,
        socket_path: Path,
        *,
        read_only: bool = False,
        clock: Callable[[], float] = time.time,
        model: ConsoleModel | None = None,
        connect: bool = True,
    ) -> None:
        super().__init__()
        self.socket_path = Path(socket_path)
        self.read_only = read_only
        self.clock = clock
        self.model = model or ConsoleModel(clock=clock)
        self.model.engine.setdefault("socket", str(self.socket_path))
        self.link = EngineLink(self.socket_path)
        self.connect = connect
        self.told: deque[str] = deque(maxlen=100)  # what we notified: tests read it
        self._resync_lock = asyncio.Lock()
        self._stream_task: asyncio.Task[None] | None = None
        self._reported_problems: set[str] = set()
        self.terminal_lost = False  # SIGHUP/SIGTERM: nothing left to restore or print to
        self._sent_to: BoundedMap = BoundedMap()  # key event → the screen it was sent to
        self._first_answer = asyncio.Event()  # the first snapshot is read, or refused

    def get_default_screen(self) -> Screen[Any]:
        return DashboardScreen(read_only=self.read_only, paint=self.paint)

    # --- lifecycle --------------------------------------------------------------------
    async def on_load(self) -> None:
        """Connect before the terminal and the dashboard are set up, and wait (a moment
        at most) for the first snapshot: the first frame is then drawn once, with the
        engine's data, instead of empty and again when the data arrives. An engine that
        refuses the connection does not wait; one that hangs costs `FIRST_SNAPSHOT_WAIT_S`."""
        if self.connect:
            self.follow_engine()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._first_answer.wait(), FIRST_SNAPSHOT_WAIT_S)

    def on_mount(self) -> None:
        self.set_interval(1 / RENDER_HZ, self.paint)
        self.call_after_refresh(self.paint)
        self.call_after_refresh(self.set_timer, COLLECTOR_BACK_AFTER_S, resume_collector)
        if self.connect:
            self.set_interval(POLL_PNL_S, self._schedule_pnl_poll)
        if not self.is_headless:
            self._watch_terminal()

    def follow_engine(self) -> None:
        """Start the event stream of the engine on `self.link` into `self.model` (the
        fleet console calls it again for each engine it drills into)."""
        hooks = StreamHooks(
            on_event=self._on_event,
            on_connected=self.model.link_up,
            on_disconnected=self._link_down,
            on_resync=self.resync,
        )
        self._stream_task = asyncio.create_task(self._stream(hooks))

    async def _stream(self, hooks: StreamHooks) -> None:
        """The event stream for the app's life; a bug in it is reported, then retried."""
        while True:
            try:
                await self.link.stream(hooks)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug: say it plainly, keep the console usable
                self.tell(f"event stream failed: {type(exc).__name__}: {exc}", "error")
                await asyncio.sleep(1.0)

    def _link_down(self, detail: str, attempt: int, retry_in: float) -> None:
        self.model.link_down(detail, attempt, retry_in)
        self._first_answer.set()  # the engine said no: nothing to wait for

    def _on_event(self, event: dict[str, Any]) -> None:
        """One event into the model; an event the model chokes on is skipped, and said."""
        try:
            self.model.apply_event(event)
        except Exception as exc:
            self._report_once(f"skipped a {event.get('topic')} event: {type(exc).__name__}")

    def _report_once(self, problem: str) -> None:
        if problem not in self._reported_problems:
            self._reported_problems.add(problem)
            self.tell(problem, "error")

    async def on_unmount(self) -> None:
        if self._stream_task is not None:
            self._stream_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._stream_task

    # --- painting ---------------------------------------------------------------------
    def paint(self) -> None:
        """Repaint the visible views whose data changed; show pending audit notices."""
        self.model.versions[CLOCK] = int(self.clock())
        self.model.check_liveness()
        for screen in self._visible_screens():
            for view in screen.query(f".{VIEW_CLASS}"):
                if isinstance(view, ModelView):
                    self._paint_view(view)
        self._show_notices()

    def _visible_screens(self) -> list[Screen[Any]]:
        """The top screen and, under a dialog, the screen it dims (a HALTED banner must
        appear behind an open dialog too)."""
        visible: list[Screen[Any]] = []
        for screen in reversed(self.screen_stack):
            visible.append(screen)
            if not screen.is_modal:
                break
        return visible

    def _paint_view(self, view: ModelView) -> None:
        """One view; a display bug is reported once and must not take the console down."""
        try:
            view.refresh_from(self.model)
        except Exception as exc:
            where = type(view).__name__
            self._report_once(f"display error in {where}: {type(exc).__name__}: {exc}")

    def _show_notices(self) -> None:
        notices = self.model.notices
        shown = 0
        while notices and shown < MAX_TOASTS_PER_PAINT:
            notice = notices.popleft()
            self.tell(notice.text, notice.severity)
            shown += 1
        if notices:
            self.tell(f"{len(notices)} more actions: see the audit trail", "information")
            notices.clear()

    def tell(self, message: str, severity: str = "information") -> None:
        """A toast that is never parsed as markup (engine text may contain '[')."""
        self.told.append(message)
        self.notify(message, severity=severity, markup=False)  # type: ignore[arg-type]

    # --- talking to the engine ----------------------------------------------------------
    async def fetch(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """A read call; screens use it to poll what the event stream does not carry."""
        return await self.link.call(method, params)

    async def resync(self, why: str) -> list[str]:
        """Re-read status, trades, guard triggers, P&L and alerts (after connecting or
        lagging), at once; the names of the reads that succeeded."""
        if self._resync_lock.locked():
            return []
        async with self._resync_lock:
            reads: list[tuple[str, dict[str, Any], Callable[[Any], None]]] = [
                ("status", {}, self._apply_status),
                ("trades", {"limit": 200}, self._apply_trades),
                ("guards", {"limit": 30}, self._apply_guards),
                ("pnl", {"period": "today"}, self._apply_pnl),
                ("alerts", {"limit": 50}, self._apply_alerts),
            ]
            done = await asyncio.gather(*(self._read_into_model(*read) for read in reads))
        read = [method for (method, _, _), ok in zip(reads, done, strict=True) if ok]
        self._first_answer.set()
        if read and self._screen_stack:  # before the first frame, on_mount paints it
            self.paint()  # what was read is on screen now, not at the next tick
        if why.startswith("lagged"):
            self.tell(f"resynced ({why})", "warning")
        return read

    async def _read_into_model(
        self, method: str, params: dict[str, Any], apply: Callable[[Any], None]
    ) -> bool:
        """One snapshot read; an engine without the method or a bad answer is skipped."""
        try:
            apply(await self.link.call(method, params))
        except (EngineUnreachable, RpcError):
            return False
        except Exception as exc:
            self._report_once(f"could not read {method}: {type(exc).__name__}: {exc}")
            return False
        return True

    def _apply_status(self, result: Any) -> None:
        if isinstance(result, dict):
            self.model.apply_status(result)

    def _apply_trades(self, result: Any) -> None:
        if isinstance(result, dict):
            self.model.apply_trades(t for t in result.get("trades") or [] if isinstance(t, dict))

    def _apply_guards(self, result: Any) -> None:
        if isinstance(result, dict):
            self.model.apply_guards(result)

    def _apply_alerts(self, result: Any) -> None:
        if isinstance(result, dict):
            self.model.apply_alerts(result)

    def _apply_pnl(self, result: Any) -> None:
        if isinstance(result, dict):
            self.model.apply_pnl(result)

    def _schedule_pnl_poll(self) -> None:
        if self.model.link.connected:
            self.run_worker(self._poll_pnl(), group="pnl", exclusive=True, exit_on_error=False)

    async def _poll_pnl(self) -> None:
        with contextlib.suppress(EngineUnreachable, RpcError):
            self._apply_pnl(await self.link.call("pnl", {"period": "today"}))

    async def _act(
        self,
        method: str,
        params: dict[str, Any],
        timeout: float | None = None,
        lifecycle: bool = False,
    ) -> Any:
        """A state-changing call; failures become notifications, the result or None.

        Only a lifecycle answer (pause, resume, kill) is the engine's state and goes into
        the header; a failover's `reason` is the provider's, not the engine's."""
        try:
            result = await self.link.call(method, params, timeout=timeout)
        except RpcError as exc:
            self.tell(self._refusal(method, exc), "error")
            return None
        except EngineUnreachable as exc:
            self.tell(f"{method} not sent: engine unreachable ({exc.detail})", "error")
            return None
        if lifecycle and isinstance(result, dict):
            self.model.apply_action_result(result)
            self.paint()
        return result

    @staticmethod
    def _refusal(method: str, exc: RpcError) -> str:
        if exc.code == protocol.METHOD_NOT_FOUND and method == "failover":
            return "this engine does not support failover yet (no `failover` method)"
        return f"{method} refused by the engine ({exc.name}): {exc.message}"

    def _spawn(self, work: Awaitable[Any], group: str) -> None:
        """Run a call in the background; an unexpected failure is said, not swallowed."""
        self.run_worker(self._reported(work), group=group, exit_on_error=False)

    async def _reported(self, work: Awaitable[Any]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug: the operator must know the action failed
            self.tell(f"internal error: {type(exc).__name__}: {exc}", "error")

    # --- keys ---------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Read-only consoles do not offer state changes: hidden from the footer."""
        return not (self.read_only and action in STATE_CHANGING)

    async def on_event(self, event: events.Event) -> None:
        """Keys typed ahead of a dialog are the dialog's.

        Textual hands every key to the screen on top when it arrives and runs the app's
        bindings when it comes back unhandled, so in a burst (`KKILL⏎` pasted, or
        coalesced by SSH) the keys after `K` were all sent to the dashboard before `K`
        opened the kill dialog. A key that comes back from a screen that is no longer on
        top, while a dialog that takes typing is, goes to that dialog instead.
        """
        if isinstance(event, events.Key):
            if not event.is_forwarded:
                self._sent_to[id(event)] = self.screen if self._screen_stack else None
            else:
                sent_to = self._sent_to.pop(id(event), None)
                top = self.screen if self._screen_stack else None
                if isinstance(top, TypeAhead) and sent_to is not None and sent_to is not top:
                    top.take_key(event)
                    return
        await super().on_event(event)

    def on_key(self, event: events.Key) -> None:
        """A read-only console says no out loud rather than ignoring the key."""
        if self.read_only and event.key in {key for key, action, _, c in KEYS if c}:
            self.tell("read-only console: pause, kill and failover are disabled", "warning")

    def action_pause_resume(self) -> None:
        state = self.model.state
        if not self.model.link.connected:
            self.tell("not connected to the engine: cannot pause or resume now", "error")
        elif state == protocol.RUNNING:
            modal = ReasonModal(
                "Pause trading", "No new trades; in-flight ones complete.", PAUSE_DEFAULT, "Pause"
            )
            self.push_screen(modal, self._pause)
        elif state == protocol.PAUSED:
            modal = ReasonModal(
                "Resume trading", "The engine starts trading again.", RESUME_DEFAULT, "Resume"
            )
            self.push_screen(modal, self._resume)
        elif state == protocol.HALTED:
            explanation = "This clears the HALT (kill switch) and the engine trades again."
            self.push_screen(
                ReasonModal("Clear the HALT", explanation, None, "Clear"), self._resume
            )
        else:
            self.tell(f"cannot pause or resume while the engine is {state}", "warning")

    def _pause(self, reason: str | None) -> None:
        if reason:
            self._spawn(self._act("pause", audited(reason), lifecycle=True), "action")

    def _resume(self, reason: str | None) -> None:
        if reason:
            self._spawn(self._act("resume", audited(reason), lifecycle=True), "action")

    def action_kill(self) -> None:
        self.push_screen(KillModal(on_confirm=self._kill), self._kill_dialog_closed)

    def _kill(self) -> None:
        self._spawn(self._send_kill(), "kill")

    def _kill_dialog_closed(self, confirmed: bool | None) -> None:
        if not confirmed:
            self.tell("kill cancelled: nothing was sent", "information")

    async def _send_kill(self) -> None:
        result = await self._act(
            "kill", audited(KILL_REASON), timeout=KILL_TIMEOUT_S, lifecycle=True
        )
        if result is not None:
            self.tell("HALTED: the engine acknowledged the kill; sends are blocked", "warning")
            return
        self.tell("the engine did not take the kill: halting it without its help", "error")
        self.tell(await self._kill_fallback(), "error")

    async def _kill_fallback(self) -> str:
        """What `arbctl kill` does without the engine, in-process (arbctl/offline_kill.py):
        persist the halt, then signal the pid only once it is proven to be this engine.
        Only with the state dir the engine itself reported: a halt marker written to a
        guessed directory protects nothing."""
        state_dir = self.model.engine.get("state_dir")
        if not state_dir:
            return "engine never reached: run `arbctl kill --reason ... --state-dir DIR` NOW"
        report = KillReport(reason=KILL_REASON, state_dir=Path(state_dir))
        instance = self.model.engine.get("instance")
        try:
            await asyncio.to_thread(
                offline_kill,
                report,
                self.socket_path,
                CONSOLE_SOURCE,
                instance=instance if isinstance(instance, str) else None,
            )
        except Exception as exc:  # a bug here must not hide that the halt may be missing
            return f"kill fallback failed ({type(exc).__name__}: {exc}): act by hand NOW"
        return describe_fallback(report)

    def action_failover(self) -> None:
        pinned = next((p.get("name") for p in self.model.providers if p.get("pinned")), None)
        pinned = pinned or self.model.engine.get("pinned_provider")
        modal = FailoverModal(self.model.providers, str(pinned) if pinned else None)
        self.push_screen(modal, self._failover)

    def action_mark(self) -> None:
        if not self.model.providers:
            self.tell("no providers known yet: nothing to mark", "warning")
            return
        self.push_screen(MarkModal(self.model.providers), self._mark_picked)

    def _mark_picked(self, choice: MarkChoice | None) -> None:
        if choice is None:
            return
        word = "online" if choice.online else "offline"
        modal = ReasonModal(
            f"Mark {choice.name} {word}",
            "Audited with your reason; the engine re-evaluates its choice at once.",
            f"marked {word} from the operator console",
            f"Mark {word}",
        )
        self.push_screen(modal, lambda reason: self._mark(choice, reason))

    def _mark(self, choice: MarkChoice, reason: str | None) -> None:
        if reason:
            self._spawn(self._send_mark(choice, reason), "action")

    async def _send_mark(self, choice: MarkChoice, reason: str) -> None:
        params = audited(reason, name=choice.name, online=choice.online)
        result = await self._act("providers.mark", params)
        if isinstance(result, dict):
            if isinstance(result.get("providers"), list):
                self.model.set_providers(result["providers"])
            word = "online" if choice.online else "offline"
            self.tell(f"{choice.name} marked {word}", "information")

    def _failover(self, choice: FailoverChoice | None) -> None:
        if choice is not None:
            self._spawn(self._send_failover(choice), "action")

    async def _send_failover(self, choice: FailoverChoice) -> None:
        result = await self._act("failover", audited(FAILOVER_REASON, name=choice.name))
        if result is not None:
            if isinstance(result, dict):
                self.model.engine["pinned_provider"] = result.get("pinned_provider", choice.name)
                if isinstance(result.get("providers"), list):
                    self.model.set_providers(result["providers"])
            self.model.touch(PROVIDERS)
            self.tell(f"failover: {choice.name or 'automatic'}", "information")

    def action_trades(self, filtering: bool = False) -> None:
        from screens.trades import TradesScreen

        self._open(TradesScreen, lambda: TradesScreen(self.model, filtering=filtering))
        self._spawn(self._load_trades(), "load")

    def action_trades_filter(self) -> None:
        """`/` on the dashboard: what the operator meant is the trades filter."""
        self.action_trades(filtering=True)

    async def _load_trades(self) -> None:
        with contextlib.suppress(EngineUnreachable, RpcError):
            self._apply_trades(await self.link.call("trades", {"limit": 500}))

    def action_guards(self) -> None:
        from screens.guards import GuardsScreen

        self._open(GuardsScreen, lambda: GuardsScreen(self.model, self.fetch))

    def action_alerts(self) -> None:
        from screens.alerts import AlertsScreen

        fetch = self.fetch if self.connect else None
        self._open(AlertsScreen, lambda: AlertsScreen(self.model, fetch, self._ack_asked))

    def _ack_asked(self, rule: str) -> None:
        if self.read_only:
            self.tell("read-only console: alerts cannot be acknowledged here", "warning")
            return
        modal = ReasonModal(
            f"Acknowledge {rule}",
            "It stays listed while its condition holds; its reminders stop until it resolves.",
            ACK_DEFAULT,
            "Acknowledge",
        )
        self.push_screen(modal, lambda reason: self._ack(rule, reason))

    def _ack(self, rule: str, reason: str | None) -> None:
        if reason:
            self._spawn(self._send_ack(rule, reason), "action")

    async def _send_ack(self, rule: str, reason: str) -> None:
        result = await self._act("alerts.ack", audited(reason, rule=rule))
        if isinstance(result, dict):
            self.model.apply_event({"topic": protocol.TOPIC_ALERT, "data": result})
            self.paint()
            self.tell(f"acknowledged {rule}", "information")

    def action_logs(self) -> None:
        from screens.logs import LogsScreen

        state_dir = self.model.engine.get("state_dir")
        self._open(LogsScreen, lambda: LogsScreen(state_dir))

    def _open(self, kind: type[Screen[Any]], make: Callable[[], Screen[Any]]) -> None:
        """One sub-screen at a time over the dashboard: t, g, l switch between them."""
        if isinstance(self.screen, kind):
            return
        while len(self.screen_stack) > 1 and not isinstance(self.screen, DashboardScreen):
            self.pop_screen()
        self.push_screen(make())

    def action_resync(self) -> None:
        self._spawn(self._manual_resync(), "resync")

    async def _manual_resync(self) -> None:
        if not self.model.link.connected:
            self.tell("not connected: the console reconnects by itself", "warning")
            return
        read = await self.resync("requested")
        if "status" not in read:
            self.tell("resync failed: the engine did not answer (nothing was re-read)", "error")
            return
        self.tell(f"resynced at seq {self.model.last_seq}", "information")

    def action_help(self) -> None:
        keys = [
            (DISPLAY_KEYS.get(key, key), what)
            for key, _, what, changes in KEYS
            if not (self.read_only and changes)
        ]
        keys += [("/", "filter or search (trades, logs)"), ("Esc", "back / close")]
        self.push_screen(HelpModal(keys, self.read_only))

    # --- the terminal going away ----------------------------------------------------------
    def _watch_terminal(self) -> None:
        """SIGHUP/SIGTERM (SSH dropped, tmux pane killed) → leave, never spin."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGHUP, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._terminal_gone, sig)
        with contextlib.suppress(AttributeError, ValueError, OSError):
            if os.isatty(sys.__stdin__.fileno()):  # type: ignore[union-attr]
                self.set_interval(1.0, self._check_terminal)

    def _check_terminal(self) -> None:
        """A hung-up terminal without a signal: reading stdin would spin, so leave."""
        try:
            os.tcgetpgrp(sys.__stdin__.fileno())  # type: ignore[union-attr]
        except (OSError, AttributeError, ValueError):
            self._terminal_gone(signal.SIGHUP)

    def _terminal_gone(self, sig: int) -> None:
        self.terminal_lost = True
        backstop = threading.Timer(HARD_EXIT_AFTER_S, os._exit, args=(128 + int(sig),))
        backstop.daemon = True
        backstop.start()
        self.exit(128 + int(sig))


class BoundedMap(dict[int, Any]):
    """A dict that forgets its oldest entries past `LIMIT` (a key that never came back
    must not be remembered forever)."""

    LIMIT = 256

    def __setitem__(self, key: int, value: Any) -> None:
        super().__setitem__(key, value)
        if len(self) > self.LIMIT:
            del self[next(iter(self))]


def describe_fallback(report: KillReport) -> str:
    """One sentence from the offline kill: was the halt persisted, was the engine stopped?"""
    if not report.halted:
        return "the kill fallback could NOT persist the halt: act by hand (runbook: emergency stop)"
    signalled = f"; engine pid {report.pid} signalled" if report.pid else ""
    found = [s["detail"] for s in report.steps if s["step"] == "find_pid" and not s["ok"]]
    unsignalled = f"; {found[0]}" if found else ""
    return f"HALT persisted by the kill fallback ({report.marker}){signalled}{unsignalled}"


def resume_collector() -> None:
    """Turn the cyclic garbage collector back on if start-up turned it off (`arbctl tui`,
    arbctl/cli.py), once the first dashboard is up: one collection for start-up's
    garbage, then what is left (modules, widgets, styles: alive as long as the console)
    is set aside (`gc.freeze`) so later collections do not walk it again. A console in a
    process that collects (tests, an embedding app) is left alone."""
    if gc.isenabled():
        return
    gc.collect()
    gc.freeze()
    gc.enable()


def run_console(socket_path: Path, read_only: bool = False) -> int:
    """Run the console in this terminal; the exit code for `arbctl tui`."""
    app = ArbConsole(socket_path, read_only=read_only)
    code = int(app.run() or 0)
    if app.terminal_lost:
        # Interpreter shutdown can linger for seconds on a hung-up tty; there is nothing
        # left to flush or restore, so leave now rather than look like a stuck process.
        os._exit(code)
    return code
