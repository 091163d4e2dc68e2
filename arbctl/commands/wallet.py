"""`arbctl wallet new` and `arbctl wallet rotate`: the operator's signing key.

Only typer and the project's output helpers are imported here; `arbctl.wallet` (which
imports eth_keys, eth_account and web3) loads inside the command that needs it, so the
plain commands never pay for it. A private key is never printed, logged or put in an
error: `new` prints the address, `rotate` the addresses, amounts and transaction hashes.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from arbctl import exitcodes, options, output

if TYPE_CHECKING:
    from arbctl.wallet.rotate import RotateReport

app = options.key_handling_app(
    "wallet", "The signing key: create one, or rotate a compromised one (Key Compromise Response)."
)

OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "-o",
        show_default=False,
        help="Key file to create (must not exist). Default: <state-dir>/keys/<address>.key.",
    ),
]


@app.command("new")
def new(
    out: OutOpt = None,
    state_dir: options.StateDirOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Create a new signing key in a file only you can read (mode 0600); print its address.

    The key itself is never printed: point `evm.key_file` at the file. An existing file
    is never overwritten. --json: {address, key_file}.

    Exit codes: 0 created · 1 the file exists or cannot be written.
    """
    from arbctl.wallet import keys

    target = out.expanduser().absolute() if out else None
    directory = options.state_dir(state_dir) / "keys"
    try:
        path, address = keys.create_key_file(target, directory)
    except (keys.KeyFileExists, OSError) as exc:
        output.fail(str(exc), exitcodes.FAILED, as_json)
    if as_json:
        output.emit_json({"address": address, "key_file": str(path)})
        return
    sys.stdout.write(address + "\n")
    output.note(f"key written to {path} (mode 0600); keep a copy offline")


SweepToOpt = Annotated[
    str | None,
    typer.Option(
        "--sweep-to",
        show_default=False,
        help="Backup address that receives every asset of the old key (required).",
    ),
]
YesOpt = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Do not ask for confirmation (for scripts)."),
]
RotateReasonOpt = Annotated[
    str,
    typer.Option("--reason", "-r", help="Why: recorded with the halt in the audit log."),
]
NewKeyOpt = Annotated[
    Path | None,
    typer.Option(
        "--new-key",
        show_default=False,
        help="File for the new key (must not exist). Default: beside the old key file, "
        "named <new address>.key.",
    ),
]
ShutdownOpt = Annotated[
    bool, typer.Option("--shutdown", help="Also stop the engine (arbctl kill --shutdown).")
]
RedeployOpt = Annotated[
    bool,
    typer.Option(
        "--redeploy",
        help="Also deploy a new executor owned by the new key (`arbctl executor deploy`), "
        "its gas sent to the new key from the old wallet before the native sweep.",
    ),
]


@app.command("rotate")
def rotate(
    sweep_to: SweepToOpt = None,
    config: options.ConfigOpt = None,
    yes: YesOpt = False,
    reason: RotateReasonOpt = "key compromise (arbctl wallet rotate)",
    new_key: NewKeyOpt = None,
    rpc_url: options.RpcUrlOpt = None,
    shutdown: ShutdownOpt = False,
    redeploy: RedeployOpt = False,
    timeout: options.TimeoutOpt = 120.0,
    socket: options.SocketOpt = None,
    state_dir: options.StateDirOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Key Compromise Response: halt, new key, sweep everything to --sweep-to, switch config.

    1. halt: `arbctl kill --reason` (with its fallback when the engine does not answer;
       --shutdown also stops it). 2. balances: what the old key controls. 3. confirm:
       type the backup address (or --yes). 4. new_key: a new 0600 key file. 5. sweep:
       `withdraw` every tracked token from the executor, transfer every tracked token
       from the old wallet, then the native balance minus that transfer's own gas, all
       to --sweep-to. 6. verify: balances read again. 7. switch_config: evm.key_file in
       the config file now names the new key (the old file is kept as FILE.bak).

    The executor's owner is fixed when it is deployed: --redeploy sends the new key the
    gas of a deployment (before the native sweep) and, after the switch, runs `arbctl
    executor deploy` for it (step redeploy: evm.executor names the new executor);
    without it, deploy one before starting the engine again (it refuses an executor it
    does not own). Without --yes, stdin must be a terminal.

    --json: {ok, halted, old_address, new_address, new_key_file, backup_address,
    executor, new_executor, config, config_backup, before, swept, gas_wei, steps: [{step,
    ok, detail}], next_steps}.

    Exit codes: 0 every step succeeded · 1 a step failed or the sweep was not confirmed
    (see steps) · 2 usage: no --sweep-to, bad address, no config, invalid config, or
    no terminal to confirm on without --yes.
    """
    if not sweep_to:
        output.fail("`arbctl wallet rotate` needs --sweep-to ADDRESS", exitcodes.USAGE, as_json)
    config = options.require_config(config, as_json)
    if not yes and not sys.stdin.isatty():
        output.fail(
            "refusing to sweep without confirmation: stdin is not a terminal; "
            "rerun with --yes (for scripts) once the backup address is certain",
            exitcodes.USAGE,
            as_json,
        )
    from arbctl.wallet import rotate as rotation_module

    request = rotation_module.RotateRequest(
        config=config.expanduser().absolute(),
        sweep_to=sweep_to,
        reason=reason.strip() or "key compromise (arbctl wallet rotate)",
        new_key=new_key.expanduser().absolute() if new_key else None,
        rpc_url=rpc_url,
        socket=socket,
        state_dir=state_dir,
        shutdown=shutdown,
        timeout_s=timeout,
        redeploy=redeploy,
    )
    try:
        rotation = rotation_module.prepare(request)
    except rotation_module.RotateRefused as exc:
        output.fail(str(exc), exc.code, as_json)
    confirm = _auto_confirm if yes else _ask_confirmation
    report = rotation_module.run(rotation, confirm)
    _print_report(report, as_json)
    raise typer.Exit(exitcodes.OK if report.ok else exitcodes.FAILED)


def _auto_confirm(report: RotateReport) -> bool:
    return True


def _ask_confirmation(report: RotateReport) -> bool:
    """The operator types the backup address: a pasted wrong address is the costly mistake."""
    for step in report.steps:
        _print_step(step, to_stderr=True)
    output.note(
        f"\nAbout to move every asset of {report.old_address}"
        f"{' and of executor ' + report.executor if report.executor else ''} "
        f"to {report.backup_address}."
    )
    sys.stderr.write("Type the backup address to confirm: ")
    sys.stderr.flush()
    typed = sys.stdin.readline().strip()
    return typed.lower() == report.backup_address.lower()


def _print_report(report: RotateReport, as_json: bool) -> None:
    if as_json:
        output.emit_json(report.to_dict())
        return
    head = "[bold green]KEY ROTATED[/]" if report.ok else "[bold red]KEY ROTATION INCOMPLETE[/]"
    new = report.new_address or "—"
    output.say(f"{head} — old {report.old_address} → new {new}")
    for step in report.steps:
        _print_step(step)
    if report.next_steps:
        output.say("[bold]next:[/]")
        for line in report.next_steps:
            output.say(f"  • {output.esc(line)}")


def _print_step(step: dict[str, object], to_stderr: bool = False) -> None:
    if to_stderr:
        mark = "ok " if step["ok"] else "FAIL"
        output.note(f"  [{mark}] {step['step']}: {step['detail']}")
        return
    mark = "[green]✓[/]" if step["ok"] else "[red]✗[/]"
    output.say(f"  {mark} {step['step']}: {output.esc(step['detail'])}")
