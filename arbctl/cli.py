"""The `arbctl` entry point: `status --json` and `tui` on fast paths, the rest through typer.

`arbctl status --json` runs under monitoring agents every few seconds. Typer and the
command modules cost more than the answer itself (issue 19: 55 ms of a 100 ms run), so a
command line of exactly that shape — `status --json` with at most a `--socket PATH` — is
served here with nothing but the socket client, and prints and exits exactly as the typer
command does (same JSON, same exit codes: tests/arbctl/test_fast_status.py). Any other
line, `--help` included, builds the full app (`arbctl.app`); `arbctl.cli.app` still names
it, loaded on first use.

`arbctl tui [--socket PATH] [--read-only]` goes straight to the console for the same
reason: the operator waits for the first dashboard (issue 19: ≤ 400 ms), and typer with
every command module is ~80 ms of CPU before Textual even loads. `--fleet`, `--help` and
any other option take the typer command. The cyclic garbage collector is off from here to
the console's first frame (~45 ms of CPU: ~80 collections while Textual loads, and a full
one while the first frame is laid out, over objects that all stay alive); the console
turns it back on (`screens.app.resume_collector`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

_SOCKET = "--socket"


def main() -> None:
    """Console-script entry point; a closed pipe (`arbctl events | head`) is not an error."""
    try:
        served = serve_status_json(sys.argv[1:])
        if served is None:
            served = serve_tui(sys.argv[1:])
        if served is not None:
            sys.exit(served)
        from arbctl.app import app

        app()
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)


def serve_status_json(argv: list[str]) -> int | None:
    """The exit code of `status --json [--socket PATH]`, or None for any other line."""
    parsed = _status_json_socket(argv)
    if parsed is None:
        return None
    from arbctl import exitcodes
    from arbctl.client import Client, EngineUnreachable, RpcError
    from engine import protocol

    path = parsed[0] if parsed else protocol.default_socket_path()
    try:
        _emit(Client(path).call("status"))
    except EngineUnreachable as exc:
        _emit({"error": exc.to_dict()})
        return exitcodes.UNREACHABLE
    except RpcError as exc:
        _emit({"error": exc.to_dict()})
        return exitcodes.FAILED
    return exitcodes.OK


def serve_tui(argv: list[str]) -> int | None:
    """The exit code of `tui [--socket PATH] [--read-only]`, or None for any other line."""
    parsed = _tui_options(argv)
    if parsed is None:
        return None
    socket, read_only = parsed
    import gc

    gc.disable()  # until the first frame is up: screens.app.resume_collector
    from engine import protocol
    from screens.app import run_console

    return run_console(socket or protocol.default_socket_path(), read_only=read_only)


def _tui_options(argv: list[str]) -> tuple[Path | None, bool] | None:
    """(socket or None, read_only) for `tui` with at most `--socket P` / `--socket=P` and
    `--read-only`, each once; None for anything else (the typer command handles it)."""
    if not argv or argv[0] != "tui":
        return None
    rest = argv[1:]
    read_only = "--read-only" in rest
    if rest.count("--read-only") > 1:
        return None
    rest = [arg for arg in rest if arg != "--read-only"]
    if not rest:
        return None, read_only
    socket = _status_json_socket(["status", "--json", *rest])
    return (socket[0], read_only) if socket else None


def _status_json_socket(argv: list[str]) -> list[Path] | None:
    """[] or [socket] for `status --json [--socket P | --socket=P]` in any order; None for
    anything else (help, a repeated or unknown option, a value that looks like an option)."""
    if not argv or argv[0] != "status" or "--json" not in argv:
        return None
    rest = [arg for arg in argv[1:] if arg != "--json"]
    if len(argv) - len(rest) != 2:  # "status" and exactly one --json
        return None
    if not rest:
        return []
    if len(rest) == 1 and rest[0].startswith(_SOCKET + "="):
        value = rest[0][len(_SOCKET) + 1 :]
    elif len(rest) == 2 and rest[0] == _SOCKET:
        value = rest[1]
    else:
        return None
    return [Path(value)] if value and not value.startswith("-") else None


def _emit(value: Any) -> None:
    """As `arbctl.output.emit_json`: one indented document; ints stay exact."""
    import json

    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")
    sys.stdout.flush()


def __getattr__(name: str) -> Any:
    """`arbctl.cli.app`: the typer app, built on first use (tests, `python -m arbctl`)."""
    if name == "app":
        from arbctl.app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
