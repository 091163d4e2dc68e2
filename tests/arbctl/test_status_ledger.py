"""`arbctl status` tells a human when the ledger set rows aside."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.arbctl.fake_engine import FakeEngine, result

LEDGER = {
    "backend": "sqlite",
    "ok": True,
    "pending": 0,
    "written": 10,
    "error": "",
    "quarantined": 2,
    "deadletter": "/state/ledger-deadletter.jsonl",
}


def test_status_for_humans_says_how_many_ledger_rows_were_set_aside(tmp_path: Path) -> None:
    sock = tmp_path / "engine.sock"

    def respond(request: dict[str, Any]) -> list[dict[str, Any]]:
        return [result(request, {"state": "running", "reason": "", "ledger": LEDGER})]

    env = {**os.environ, "ARBCTL_SOCKET": str(sock), "COLUMNS": "200", "NO_COLOR": "1"}
    with FakeEngine(sock, respond):
        done = subprocess.run(
            [sys.executable, "-m", "arbctl", "status"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert "2 rows refused, set aside in /state/ledger-deadletter.jsonl" in done.stdout, (
        done.stdout + done.stderr
    )
