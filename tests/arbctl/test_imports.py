"""The plain-command path stays light: no web3, textual, numpy or engine internals.

`arbctl status` runs under monitoring agents every few seconds; importing web3 alone
costs ~0.8 s. These tests look at what a fresh interpreter actually imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EngineHandle

# pydantic: typer would import it to parse options (~90 ms); arbctl.coercion keeps it away.
HEAVY = ("web3", "textual", "numpy", "pydantic")
# engine.protocol (the wire), engine.units (base units → text) and engine.errors (the root
# error) are stdlib-only by contract.
ALLOWED_ENGINE = {"engine", "engine.protocol", "engine.units", "engine.errors"}
NO_SOCKET = "/tmp/arbctl-test-no-such.sock"

PROBE = """
import json, sys
from typer.main import get_command
import arbctl.cli
command = get_command(arbctl.cli.app)
for args in {argv!r}:
    try:
        command.main(args, prog_name="arbctl", standalone_mode=False)
    except SystemExit:
        pass
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after(argv: list[list[str]]) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)],
        capture_output=True,
        text=True,
        check=True,
        env={"ARBCTL_SOCKET": NO_SOCKET, "PATH": "/usr/bin:/bin"},
    )
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "argv",
    [
        ["status", "--json"],
        ["status", "--help"],
        ["health", "--json"],
        ["pause", "--reason", "x", "--json"],
        ["kill", "--help"],
        ["events", "--json"],
        ["trades", "--json"],
    ],
    ids=lambda a: " ".join(a),
)
def test_plain_command_imports_nothing_heavy(argv: list[str]) -> None:
    loaded = _modules_after([argv])
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}
    assert {m for m in loaded if m.split(".")[0] == "engine"} <= ALLOWED_ENGINE


ENTRY = """
import json, sys
sys.argv = ["arbctl", *{argv!r}]
from arbctl.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after_entry_point(argv: list[str], socket: str = NO_SOCKET) -> set[str]:
    """What the console script (`arbctl.cli:main`) imported for one command line."""
    result = subprocess.run(
        [sys.executable, "-c", ENTRY.format(argv=argv)],
        capture_output=True,
        text=True,
        check=True,
        env={"ARBCTL_SOCKET": socket, "PATH": "/usr/bin:/bin"},
    )
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "argv",
    [["status", "--json"], ["status", "--socket", NO_SOCKET, "--json"]],
    ids=lambda a: " ".join(a),
)
def test_status_json_loads_no_typer_and_no_command_module(argv: list[str]) -> None:
    """Issue 19: the monitoring agents' command is served with the socket client alone;
    typer (~22 ms) and the thirteen command modules stay unloaded."""
    loaded = _modules_after_entry_point(argv)
    assert {m for m in loaded if m.startswith("arbctl.commands.")} <= {"arbctl.commands.status"}
    assert not {m for m in loaded if m.split(".")[0] in ("typer", "click", "rich", *HEAVY)}
    assert "arbctl.app" not in loaded


def test_a_status_json_against_a_live_socket_loads_no_other_command(engine: EngineHandle) -> None:
    loaded = _modules_after_entry_point(["status", "--json"], str(engine.socket))
    assert not {m for m in loaded if m.startswith("arbctl.commands.")}
    assert "typer" not in loaded


def test_any_other_command_line_still_goes_through_the_full_app() -> None:
    loaded = _modules_after_entry_point(["status", "--help"])
    assert {"typer", "arbctl.app", "arbctl.commands.status"} <= loaded


def test_json_output_does_not_load_rich() -> None:
    loaded = _modules_after([["status", "--json"], ["health", "--json"]])
    assert not {m for m in loaded if m.split(".")[0] == "rich"}


def test_config_commands_may_add_only_engine_config() -> None:
    loaded = _modules_after([["config", "show", "--json"]])
    assert {m for m in loaded if m.split(".")[0] == "engine"} <= ALLOWED_ENGINE | {"engine.config"}


def test_importtime_of_a_real_status_run_shows_nothing_heavy() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "arbctl", "status", "--json"],
        capture_output=True,
        text=True,
        env={"ARBCTL_SOCKET": "/tmp/arbctl-test-no-such.sock", "PATH": "/usr/bin:/bin"},
    )
    imported = {
        line.split("|")[-1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert result.returncode == 3
    assert not {m for m in imported if m.split(".")[0] in (*HEAVY, "rich")}


def test_status_and_kill_do_not_start_up_asyncio() -> None:
    """asyncio costs ~20 ms at import; the two commands an on-call person types under
    pressure stay a plain socket round trip (it crept in once through `kill --global`)."""
    loaded = _modules_after([["status", "--json"], ["kill", "--help"]])
    assert "asyncio" not in loaded


@pytest.mark.parametrize(
    "argv",
    [
        ["wallet", "--help"],
        ["wallet", "rotate", "--help"],
        ["wallet", "rotate", "--json"],  # a usage error: refused before any chain work
        ["wallet", "new", "--out", "{tmp}/new.key", "--json"],
    ],
    ids=lambda a: " ".join(a[:3]),
)
def test_the_wallet_commands_load_neither_web3_nor_the_devnet_until_they_use_a_chain(
    argv: list[str], tmp_path: Path
) -> None:
    loaded = _modules_after([[arg.format(tmp=tmp_path) for arg in argv]])
    assert "web3" not in loaded
    assert not {m for m in loaded if m == "engine.devnet" or m.startswith("engine.devnet.")}


@pytest.mark.parametrize(
    "argv",
    [
        ["executor", "--help"],
        ["executor", "deploy", "--help"],
        ["executor", "deploy", "--json"],  # usage: no --config, refused before any chain work
        ["executor", "withdraw", "--all", "--json"],  # usage: no --reason
    ],
    ids=lambda a: " ".join(a[:3]),
)
def test_the_executor_commands_load_neither_web3_nor_the_devnet_until_they_use_a_chain(
    argv: list[str],
) -> None:
    loaded = _modules_after([argv])
    assert "web3" not in loaded
    assert not {m for m in loaded if m == "engine.devnet" or m.startswith("engine.devnet.")}


CONSOLE_ENTRY = """
import gc, json, sys
import screens.app
seen = []
def run_console(socket, read_only=False):
    seen.append([str(socket), read_only, gc.isenabled()])
    return 0
