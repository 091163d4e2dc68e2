"""`engine run`, `up` and `down`: the engine's process lifecycle.

`engine run` is the foreground engine (what systemd runs); `up` starts it detached for
operators and tests and returns only once it answers, so "up succeeded" means "the
socket works"; `down` stops it and waits, so "down succeeded" means "it is gone".
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from arbctl import exitcodes, options, output, process
from arbctl.client import Client, EngineUnreachable, RpcError
from arbctl.rpc import audited

app = typer.Typer(
    name="engine",
    help="Run the engine in the foreground (what systemd runs).",
    no_args_is_help=True,
)

STDIO_LOG = "engine.stdio.log"
_PING_TIMEOUT_S = 0.5
_POLL_S = 0.05


@app.command("run")
def run(
    config: options.ConfigOpt = None,
    socket: options.SocketOpt = None,
    state_dir: options.StateDirOpt = None,
) -> None:
    """Run the engine in the foreground until SIGTERM/SIGINT or `arbctl down`.

    This is what a systemd unit's ExecStart runs. Logs go to <state-dir>/logs/engine.log
    (JSON lines); the pid is written to <state-dir>/engine.pid. A persisted halt marker
    makes it start halted. Unset --socket/--state-dir fall back to the config file, then
    to the defaults.

    Exit codes: the engine's own (0 clean stop, non-zero on a startup or fatal error).
    """
    from engine.daemon import run as run_engine  # heavy: only the engine pays for it

    raise typer.Exit(run_engine(_text(config), _text(socket), _text(state_dir)))


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path)


@dataclass
class Target:
    """Where an engine lives: resolved once so every message names the same paths."""

    socket: Path
    state_dir: Path
    config: Path | None

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    def to_dict(self) -> dict[str, Any]:
        return {
            "socket": str(self.socket),
            "state_dir": str(self.state_dir),
            "config": str(self.config) if self.config else None,
        }


def _resolve(
    config: Path | None, socket: Path | None, state_dir: Path | None, as_json: bool
) -> Target:
    """Flag/env first, then the config file's [engine] socket/state_dir, then defaults."""
    section = _engine_section(config, as_json)
    sock = socket or (Path(section["socket"]) if section.get("socket") else None)
    sdir = state_dir or (Path(section["state_dir"]) if section.get("state_dir") else None)
    absolute = config.absolute() if config is not None else None  # what status will name
    return Target(options.socket_path(sock), options.state_dir(sdir), absolute)


def _engine_section(config: Path | None, as_json: bool) -> dict[str, Any]:
    """An invalid config fails `up` at once, with the engine's own validator's errors."""
    if config is None:
        return {}
    from engine.config import ConfigError, load

    try:
        loaded = load(config)
    except ConfigError as exc:
        report = {"file": exc.source, "errors": [e.to_dict() for e in exc.errors]}
        _config_refused(report, "invalid config", as_json)
    return {"socket": loaded.engine.socket, "state_dir": loaded.engine.state_dir}


def _config_refused(report: dict[str, Any], what: str, as_json: bool) -> NoReturn:
    """Every error with its key: the same report whether `up` or the engine found it."""
    errors = report["errors"]
    if len(errors) == 1:
        text = f"{what}: {errors[0]['message']}"
    else:
        lines = [f"  {e['key'] or '-'}: {e['problem']}" for e in errors]
        text = f"{what}: {len(errors)} errors in {report['file']}:\n" + "\n".join(lines)
    output.fail(
        text,
        exitcodes.FAILED,
        as_json,
        kind="invalid_config",
        file=report["file"],
        key=errors[0]["key"],
        errors=errors,
    )


TimeoutOpt = Annotated[
    float, typer.Option("--timeout", min=0.1, help="Seconds to wait for the engine.")
]


def up(
    config: options.ConfigOpt = None,
    socket: options.SocketOpt = None,
    state_dir: options.StateDirOpt = None,
    timeout: TimeoutOpt = 15.0,
    as_json: options.JsonOpt = False,
) -> None:
    """Start the engine in the background and wait until it answers on its socket.

    Runs `arbctl engine run` in a new session, its stdout/stderr appended to
    <state-dir>/logs/engine.stdio.log. Refuses if an engine already answers on the socket
    (or its pid is alive); a stale socket file is reported and replaced by the engine.
    It says which config file the engine runs and whether it came up HALTED (a persisted
    halt: it trades only after `resume`), and why. A config the validator or the engine
    refuses is reported with its keys. On any other failure prints the reason and the tail
    of the logs. With --json prints {pid, socket, state_dir, config, config_source, state,
    halted, halt, log, stdio_log, elapsed_s}.

    Exit codes: 0 the engine answers `ping` · 1 it failed to start within --timeout
    (invalid config, crash) · 4 an engine is already running on that socket.
    """
    from engine.config import clear_error_report

    target = _resolve(config, socket, state_dir, as_json)
    _refuse_if_running(target, as_json)
    started = time.monotonic()
    clear_error_report(target.state_dir)  # a report from an earlier run must not speak now
    proc = _spawn(target)
    pid = _wait_until_answering(proc, target, timeout, as_json)
    info = {
        "pid": pid,
        **target.to_dict(),
        **_came_up(proc, target, started + timeout, as_json),
        "log": str(target.log_dir / "engine.log"),
        "stdio_log": str(target.log_dir / STDIO_LOG),
        "elapsed_s": round(time.monotonic() - started, 3),
    }
    if as_json:
        output.emit_json(info)
    else:
        _say_up(info, target)


