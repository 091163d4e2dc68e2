"""`arbctl tui --fleet`: the fleet screen, and the one-engine console one Enter away.

The fleet console *is* the single-engine console (`ArbConsole`) started without an
engine: its first screen is the fleet table; Enter points its link and model at the
chosen engine and opens the same dashboard, with the same keys (p, f, K act on that
engine only); Esc goes back and stops following it. So drilling in shows exactly what
`arbctl tui --socket` would, and there is one implementation of every key.

On the fleet screen, K is the fleet-wide kill: the same typed-KILL dialog, then the shared
halt flag and every engine's own kill at once (screens/fleet/kill.py), one line per
engine in the report. The table is re-read every `POLL_S` in a background worker; the
screen repaints from the last read at the app's render rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.screen import Screen

from screens import app as screens_app
from screens.app import KEYS, POLL_PNL_S, ArbConsole
from screens.connection import EngineLink
from screens.dashboard import DashboardScreen
from screens.fleet.kill import FleetKillReport, fleet_kill
from screens.fleet.model import EngineRow, FleetSnapshot
from screens.fleet.screen import FleetScreen
from screens.fleet.source import FleetReader, FleetSources
from screens.modals import HelpModal, KillModal
from screens.state import ConsoleModel

__all__ = ["FleetConsole", "FleetSources", "FleetState", "run_fleet_console"]

POLL_S = 1.0
NO_ENGINE = Path("/nonexistent/arbctl-fleet-console.sock")  # until one is drilled into
# Every single-engine key but quit: on the fleet screen there is no engine for them.
DASHBOARD_ACTIONS = {action for _key, action, _what, _changes in KEYS} - {"quit", "kill"}
FLEET_KILL_EXPLANATION = (
    "Every engine listed halts, at once, two ways:\n"
    "• the shared halt flag in Redis halts every engine of the\n"
    "  namespace, even those this console has no socket to;\n"
    "• each engine's own kill over its socket: sends blocked,\n"
    "  in-flight transactions cancelled, the halt persisted until\n"
    "  a human resumes.\n"
    "Then one line per engine says whether it halted."
)
FLEET_KEYS = [
    ("Enter", "open the engine under the cursor (its dashboard; Esc comes back)"),
    ("↑ ↓", "choose an engine"),
    ("K", "EMERGENCY KILL of the whole fleet (type KILL, Enter)"),
    ("r", "read the fleet again now"),
    ("?", "this help"),
    ("q", "quit the console (the engines keep running)"),
]


@dataclass
class FleetState:
    """What the fleet screen shows: the last read, and the last fleet kill's report."""

    snapshot: FleetSnapshot
    last_kill: FleetKillReport | None = None

    @property
    def rows(self) -> tuple[EngineRow, ...]:
        return self.snapshot.rows

    def row(self, key: str) -> EngineRow | None:
        return next((row for row in self.snapshot.rows if row.key == key), None)