screens.app.run_console = run_console
sys.argv = ["arbctl", *{argv!r}]
from arbctl.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps({{"modules": sorted(sys.modules), "console": seen}}))
"""


def _console_entry(argv: list[str]) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", CONSOLE_ENTRY.format(argv=argv)],
        capture_output=True,
        text=True,
        check=True,
        env={"ARBCTL_SOCKET": NO_SOCKET, "PATH": "/usr/bin:/bin"},
    )
    answer: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


@pytest.mark.parametrize(
    ("argv", "console"),
    [
        (["tui"], [NO_SOCKET, False, False]),
        (["tui", "--read-only"], [NO_SOCKET, True, False]),
        (["tui", "--socket", "/tmp/other.sock", "--read-only"], ["/tmp/other.sock", True, False]),
        (["tui", "--read-only", "--socket=/tmp/other.sock"], ["/tmp/other.sock", True, False]),
    ],
    ids=["tui", "read-only", "socket", "socket="],
)
def test_the_console_opens_without_typer_or_any_command_module(
    argv: list[str], console: list[object]
) -> None:
    """Issue 19: the operator waits for the first dashboard; typer and the command
    modules (~80 ms of CPU) are not on the way to it. Same socket, same read-only flag.
    The cyclic garbage collector is off on the way (~45 ms of CPU: ~80 collections while
    Textual loads, a full one while the first frame is laid out); the console turns it
    back on after its first frame (tests/screens/test_startup.py)."""
    answer = _console_entry(argv)
    modules = set(answer["modules"])  # type: ignore[call-overload]
    assert answer["console"] == [console]
    assert "typer" not in modules and "arbctl.app" not in modules
    assert not {m for m in modules if m.startswith("arbctl.commands.")}


@pytest.mark.parametrize(
    "argv",
    [["tui", "--help"], ["tui", "--fleet", "--help"], ["tui", "--read-only", "--read-only"]],
    ids=lambda a: " ".join(a),
)
def test_any_other_console_line_still_goes_through_the_typer_command(argv: list[str]) -> None:
    answer = _console_entry(argv)
    assert "arbctl.app" in set(answer["modules"])  # type: ignore[call-overload]


def test_the_console_loads_no_screen_it_does_not_show_first() -> None:
    """The trades, guards, alerts and logs screens load when first opened (the logs
    screen alone brings rich's pretty-printer and attrs)."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys, screens.app; print(json.dumps(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = set(json.loads(result.stdout))
    later = {"screens.trades", "screens.guards", "screens.alerts", "screens.logs", "rich.pretty"}
    assert not loaded & later
    assert {"screens.dashboard", "screens.modals", "arbctl.offline_kill"} <= loaded
