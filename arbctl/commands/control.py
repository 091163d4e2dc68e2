"""`pause`, `resume` and `kill`: the commands that change what the engine may do.

Each sends the operator's reason and our client name; the engine adds the caller's uid
from SO_PEERCRED and writes the audit entry. `kill` must work when the engine cannot
answer, so it falls back to arbctl/offline_kill.py: persist the halt marker, then signal
the pid only once it is proven to be this engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from arbctl import exitcodes, options, output, process
from arbctl.client import Client, EngineUnreachable, RpcError
from arbctl.commands import fleet
from arbctl.offline_kill import CLI_SOURCE, KillReport, await_exit, offline_kill
from arbctl.rpc import audited

KILL_TIMEOUT_S = 2.0
# After an acknowledged `kill --shutdown` the engine stops gracefully (ledger flush,
# snapshot) within its own 10 s budget; SIGKILL only after that.
ACK_SHUTDOWN_GRACE_S = 10.0


def pause(
    reason: options.ReasonOpt = None,
    socket: options.SocketOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Stop executing new opportunities; in-flight transactions complete.

    Needs a running engine and --reason (audited with your uid). Undo with
    `arbctl resume --reason ...`. With --json prints the engine's new status object.

    Exit codes: 0 paused (also when it already was: "already PAUSED", --json
    `already: true`) · 1 the engine refused (e.g. halted) · 2 missing --reason · 3 engine
    unreachable.
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

    Exit codes: 0 running (also when it already was: "already RUNNING", --json
    `already: true`) · 1 the engine refused (e.g. the global halt flag is set), or
    --global could not clear the flag · 2 missing --reason · 3 engine unreachable.
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
    client = Client(options.socket_path(socket))
    try:
        data, already = client.call(method, audited(why)), False
    except EngineUnreachable as exc:
        output.fail_unreachable(exc, as_json)
    except RpcError as exc:
        data, already = _already_there(client, method, exc, as_json), True
    if as_json:
        output.emit_json({**data, "already": already, **(extra or {})})
        return
    state = str((data or {}).get("state", "?")).upper()
    if already:
        since, was = output.clock(data.get("since")), output.esc(data.get("reason"))
        output.say(f"already [bold]{output.esc(state)}[/] since {since} — {was}")
        return
    output.say(f"[bold]{output.esc(state)}[/] — {output.esc((data or {}).get('reason', why))}")


# the state each change leads to: asking for it again is not an error (docs/cli.md)
_TARGET = {"pause": "paused", "resume": "running"}


def _already_there(client: Client, method: str, exc: RpcError, as_json: bool) -> dict[str, Any]:
    """The engine refused because it is already where we asked it to go: say so, exit 0.
    Any other refusal (resume while the global halt flag is set, pause while halted)
    stays an error."""
    if exc.name != "invalid_state":
        output.fail_rpc(exc, as_json)
    try:
        status = client.call("status")
    except (EngineUnreachable, RpcError):
        output.fail_rpc(exc, as_json)
    if status.get("state") != _TARGET[method]:
        output.fail_rpc(exc, as_json)
    return {k: status.get(k) for k in ("state", "reason", "since", "halt")}


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
    sends SIGTERM and SIGCONT to the engine's pid once proven (<state-dir>/engine.pid's
    start time matches the process and it owns the socket: a stale or recycled pid is
    never signalled) and waits --grace seconds for it to exit. With --shutdown the engine is stopped
    too: asked to shut down after the halt (10 s to do so gracefully), or SIGKILLed after
    --grace in the fallback. Either way a restarted engine comes back halted; only `arbctl resume
    --reason ...` clears it. Every step is reported (--json: a `steps` list).

    Needs --reason. For the fallback, --state-dir must be the engine's state directory.

    --global first sets the shared halt flag in Redis, so every engine attached to it
    (same Redis, same namespace) halts; then halts this engine as above. Redis is found
    from --redis-url, --config, or the running engine's config. Clear it with
    `arbctl resume --global --reason ...` (docs/redis.md).

    An engine that cannot write its halt (full disk) still halts in memory and answers
    `persisted: false`: arbctl says so, exits 1, and never SIGKILLs it (that would lose the
    halt); free space in the state dir and the engine writes it by itself.

    Exit codes: 0 halt persisted (acknowledged by the engine, or marker written; with
    --global even if the flag could not be set: that is said, and `global.ok` is false)
    · 1 the halt could not be persisted (the engine may still be halted in memory: see
    `persisted`) · 2 missing --reason. Killing a halted engine again is not an error.
    """
    why = options.require_reason(reason, "kill", as_json)
    report = KillReport(reason=why, state_dir=options.state_dir(state_dir))
    if global_:
        ok, detail, report.global_halt = fleet.set_global_for_kill(
            why, redis_url, namespace, config, socket
        )
        report.step("global_flag", ok, detail)
    sock = options.socket_path(socket)
    client = Client(sock)
    # Proven before asking: once told to shut down, the engine removes its pid file.
    proof = process.prove_engine(report.state_dir, sock) if shutdown else None
    if _ask_engine(client, report, shutdown):
        if proof is not None:
            _await_shutdown(proof, report, max(grace, ACK_SHUTDOWN_GRACE_S))
    else:
        offline_kill(report, sock, CLI_SOURCE, shutdown, grace)
    _print_kill(report, as_json)
    # The local halt is what the operator asked for first and what protects this engine:
    # a global flag that could not be set is said loudly, but it is not a failed kill.
    raise typer.Exit(exitcodes.OK if report.persisted else exitcodes.FAILED)


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
    report.step(
        "ask_engine", True, f"engine acknowledged the halt; in-flight cancellation started{then}"
    )
    if not report.persisted:
        error = (ack or {}).get("persist_error") or "unknown error"
        report.step(
            "persist",
            False,
            f"engine halted in memory but could not write the halt ({error}); it retries "
            "every second: free space in its state dir, or a restart would trade",
        )
    return True


