"""An operator's pin is session state: a restarted engine keeps it until it is cleared."""

from __future__ import annotations

from tests.conftest import EngineHandle
from tests.providers.test_operator import cli_json, rpc_view


def test_a_pin_survives_a_graceful_restart(engine: EngineHandle) -> None:
    cli_json(engine, "failover", "bravo-rpc", "--reason", "alpha is flaky today")
    engine.stop()
    engine.start()
    view = rpc_view(engine)
    assert view["mode"] == "pinned" and view["pinned"] == "bravo-rpc"
