"""The quick start's first screen (issue 16, Deliver 5): `./scripts/run.sh` ends in a live,
human trade tail and says how to open the console.

run.sh itself builds the venv, so the tail it execs is driven here the way it runs it,
against a real engine; the script is checked for what it execs and what it tells.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import EngineHandle

RUN_SH = Path(__file__).parents[2] / "scripts" / "run.sh"
CLOCK = re.compile(r"^\d\d:\d\d:\d\d trade +[✓✗] ")


def test_run_sh_ends_in_the_human_trade_tail_and_names_the_console() -> None:
    text = RUN_SH.read_text()
    last = [line for line in text.splitlines() if line.strip()][-1]
    assert last == "exec $ARBCTL events --follow --topic trade"  # no --json: readable lines
    assert "$ARBCTL tui" in text  # how to open the console


def test_the_tail_run_sh_execs_prints_readable_trades_as_they_happen(
    engine: EngineHandle,
) -> None:
    tail = subprocess.Popen(
        [sys.executable, "-m", "arbctl", "events", "--follow", "--topic", "trade"],
        env=engine.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 30
        assert tail.stdout is not None
        while len(lines) < 3 and time.monotonic() < deadline:
            line = tail.stdout.readline()
            if line:
                lines.append(line.rstrip("\n"))
    finally:
        tail.terminate()
        tail.wait(timeout=10)
    assert len(lines) == 3, lines
    assert all(CLOCK.match(line) for line in lines), lines
    assert all("USDC" in line and "{" not in line for line in lines), lines
