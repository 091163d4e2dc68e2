"""`arbctl tui`: the operator console (screens/).

Textual is imported only inside the command: `arbctl status` and every other plain
command must not pay for it (tests/arbctl/test_imports.py).
"""

from __future__ import annotations

from typing import Annotated

import typer

from arbctl import options

ReadOnlyOpt = Annotated[
    bool,
    typer.Option(
        "--read-only",
        help="Watch only: pause, kill and failover are hidden and refused.",
    ),
]


def tui(socket: options.SocketOpt = None, read_only: ReadOnlyOpt = False) -> None:
    """Open the operator console: live dashboard, trades, guards, logs, and the keys.

    Keys: p pause/resume · f failover · K emergency kill (type KILL) · t trades · g
    guards · l logs · r resync · ? help · q quit (the engine keeps running). If the
    engine is down or restarts, a banner says so and the console reconnects by itself,
    resuming from the last event it saw. Details: docs/console.md.

    Exit codes: 0 quit · 129 the terminal went away (SIGHUP) · 143 SIGTERM.
    """
    from screens.app import run_console

    raise typer.Exit(run_console(options.socket_path(socket), read_only=read_only))
