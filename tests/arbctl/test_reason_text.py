"""A reason typed or pasted with a newline, a tab or an undecodable byte still changes
the engine's state: the CLI sends it as the one line of valid Unicode the engine takes
(the engine refuses anything else with -32602, and a refused kill would not halt)."""

from __future__ import annotations

import json

from engine import protocol
from tests.conftest import EngineHandle, wait_until


def test_a_kill_whose_reason_has_a_newline_a_tab_and_a_bad_byte_still_halts(
    engine: EngineHandle,
) -> None:
    assert wait_until(
        lambda: json.loads(engine.cli("status", "--json").stdout)["state"] == "running"
    )
    result = engine.cli("kill", "--reason", "runaway\nlosses\t\udcff seen", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["via"] == "engine", result.stdout
    assert json.loads(engine.cli("status", "--json").stdout)["state"] == "halted"
    assert protocol.read_halt_marker(engine.state_dir)["reason"] == "runaway losses \ufffd seen"
