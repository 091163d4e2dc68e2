"""Options shared by every command, declared once so names, env vars and help agree.

Per-command rather than global options, so `arbctl status --json --socket S` reads the
way operators type it and a script can copy one line without knowing the app's shape.
The on-chain operator commands (`arbctl executor`, `arbctl wallet`) also share how their
command group is made (`key_handling_app`: a crash never prints local variables, which
could hold key material), their chain options and the refusal of a missing --config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from arbctl import exitcodes, output, timespec
from engine import protocol

SocketOpt = Annotated[
    Path | None,
    typer.Option(
        "--socket",
        envvar="ARBCTL_SOCKET",
        show_default=False,
        help="Engine control socket. Default: $XDG_RUNTIME_DIR/arbctl/engine.sock "
        "(or /tmp/arbctl-$UID/engine.sock).",
    ),
]

StateDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        envvar="ARBCTL_STATE_DIR",
        show_default=False,
        help="Engine state directory (pid file, halt marker, logs). "
        "Default: $XDG_STATE_HOME/arbctl.",
    ),
]

JsonOpt = Annotated[
    bool,
    typer.Option("--json", help="Machine-readable JSON on stdout (fields: docs/cli.md)."),
]

ExactOpt = Annotated[
    bool,
    typer.Option(
        "--exact",
        help="Amounts as exact base units (wei, token units) next to every decimal place.",
    ),
]

ReasonOpt = Annotated[
    str | None,
    typer.Option(
        "--reason",
        "-r",
        show_default=False,
        help="Why (required): recorded in the audit log with your uid.",
    ),
]

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="ARBCTL_CONFIG",
        show_default=False,
        help="Engine config file (TOML). Default: built-in defaults (sim venue).",
    ),
]


RpcUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--rpc-url",
        show_default=False,
        help="JSON-RPC endpoint (http). Default: the config's [[providers]] by priority.",
    ),
]

TimeoutOpt = Annotated[
    float, typer.Option("--timeout", min=1, help="Seconds to wait for each transaction.")
]


def key_handling_app(name: str, help: str) -> typer.Typer:
    """A command group whose commands read a signing key: no completion of its own (the
    root app's), and no local variables in a crash report (they could hold the key)."""
    return typer.Typer(
        name=name,
        help=help,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_show_locals=False,
    )


def require_config(path: Path | None, as_json: bool) -> Path:
    """An on-chain command acts on the chain its config names: there is no default."""
    if path is None:
        output.fail("needs --config FILE (or $ARBCTL_CONFIG)", exitcodes.USAGE, as_json)
    return path


def socket_path(value: Path | None) -> Path:
    """`--socket` beats ARBCTL_SOCKET beats the XDG runtime directory."""
    return value if value is not None else protocol.default_socket_path()


def state_dir(value: Path | None) -> Path:
    """`--state-dir` beats ARBCTL_STATE_DIR beats $XDG_STATE_HOME/arbctl."""
    return value if value is not None else protocol.default_state_dir()


def require_reason(reason: str | None, command: str, as_json: bool) -> str:
    """State changes are audited, so an empty reason is refused before anything is sent."""
    # One clean line, as the engine takes it: a pasted newline or tab becomes a space, a
    # byte that is not UTF-8 U+FFFD (docs/protocol.md).
    text = protocol.clean_line(reason or "")
    if not text:
        output.fail(
            f"`arbctl {command}` needs --reason TEXT: state changes are audited with your "
            f"uid and reason (e.g. --reason 'gas spike, investigating').",
            exitcodes.USAGE,
            as_json,
        )
    return text


def since_or_exit(text: str, as_json: bool) -> float:
    """`--since 1h` as epoch seconds, or a usage error naming the accepted forms."""
    try:
        return timespec.parse_since(text)
    except ValueError as exc:
        output.fail(str(exc), exitcodes.USAGE, as_json)