def _came_up(
    proc: subprocess.Popen[bytes], target: Target, deadline: float, as_json: bool
) -> dict[str, Any]:
    """Once past `starting` (or at --timeout): its config, its state, a persisted halt.

    The socket answers while the market loads; what only the loaded market can judge
    (the simulated market's token symbols) is refused after that, and reported here."""
    from engine import protocol

    status = _status(target)
    while status.get("state") in (protocol.STARTING, None) and time.monotonic() < deadline:
        if (code := proc.poll()) is not None or (not status and _exits(proc)):
            _exited(proc.returncode if code is None else code, target, as_json)
        time.sleep(_POLL_S)
        status = _status(target)
    halt = status.get("halt") if status else protocol.read_halt_marker(target.state_dir)
    if halt is None and status.get("state") == protocol.HALTED:  # e.g. the fleet's flag
        halt = {"reason": status.get("reason"), "source": "engine", "ts": status.get("since")}
    fallback = str(target.config) if target.config else "<defaults>"
    return {
        "config_source": status.get("config_source") or fallback,
        "state": status.get("state"),
        "halted": halt is not None,
        "halt": halt,
    }


def _status(target: Target) -> dict[str, Any]:
    try:
        return Client(target.socket, timeout=2.0).call("status", timeout=2.0) or {}
    except (EngineUnreachable, RpcError):
        return {}


def _exits(proc: subprocess.Popen[bytes]) -> bool:
    """The socket went silent: is the process on its way out?"""
    try:
        proc.wait(timeout=2.0)
    except subprocess.TimeoutExpired:
        return False
    return True


def _say_up(info: dict[str, Any], target: Target) -> None:
    source = info["config_source"]
    config = "built-in defaults (no --config)" if source == "<defaults>" else source
    output.say(
        f"[green]engine up[/]: pid {info['pid']}, socket {output.esc(target.socket)}, "
        f"state dir {output.esc(target.state_dir)} ({info['elapsed_s']}s)\n"
        f"config: {output.esc(config)}\n"
        f"logs: {output.esc(info['log'])}"
    )
    halt = info["halt"]
    if halt is not None:
        output.say(
            f"[bold red]engine came up HALTED[/]: {output.esc(halt.get('reason') or '?')} "
            f"({output.esc(_halted_by(halt))}); nothing is sent until "
            "`arbctl resume --reason …`"
        )


def _halted_by(halt: dict[str, Any]) -> str:
    who = f"halted by {halt.get('source') or '?'}"
    if halt.get("uid") is not None:
        who += f", uid {halt['uid']}"
    if isinstance(halt.get("ts"), int | float):
        who += time.strftime(" at %Y-%m-%d %H:%M:%S UTC", time.gmtime(halt["ts"]))
    return who


def _refuse_if_running(target: Target, as_json: bool) -> None:
    """One engine per socket: a second `up` must say who is there, not start a twin."""
    client = Client(target.socket, timeout=2.0)
    try:
        status = client.call("status", timeout=2.0)
    except RpcError:
        status = {"pid": client.last_peer_pid}
    except EngineUnreachable as exc:
        _check_unanswering(exc, target, as_json)
        return
    pid = (status or {}).get("pid") or client.last_peer_pid
    output.fail(
        f"an engine is already running: pid {pid}, socket {target.socket}",
        exitcodes.ALREADY_RUNNING,
        as_json,
        kind="already_running",
        pid=pid,
        socket=str(target.socket),
    )


