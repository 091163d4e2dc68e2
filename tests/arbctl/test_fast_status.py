"""`arbctl status --json` on the entry point's fast path answers exactly as the typer command.

The fast path (arbctl/cli.py) serves only `status --json [--socket PATH]`; these tests run
the same line through both paths — the console script's `main()` and typer's command — and
compare what a script sees: stdout and the exit code.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from arbctl.cli import _status_json_socket
from tests.conftest import EngineHandle

TYPER = """
import sys
from typer.main import get_command
import arbctl.cli
get_command(arbctl.cli.app).main({argv!r}, prog_name="arbctl")
"""
FAST = "import sys; sys.argv = ['arbctl', *{argv!r}]; from arbctl.cli import main; main()"


def _run(probe: str, argv: list[str], socket: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", probe.format(argv=argv)],
        capture_output=True,
        text=True,
        env={"ARBCTL_SOCKET": socket, "PATH": "/usr/bin:/bin"},
        timeout=60,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["status", "--json"],
        ["status", "--json", "--socket", "/tmp/arbctl-fast-b.sock"],
        ["status", "--socket=/tmp/arbctl-fast-c.sock", "--json"],
    ],
    ids=lambda a: " ".join(a),
)
def test_an_unreachable_engine_reads_the_same_on_both_paths(argv: list[str]) -> None:
    fast = _run(FAST, argv, "/tmp/arbctl-fast-a.sock")
    typer = _run(TYPER, argv, "/tmp/arbctl-fast-a.sock")
    assert (fast.returncode, fast.stdout) == (typer.returncode, typer.stdout) == (3, fast.stdout)
    assert json.loads(fast.stdout)["error"]["reason"] == "no_socket"


def test_a_running_engine_reads_the_same_on_both_paths(engine: EngineHandle) -> None:
    fast = _run(FAST, ["status", "--json"], str(engine.socket))
    typer = _run(TYPER, ["status", "--json"], str(engine.socket))
    assert fast.returncode == typer.returncode == 0
    fast_doc, typer_doc = json.loads(fast.stdout), json.loads(typer.stdout)
    assert set(fast_doc) == set(typer_doc)
    assert fast_doc["pid"] == typer_doc["pid"] == engine.pid
    assert fast.stdout.startswith("{\n  ")  # indented like every other --json document


@pytest.mark.parametrize(
    ("argv", "socket"),
    [
        (["status", "--json"], []),
        (["status", "--socket", "/s", "--json"], [Path("/s")]),
        (["status", "--json", "--socket=/s"], [Path("/s")]),
    ],
)
def test_the_fast_path_takes_status_json_with_at_most_a_socket(
    argv: list[str], socket: list[Path]
) -> None:
    assert _status_json_socket(argv) == socket


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["status"],
        ["status", "--help", "--json"],
        ["status", "--json", "--json"],
        ["status", "--socket", "--json"],  # click reads "--json" as the socket
        ["status", "--json", "--socket"],
        ["status", "--json", "--socket="],
        ["status", "--json", "--socket", "/a", "--socket", "/b"],
        ["status", "--json", "--timeout", "1"],
        ["health", "--json"],
        ["--json", "status"],
    ],
    ids=lambda a: " ".join(a) or "nothing",
)
def test_every_other_line_is_left_to_typer(argv: list[str]) -> None:
    assert _status_json_socket(argv) is None