class FleetConsole(ArbConsole):
    # Both files: the console's styles (the dashboard is drilled into) and the fleet's.
    CSS_PATH = [  # type: ignore[assignment]  # noqa: RUF012
        Path(screens_app.__file__).with_name("styles.tcss"),
        Path(__file__).with_name("fleet.tcss"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = [
        *ArbConsole.BINDINGS,
        Binding("escape", "back_to_fleet", "Fleet", show=False),
    ]

    def __init__(
        self,
        sources: FleetSources,
        *,
        read_only: bool = False,
        clock: Callable[[], float] = time.time,
        snapshot: FleetSnapshot | None = None,
        poll: bool = True,
    ) -> None:
        super().__init__(NO_ENGINE, read_only=read_only, clock=clock, connect=False)
        self.sources = sources
        self.poll = poll
        self.fleet = FleetState(snapshot or FleetSnapshot(namespace=_namespace(sources)))
        self.reader = FleetReader(sources)
        self._reading = False

    def get_default_screen(self) -> Screen[Any]:
        return FleetScreen(read_only=self.read_only)

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(POLL_PNL_S, self._schedule_pnl_poll)  # of the engine drilled into
        if self.poll:
            self.set_interval(POLL_S, self.action_fleet_refresh)
            self.action_fleet_refresh()

    async def on_unmount(self) -> None:
        await super().on_unmount()
        await self.reader.close()

    # --- the fleet table ----------------------------------------------------------------
    def action_fleet_refresh(self) -> None:
        """Start a read unless one is in flight. Never cancel it for a newer one: a frozen
        engine makes every read last a call timeout, longer than the poll interval, and
        the table would never be read again."""
        if self.poll and not self._reading:
            self._reading = True
            self.run_worker(self._read_fleet(), group="fleet", exit_on_error=False)

    async def _read_fleet(self) -> None:
        try:
            self.fleet.snapshot = await self.reader.read(self.clock())
        except Exception as exc:  # a bug: say it once, keep the last table
            self._report_once(f"could not read the fleet: {type(exc).__name__}: {exc}")
        finally:
            self._reading = False
        self.paint()

    def paint(self) -> None:
        """The dashboard's views as usual; the fleet screen only when there is something
        new to show — a read, a kill report, or the next second for the ages (repainting
        the table at the full render rate cost several times the CPU for nothing)."""
        super().paint()
        now = self.clock()
        painted = (id(self.fleet.snapshot), id(self.fleet.last_kill), int(now))
        for screen in self._visible_screens():
            if isinstance(screen, FleetScreen) and screen.is_mounted:
                if screen.painted == painted:
                    continue
                screen.painted = painted
                try:
                    screen.show(self.fleet, now)
                except Exception as exc:
                    self._report_once(f"display error in the fleet table: {exc}")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """On the fleet screen the dashboard's keys have no engine: hidden, inactive."""
        following = any(isinstance(s, DashboardScreen) for s in self.screen_stack)
        if not following and action in DASHBOARD_ACTIONS | {"kill"}:
            return False
        if self.read_only and action == "fleet_kill":
            return False
        return super().check_action(action, parameters)

    def action_fleet_help(self) -> None:
        keys = [(k, what) for k, what in FLEET_KEYS if not (self.read_only and k == "K")]
        self.push_screen(HelpModal(keys, self.read_only))

    # --- drilling in and out ------------------------------------------------------------
    def drill_into(self, key: str) -> None:
        row = self.fleet.row(key)
        if row is None:
            return
        if row.dial is None:
            self.tell(_how_to_reach(row), "warning")
            return
        self._follow(row.dial)
        self.push_screen(DashboardScreen(read_only=self.read_only))

    def _follow(self, socket_path: Path) -> None:
        """Point the console's link and model at one engine and start its stream."""
        self._stop_following()
        self.socket_path = socket_path
        self.model = ConsoleModel(clock=self.clock)
        self.model.engine["socket"] = str(socket_path)
        self.link = EngineLink(socket_path)
        self._reported_problems = set()
        self.follow_engine()

    def _stop_following(self) -> None:
        if self._stream_task is not None:
            self._stream_task.cancel()
            self._stream_task = None
        self.model = ConsoleModel(clock=self.clock)

    def action_back_to_fleet(self) -> None:
        if isinstance(self.screen, DashboardScreen):
            self._stop_following()
            while not isinstance(self.screen, FleetScreen):
                self.pop_screen()
            self.action_fleet_refresh()

    # --- the fleet kill -----------------------------------------------------------------
    def action_fleet_kill(self) -> None:
        if self.read_only:
            self.tell("read-only console: the fleet kill is disabled", "warning")
            return
        modal = KillModal(
            on_confirm=self._confirm_fleet_kill,
            title="EMERGENCY KILL — WHOLE FLEET",
            explanation=FLEET_KILL_EXPLANATION,
        )
        self.push_screen(modal, self._fleet_kill_closed)

    def _fleet_kill_closed(self, confirmed: bool | None) -> None:
        if not confirmed:
            self.tell("fleet kill cancelled: nothing was sent", "information")

    def _confirm_fleet_kill(self) -> None:
        self._spawn(self._send_fleet_kill(self.fleet.rows), "kill")

    async def _send_fleet_kill(self, rows: tuple[EngineRow, ...]) -> None:
        report = await fleet_kill(rows, self.sources.redis, self.reader.here, self.clock)
        self.fleet.last_kill = report
        severity = "warning" if report.complete else "error"
        self.tell(report.summary(), severity)
        for result in report.results:
            if result.halted:
                self.tell(f"{result.label}: {result.detail}", "information")
            else:
                self.tell(f"{result.label}: NOT halted — {result.detail}", "error")
        self.action_fleet_refresh()
        self.paint()


def _how_to_reach(row: EngineRow) -> str:
    """An engine seen only in Redis: the one command that would let us drill in."""
    host = row.host or "its host"
    local = f"/tmp/arbctl-{row.name or 'engine'}.sock"
    remote = row.own_socket or "ENGINE_SOCKET"
    return (
        f"{row.label} runs on {host}: no socket here. Forward it "
        f"(ssh -N -L {local}:{remote} {host}) and add --engine-socket {local}"
    )


def _namespace(sources: FleetSources) -> str:
    return sources.redis.namespace if sources.redis else ""


def run_fleet_console(sources: FleetSources, read_only: bool = False) -> int:
    """Run the fleet console in this terminal; the exit code for `arbctl tui --fleet`."""
    import os

    app = FleetConsole(sources, read_only=read_only)
    code = int(app.run() or 0)
    if app.terminal_lost:
        os._exit(code)
    return code