def _check_unanswering(exc: EngineUnreachable, target: Target, as_json: bool) -> None:
    """Nobody answered on this socket; a proven engine may still own the slot. Advice
    names what is known and never says to force-kill: that engine may be healthy."""
    proof = process.prove_engine(target.state_dir, target.socket)
    if isinstance(proof, process.Proof):
        _already_running(
            f"an engine is already running but not answering on {target.socket} "
            f"({exc.detail}): {proof.evidence}. Halt it with `arbctl kill --reason ...`; "
            "stop it with `arbctl down`",
            proof.pid,
            target,
            as_json,
        )
    if proof.elsewhere:
        _already_running(
            f"state dir {target.state_dir} belongs to a running engine: pid {proof.pid} on "
            f"socket {proof.elsewhere}. Reach it with `--socket {proof.elsewhere}`, or give "
            "this engine its own --state-dir",
            proof.pid,
            target,
            as_json,
        )
    if exc.kind == "timeout":
        owner = process.socket_owner(target.socket)
        _already_running(
            f"socket {target.socket} is held by pid {owner}, which does not answer and is "
            f"not proven to be an arbctl engine ({proof.why}); nothing was signalled: free "
            "the socket by hand or use another --socket",
            owner,
            target,
            as_json,
        )
    if exc.kind == "refused":
        output.note(f"arbctl: stale socket file {target.socket} (no engine); it will be replaced")


def _already_running(message: str, pid: int | None, target: Target, as_json: bool) -> NoReturn:
    output.fail(
        message,
        exitcodes.ALREADY_RUNNING,
        as_json,
        kind="already_running",
        pid=pid,
        socket=str(target.socket),
    )


def _spawn(target: Target) -> subprocess.Popen[bytes]:
    """`arbctl engine run` detached: own session, so a closing SSH session spares it."""
    target.log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    argv = [sys.executable, "-m", "arbctl", "engine", "run"]
    argv += ["--socket", str(target.socket), "--state-dir", str(target.state_dir)]
    if target.config is not None:
        argv += ["--config", str(target.config)]
    with (target.log_dir / STDIO_LOG).open("ab") as log:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )


def _wait_until_answering(
    proc: subprocess.Popen[bytes], target: Target, timeout: float, as_json: bool
) -> int:
    client = Client(target.socket, timeout=_PING_TIMEOUT_S)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            _exited(code, target, as_json)
        try:
            client.call("ping", timeout=_PING_TIMEOUT_S)
            return proc.pid
        except (EngineUnreachable, RpcError):
            time.sleep(_POLL_S)
    proc.terminate()
    _startup_failed(
        f"the engine did not answer within {timeout:.0f}s (stopped it, pid {proc.pid})",
        target,
        as_json,
    )


def _exited(code: int, target: Target, as_json: bool) -> NoReturn:
    """A refused config is named by its keys; any other exit shows the logs."""
    from engine.config import read_error_report

    report = read_error_report(target.state_dir)
    if report is not None:
        _config_refused(report, "the engine refused its config", as_json)
    _startup_failed(f"the engine exited with code {code}", target, as_json)


def _startup_failed(reason: str, target: Target, as_json: bool) -> NoReturn:
    logs = [target.log_dir / STDIO_LOG, target.log_dir / "engine.log"]
    tails = {str(p): process.tail(p) for p in logs}
    if not as_json:
        for path, text in tails.items():
            if text:
                output.note(f"--- last lines of {path} ---\n{text}")
    output.fail(
        f"engine failed to start: {reason}; logs: {', '.join(str(p) for p in logs)}",
        exitcodes.FAILED,
        as_json,
        kind="start_failed",
        logs=tails,
    )


