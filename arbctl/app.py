"""The `arbctl` typer app: every command, its help panel and help text.

`arbctl.cli` (the entry point) imports this only for a command line its fast path does not
serve (`arbctl status --json` never loads typer or any command module). Building the app
must stay cheap all the same: every command module imports only typer, the client
and `engine.protocol`; heavy parts (the engine, web3 in `devnet`, rich) load inside the
command that needs them. `devnet` is attached lazily, so `arbctl status` never imports it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from arbctl import coercion, output
from arbctl.commands import (
    accounting,
    config,
    control,
    engine,
    events,
    executor,
    fleet,
    observe,
    providers,
    runbook,
    safety,
    status,
    trading,
    tui,
    wallet,
)
from arbctl.helptext import reflow, reflow_app

coercion.install()  # before any option is parsed: keeps pydantic off the hot path

_DEVNET_MODULE = "arbctl.commands.devnet"


class _LazyGroup(TyperGroup):
    """The root group; `devnet` is imported only when it is invoked or help is listed.

    With --json anywhere on the line, a usage error (unknown option, bad choice) is a JSON
    document on stdout like every other error, not a rich box on stderr: a script that
    parses stdout always gets JSON (docs/cli.md "Contracts").
    """

    def main(self, args: Any = None, *pargs: Any, **kwargs: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if "--json" not in argv or not kwargs.get("standalone_mode", True):
            return super().main(argv, *pargs, **kwargs)
        return _main_json(super().main, argv, *pargs, **kwargs)

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        if "devnet" not in names and importlib.util.find_spec(_DEVNET_MODULE) is not None:
            names.append("devnet")
        return names

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name == "devnet" and cmd_name not in self.commands:
            command = _load_devnet()
            if command is not None:
                self.commands[cmd_name] = command
            return command
        return super().get_command(ctx, cmd_name)


def _main_json(run: Any, argv: list[str], *pargs: Any, **kwargs: Any) -> Any:
    from typer._click.exceptions import ClickException
    from typer.exceptions import Abort

    kwargs["standalone_mode"] = False
    try:
        code = run(argv, *pargs, **kwargs)
    except ClickException as exc:
        output.emit_json({"error": {"kind": "usage", "message": exc.format_message()}})
        sys.exit(exc.exit_code)
    except Abort:
        sys.exit(1)  # Ctrl-C at a prompt
    sys.exit(code if isinstance(code, int) else 0)


def _load_devnet() -> Any:
    if importlib.util.find_spec(_DEVNET_MODULE) is None:
        return None
    module = importlib.import_module(_DEVNET_MODULE)
    command = typer.main.get_command(module.app)
    command.name = "devnet"
    command.rich_help_panel = "Local chain"  # type: ignore[attr-defined]
    return command


HELP = reflow(
    """Operate the arbitrage engine: watch it, steer it, stop it.

    Every command talks to the engine's control socket (--socket, $ARBCTL_SOCKET) and has
    --json with stable field names (docs/cli.md). State changes (pause, resume, kill) need
    --reason and are audited with your uid. `arbctl COMMAND --help` explains each one.

    Exit codes: 0 ok · 1 the engine refused / the check failed · 2 usage error · 3 engine
    unreachable · 4 already running (up). health: 0 OK · 1 WARNING · 2 CRITICAL · 3 UNKNOWN.
    """
)

app = typer.Typer(
    name="arbctl",
    cls=_LazyGroup,
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # plain tracebacks: greppable in logs, no locals (secrets)
    context_settings={"help_option_names": ["-h", "--help"]},
)

_WATCH, _CONTROL, _TRADING = "Watch", "Control (audited)", "Trading"
_SAFETY = "Risk guards"
_PROVIDERS = "Providers (RPC endpoints, liquidity)"
_ACCOUNTING = "Accounting and database"
_LIFECYCLE, _CONFIG = "Lifecycle", "Configuration"
_KEYS = "Keys"
_RUNBOOK = "Runbook"

app.command(rich_help_panel=_WATCH)(status.status)
app.command(rich_help_panel=_WATCH)(status.health)
app.command(rich_help_panel=_WATCH)(events.events)
app.command(rich_help_panel=_WATCH)(events.audit)
app.command(rich_help_panel=_WATCH)(observe.metrics)
app.command(rich_help_panel=_WATCH)(observe.alerts)
app.command(rich_help_panel=_WATCH)(observe.logs)
app.command(rich_help_panel=_WATCH)(tui.tui)
app.command(rich_help_panel=_WATCH)(fleet.fleet)
app.command(rich_help_panel=_CONTROL)(control.pause)
app.command(rich_help_panel=_CONTROL)(control.resume)
app.command(rich_help_panel=_CONTROL)(control.kill)
app.command(rich_help_panel=_TRADING)(trading.opportunities)
app.command(rich_help_panel=_TRADING)(trading.trades)
app.command(rich_help_panel=_TRADING)(trading.trade)
app.command(rich_help_panel=_TRADING)(trading.pnl)
app.command(rich_help_panel=_SAFETY)(safety.guards)
app.add_typer(safety.app, rich_help_panel=_SAFETY)
app.command(rich_help_panel=_SAFETY)(safety.gas)
app.add_typer(providers.app, rich_help_panel=_PROVIDERS)
app.command(rich_help_panel=_PROVIDERS)(providers.failover)
app.command("rpc-check", rich_help_panel=_PROVIDERS)(providers.rpc_check)
app.command(rich_help_panel=_ACCOUNTING)(accounting.reconcile)
app.add_typer(accounting.export_app, rich_help_panel=_ACCOUNTING)
app.add_typer(accounting.db_app, rich_help_panel=_ACCOUNTING)
app.command(rich_help_panel=_LIFECYCLE)(engine.up)
app.command(rich_help_panel=_LIFECYCLE)(engine.down)
app.add_typer(engine.app, rich_help_panel=_LIFECYCLE)
app.add_typer(config.app, rich_help_panel=_CONFIG)
app.add_typer(wallet.app, rich_help_panel=_KEYS)
app.add_typer(executor.app, rich_help_panel=_KEYS)
app.add_typer(runbook.checklist_app, rich_help_panel=_RUNBOOK)
app.command(rich_help_panel=_RUNBOOK)(runbook.triage)
app.add_typer(runbook.report_app, rich_help_panel=_RUNBOOK)
app.add_typer(runbook.incident_app, rich_help_panel=_RUNBOOK)
reflow_app(app)
