"""`pause`, `resume` and `kill`: the commands that change what the engine may do.

Each sends the operator's reason and our client name; the engine adds the caller's uid
from SO_PEERCRED and writes the audit entry. `kill` must work when the engine cannot
answer, so it falls back to persisting the halt marker itself and signalling the pid.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from arbctl import exitcodes, options, output, process
from arbctl.client import Client, EngineUnreachable, RpcError
from arbctl.commands import fleet
from arbctl.rpc import audited, call_or_exit
from engine import protocol

KILL_TIMEOUT_S = 2.0
# After an acknowledged `kill --shutdown` the engine stops gracefully (ledger flush,
# snapshot) within its own 10 s budget; SIGKILL only after that.
ACK_SHUTDOWN_GRACE_S = 10.0
FALLBACK_SOURCE = "arbctl-cli-fallback"


def pause(
    reason: options.ReasonOpt = None,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Stop executing new opportunities; in-flight transactions complete.

    Needs a running engine and --reason (audited with your uid). Undo with
    `arbctl resume --reason ...`. With --json prints the engine's new status object.

    Exit codes: 0 paused · 1 the engine refused (e.g. not running: already paused or
    halted) · 2 missing --reason · 3 engine unreachable.
    """
    _transition("pause", reason, socket, as_json)