def down(
    force: Annotated[
        bool, typer.Option("--force", help="SIGKILL if it has not exited after --timeout.")
    ] = False,
    timeout: TimeoutOpt = 10.0,
    reason: Annotated[
        str, typer.Option("--reason", "-r", help="Recorded in the audit log.")
    ] = "arbctl down",
    socket: options.SocketOpt = None,
    state_dir: options.StateDirOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Stop the engine gracefully and wait until its process is gone.

    Asks the engine to shut down (`shutdown`, audited); if it does not answer, sends
    SIGTERM (and SIGCONT) to its pid once proven: <state-dir>/engine.pid's start time
    matches the live process and it owns the socket. A stale or recycled pid, or another
    socket's engine, is never signalled.
    A persisted halt stays on disk. With --force, SIGKILLs after --timeout and says so.
    With --json prints {stopped, pid, forced, was_running, steps}.

    Exit codes: 0 stopped (or nothing was running) · 1 still running after --timeout
    (without --force), or could not be signalled.
    """
    target = Target(options.socket_path(socket), options.state_dir(state_dir), None)
    result = _stop(target, reason, timeout, force)
    if as_json:
        output.emit_json(result)
    else:
        for step in result["steps"]:
            mark = "[green]✓[/]" if step["ok"] else "[red]✗[/]"
            output.say(f"  {mark} {output.esc(step['detail'])}")
        output.say(_down_summary(result, target))
    raise typer.Exit(exitcodes.OK if result["stopped"] else exitcodes.FAILED)


def _stop(target: Target, reason: str, timeout: float, force: bool) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    client = Client(target.socket, timeout=2.0)
    proof = process.prove_engine(target.state_dir, target.socket)  # before it goes away
    asked = _ask_shutdown(client, reason, steps)
    pid = proof.pid if isinstance(proof, process.Proof) else None
    result = {"stopped": False, "pid": pid, "forced": False, "was_running": True, "steps": steps}
    if isinstance(proof, process.Proof):
        result.update(_stop_proven(proof, asked, timeout, force, steps))
    elif asked:
        result["stopped"] = _wait_socket_silent(client, timeout, steps)
    else:
        result.update(_nothing_to_signal(proof, target, steps))
    return result


def _stop_proven(
    proof: process.Proof, asked: bool, timeout: float, force: bool, steps: list[dict[str, Any]]
) -> dict[str, Any]:
    steps.append({"step": "find_pid", "ok": True, "detail": f"engine proven: {proof.evidence}"})
    if not asked:
        _signal(proof, signal.SIGTERM, steps)
        _signal(proof, signal.SIGCONT, steps)
    if _wait(proof, timeout, steps):
        return {"stopped": True}
    if not force:
        return {"stopped": False}
    _signal(proof, signal.SIGKILL, steps)
    return {"stopped": _wait(proof, 5.0, steps), "forced": True}


def _nothing_to_signal(
    proof: process.NotProven, target: Target, steps: list[dict[str, Any]]
) -> dict[str, Any]:
    """The socket did not take `shutdown` and no pid is proven: nothing is signalled."""
    owner = process.socket_owner(target.socket)
    if proof.elsewhere or owner is not None:
        held = f"socket held by pid {owner}; " if owner is not None else ""
        detail = f"{held}not signalled: {proof.why}"
        steps.append({"step": "find_pid", "ok": False, "detail": detail})
        return {"stopped": False}
    detail = "no engine running" + (f" ({proof.why}; nothing signalled)" if proof.pid else "")
    steps.append({"step": "find_pid", "ok": True, "detail": detail})
    return {"stopped": True, "was_running": False}


def _wait_socket_silent(client: Client, timeout: float, steps: list[dict[str, Any]]) -> bool:
    """Pid unknown (e.g. another pid namespace): wait for the socket to stop answering."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            client.call("ping", timeout=_PING_TIMEOUT_S)
        except EngineUnreachable:
            steps.append({"step": "wait_exit", "ok": True, "detail": "engine stopped answering"})
            return True
        except RpcError:
            pass
        time.sleep(_POLL_S)
    steps.append({"step": "wait_exit", "ok": False, "detail": "engine still answering"})
    return False


def _ask_shutdown(client: Client, reason: str, steps: list[dict[str, Any]]) -> bool:
    try:
        client.call("shutdown", audited(reason), timeout=2.0)
    except (EngineUnreachable, RpcError) as exc:
        if not (isinstance(exc, EngineUnreachable) and exc.kind in ("no_socket", "refused")):
            steps.append({"step": "shutdown", "ok": False, "detail": f"shutdown request: {exc}"})
        return False
    steps.append({"step": "shutdown", "ok": True, "detail": "engine accepted shutdown"})
    return True


def _signal(proof: process.Proof, sig: signal.Signals, steps: list[dict[str, Any]]) -> None:
    problem = process.signal_engine(proof, sig)
    detail = problem or f"sent {sig.name} to pid {proof.pid}"
    steps.append({"step": sig.name.lower(), "ok": problem is None, "detail": detail})


def _wait(proof: process.Proof, timeout: float, steps: list[dict[str, Any]]) -> bool:
    started = time.monotonic()
    gone = process.wait_for_exit(proof.pid, timeout, proof.start_ticks)
    elapsed = time.monotonic() - started
    detail = (
        f"pid {proof.pid} exited after {elapsed:.1f}s"
        if gone
        else (f"pid {proof.pid} still running after {timeout:.0f}s")
    )
    steps.append({"step": "wait_exit", "ok": gone, "detail": detail})
    return gone


def _down_summary(result: dict[str, Any], target: Target) -> str:
    if not result["was_running"]:
        return f"no engine running on {output.esc(target.socket)}"
    if result["stopped"]:
        forced = " (forced with SIGKILL)" if result["forced"] else ""
        return f"[green]engine stopped[/]{forced}: pid {result['pid']}"
    if result["pid"] is None:
        return "[red]not stopped[/]: nothing was signalled (see the steps above)"
    return f"[red]engine still running[/]: pid {result['pid']}; retry with --force to SIGKILL it"
