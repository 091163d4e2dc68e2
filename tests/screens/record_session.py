"""Record what a live engine shows, for the dashboard snapshot tests.

The live engine cannot be made deterministic (real latencies, wall-clock timestamps,
CPU readings), so the snapshots replay a recording instead: a status, trades, guards,
P&L and a run of heartbeats taken from a real engine on the simulated market, with a
frozen clock. Re-record after a deliberate change of what the engine serves:

    .venv/bin/python tests/screens/record_session.py --socket /tmp/arbX/s \\
        > tests/screens/data/session.json
    .venv/bin/pytest tests/screens/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from arbctl.client import Client

STABLE_SOCKET = "/run/user/1000/arbctl/engine.sock"
STABLE_STATE_DIR = "/home/operator/.local/state/arbctl"


def record(client: Client) -> dict[str, Any]:
    status = client.call("status")
    heartbeats = client.call("events.recent", {"topics": ["heartbeat"], "limit": 60})["events"]
    audit = client.call("events.recent", {"topics": ["audit"], "limit": 5})["events"]
    status.update(socket=STABLE_SOCKET, state_dir=STABLE_STATE_DIR)
    return {
        "clock": status["started_at"] + status["uptime_s"],
        "status": status,
        "trades": client.call("trades", {"limit": 40})["trades"],
        "guards": client.call("guards", {"limit": 20}),
        "pnl": client.call("pnl", {"period": "today"}),
        "heartbeats": heartbeats,
        "audit": audit,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", type=Path, required=True)
    args = parser.parse_args()
    json.dump(record(Client(args.socket)), sys.stdout, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