def _describe(exc: Exception) -> str:
    if isinstance(exc, RpcError):
        return f"engine refused ({exc.name}): {exc.message}"
    return f"{exc} (waited {KILL_TIMEOUT_S:.0f}s)"


def _await_shutdown(
    proof: process.Proof | process.NotProven, report: KillReport, grace: float
) -> None:
    """After an acknowledged `kill --shutdown`: wait for the engine to go, and SIGKILL it
    after `grace` only if it was proven to be the engine before it was asked, and only if
    its halt is on disk (an engine holding an unpersisted halt in memory must live)."""
    if isinstance(proof, process.Proof):
        await_exit(proof, report, grace, force=report.persisted)
        return
    report.step("find_pid", False, f"not waiting for the process: {proof.why}")


def _print_kill(report: KillReport, as_json: bool) -> None:
    if as_json:
        output.emit_json(report.to_dict())
        return
    if report.acknowledged and not report.persisted:
        output.say(
            "[bold red]HALTED IN MEMORY ONLY[/] — the engine could not write the halt; "
            f"a restart would trade: {output.esc(report.reason)}"
        )
    elif report.acknowledged:
        output.say(f"[bold red]HALTED[/] — engine acknowledged: {output.esc(report.reason)}")
    elif report.halted:
        why = output.esc(report.reason)
        output.say(f"[bold red]HALT PERSISTED[/] by arbctl, engine did not answer: {why}")
    else:
        output.say("[bold red]HALT NOT PERSISTED[/] — see the steps below and act by hand")
    if report.global_halt is not None and not report.global_halt.get("ok"):
        error = output.esc(report.global_halt.get("error"))
        output.say(
            f"[bold yellow]global halt flag NOT set[/] ({error}): only this engine is "
            "halted; halt the others one by one, or retry `arbctl kill --global`"
        )
    for step in report.steps:
        mark = "[green]✓[/]" if step["ok"] else "[red]✗[/]"
        output.say(f"  {mark} {step['step']}: {output.esc(step['detail'])}")