def resume(
    reason: options.ReasonOpt = None,
    global_: fleet.GlobalOpt = False,
    redis_url: fleet.RedisUrlOpt = None,
    namespace: fleet.NamespaceOpt = None,
    config: fleet.ConfigFileOpt = None,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Resume trading from paused, or clear a halt (the kill latch) and resume.

    Needs a running engine and --reason (audited with your uid). Clearing a halt deletes
    the persisted halt marker. With --json prints the engine's new status object.
    An engine under the fleet-wide halt flag refuses to resume: --global clears the
    flag in Redis first (then resumes this engine; the others stay halted until each is
    resumed). --json adds {global: {redis, namespace, cleared}}.

    Exit codes: 0 running · 1 the engine refused (e.g. already running, or the global
    halt flag is set), or --global could not clear the flag · 2 missing --reason ·
    3 engine unreachable.
    """
    if not global_:
        _transition("resume", reason, socket, as_json)
        return
    why = options.require_reason(reason, "resume", as_json)
    cleared = fleet.clear_global_or_exit(why, redis_url, namespace, config, socket, as_json)
    _transition("resume", why, socket, as_json, extra={"global": cleared})


def _transition(
    method: str,
    reason: str | None,
    socket: Path | None,
    as_json: bool,
    extra: dict[str, Any] | None = None,
) -> None:
    why = options.require_reason(reason, method, as_json)
    data = call_or_exit(socket, method, audited(why), as_json=as_json)
    if as_json:
        output.emit_json({**data, **(extra or {})})
        return
    state = str((data or {}).get("state", "?")).upper()
    output.say(f"[bold]{output.esc(state)}[/] — {output.esc((data or {}).get('reason', why))}")


@dataclass
class KillReport:
    """What `kill` did, step by step: the operator must know exactly what happened."""

    reason: str
    state_dir: Path
    steps: list[dict[str, Any]] = field(default_factory=list)
    acknowledged: bool = False
    marker: Path | None = None
    pid: int | None = None
    engine: dict[str, Any] | None = None
    global_halt: dict[str, Any] | None = None  # `--global`: the flag in Redis

    def step(self, name: str, ok: bool, detail: str) -> bool:
        self.steps.append({"step": name, "ok": ok, "detail": detail})
        return ok

    @property
    def halted(self) -> bool:
        return self.acknowledged or self.marker is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "halted": self.halted,
            "acknowledged": self.acknowledged,
            "via": "engine" if self.acknowledged else "fallback",
            "reason": self.reason,
            "state_dir": str(self.state_dir),
            "marker": str(self.marker) if self.marker else None,
            "pid": self.pid,
            "engine": self.engine,
            "global": self.global_halt,
            "steps": self.steps,
        }


ShutdownOpt = Annotated[
    bool,
    typer.Option(
        "--shutdown",
        help="Also stop the engine process: graceful stop, then SIGKILL after --grace.",
    ),
]
GraceOpt = Annotated[
    float, typer.Option("--grace", help="Seconds to wait for the engine to exit.", min=0)
]


def kill(
    reason: options.ReasonOpt = None,
    shutdown: ShutdownOpt = False,
    grace: GraceOpt = 5.0,
    global_: fleet.GlobalOpt = False,
    redis_url: fleet.RedisUrlOpt = None,
    namespace: fleet.NamespaceOpt = None,
    config: fleet.ConfigFileOpt = None,
    socket: options.SocketOpt = None,
    state_dir: options.StateDirOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """HALT: nothing is signed or sent from now on; in-flight sends are cancelled.

    Asks the engine (2 s timeout). If it does not answer — not running, frozen, or
    SIGSTOPped — arbctl persists the halt itself by writing <state-dir>/halt.json, then
    sends SIGTERM and SIGCONT to the pid in <state-dir>/engine.pid (or the socket's
    owner) and waits --grace seconds for it to exit. With --shutdown the engine is stopped
    too: asked to shut down after the halt (10 s to do so gracefully), or SIGKILLed after
    --grace in the fallback. Either way a restarted engine comes back halted; only `arbctl resume
    --reason ...` clears it. Every step is reported (--json: a `steps` list).

    Needs --reason. For the fallback, --state-dir must be the engine's state directory.

    --global first sets the shared halt flag in Redis, so every engine attached to it
    (same Redis, same namespace) halts; then halts this engine as above. Redis is found
    from --redis-url, --config, or the running engine's config. Clear it with
    `arbctl resume --global --reason ...` (docs/redis.md).

    Exit codes: 0 halt persisted (acknowledged by the engine, or marker written; with
    --global, and the flag set) · 1 the halt could not be persisted, or --global could
    not set the flag · 2 missing --reason.
    """
    why = options.require_reason(reason, "kill", as_json)
    report = KillReport(reason=why, state_dir=options.state_dir(state_dir))
    if global_:
        ok, detail, report.global_halt = fleet.set_global_for_kill(
            why, redis_url, namespace, config, socket
        )
        report.step("global_flag", ok, detail)
    client = Client(options.socket_path(socket))
    if _ask_engine(client, report, shutdown):
        if shutdown and report.pid:
            _await_exit(report.pid, report, max(grace, ACK_SHUTDOWN_GRACE_S), force=True)
    else:
        _fallback(client, report, shutdown, grace)
    _print_kill(report, as_json)
    global_ok = report.global_halt is None or report.global_halt["ok"]
    raise typer.Exit(exitcodes.OK if report.halted and global_ok else exitcodes.FAILED)


def _ask_engine(client: Client, report: KillReport, shutdown: bool) -> bool:
    """The normal path: the engine persists the halt itself and shuts its send gate."""
    params = audited(report.reason, shutdown=True) if shutdown else audited(report.reason)
    try:
        ack = client.call("kill", params, timeout=KILL_TIMEOUT_S)
    except (EngineUnreachable, RpcError) as exc:
        return report.step("ask_engine", False, _describe(exc))
    report.acknowledged, report.engine = True, ack
    report.pid = client.last_peer_pid
    then = "; it will shut down after cancelling" if shutdown else ""
    return report.step(
        "ask_engine", True, f"engine acknowledged the halt; in-flight cancellation started{then}"
    )


def _describe(exc: Exception) -> str:
    if isinstance(exc, RpcError):
        return f"engine refused ({exc.name}): {exc.message}"
    return f"{exc} (waited {KILL_TIMEOUT_S:.0f}s)"


def _fallback(client: Client, report: KillReport, shutdown: bool, grace: float) -> None:
    """The engine did not answer: persist the halt ourselves, then signal its pid."""
    try:
        protocol.write_halt_marker(report.state_dir, report.reason, os.getuid(), FALLBACK_SOURCE)
        report.marker = report.state_dir / protocol.HALT_FILE
        report.step("write_marker", True, f"halt persisted in {report.marker}")
    except OSError as exc:
        report.step("write_marker", False, f"cannot write halt marker: {exc}")
    report.pid = _find_pid(client, report)
    if report.pid is None:
        return
    _terminate(report.pid, report)
    _await_exit(report.pid, report, grace, force=shutdown)


def _find_pid(client: Client, report: KillReport) -> int | None:
    """The pid file first (the contract); the socket's owner when the file is missing."""
    from_file = process.read_pid(report.state_dir)
    from_socket = client.peer_pid()
    for pid, source in (
        (from_file, str(process.pid_file(report.state_dir))),
        (from_socket, "the socket's owner (SO_PEERCRED)"),
    ):
        if pid and process.is_alive(pid) and process.looks_like_engine(pid):
            report.step("find_pid", True, f"engine pid {pid} from {source}")
            if from_file and from_socket and from_file != from_socket:
                report.step(
                    "pid_mismatch",
                    False,
                    f"pid file says {from_file}, socket owner is {from_socket}: "
                    "is --state-dir the engine's state directory?",
                )
            return pid
    detail = "no live engine process found"
    if from_file:
        detail += f" (stale pid {from_file} in {process.pid_file(report.state_dir)})"
    report.step("find_pid", False, detail)
    return None


def _terminate(pid: int, report: KillReport) -> None:
    """SIGTERM, then SIGCONT: a stopped process only acts on SIGTERM once continued."""
    for sig in (signal.SIGTERM, signal.SIGCONT):
        problem = process.signal_pid(pid, sig)
        report.step(sig.name.lower(), problem is None, problem or f"sent {sig.name} to {pid}")


def _await_exit(pid: int, report: KillReport, grace: float, force: bool) -> None:
    started = time.monotonic()
    if process.wait_for_exit(pid, grace):
        report.step("wait_exit", True, f"pid {pid} exited after {time.monotonic() - started:.1f}s")
        return
    if not force:
        report.step(
            "wait_exit",
            False,
            f"pid {pid} still alive after {grace:.0f}s "
            "(halt is persisted; use --shutdown to SIGKILL)",
        )
        return
    report.step("wait_exit", False, f"pid {pid} still alive after {grace:.0f}s")
    problem = process.signal_pid(pid, signal.SIGKILL)
    report.step("sigkill", problem is None, problem or f"sent SIGKILL to {pid}")
    gone = process.wait_for_exit(pid, 2.0)
    report.step("wait_exit", gone, f"pid {pid} {'exited' if gone else 'is STILL alive'}")


def _print_kill(report: KillReport, as_json: bool) -> None:
    if as_json:
        output.emit_json(report.to_dict())
        return
    if report.acknowledged:
        output.say(f"[bold red]HALTED[/] — engine acknowledged: {output.esc(report.reason)}")
    elif report.halted:
        why = output.esc(report.reason)
        output.say(f"[bold red]HALT PERSISTED[/] by arbctl, engine did not answer: {why}")
    else:
        output.say("[bold red]HALT NOT PERSISTED[/] — see the steps below and act by hand")
    for step in report.steps:
        mark = "[green]✓[/]" if step["ok"] else "[red]✗[/]"
        output.say(f"  {mark} {step['step']}: {output.esc(step['detail'])}")
