"""Shared pieces for the telemetry tests: a steppable clock, event builders, and a REAL
HTTP server on 127.0.0.1 that records what webhooks POST to it (no mocks)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from engine.ledger.records import TradeRecord

T0 = 1_800_000_000.0  # a fixed epoch (UTC midday-ish) so day boundaries are predictable


class Clock:
    """An injectable clock: tests step time instead of sleeping."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def trade(
    n: int,
    status: str = "success",
    profit_quote: int = 1_000_000,
    profit_token: int = 1_000,
    revert_reason: str = "",
    block_number: int = 100,
) -> dict[str, Any]:
    """A booked trade as the `trade` event carries it (TradeRecord.to_dict())."""
    record = TradeRecord(
        id=f"t-{n}",
        opportunity_id=f"o-{n}",
        venue="sim",
        route=[],
        token="0xtoken",
        token_symbol="WETH",
        amount_in=10**18,
        amount_out=10**18 + profit_token,
        status=status,  # type: ignore[arg-type]
        revert_reason=revert_reason,
        gas_used=100_000,
        gas_price=20 * 10**9,
        gas_cost_wei=2 * 10**15,
        flash_fee=0,
        profit_token=profit_token if status == "success" else 0,
        profit_native=0,
        profit_quote=profit_quote,
        expected_profit=profit_token,
        block_number=block_number,
        tx_hash=f"0x{n:064x}",
        detected_at=0.0,
        submitted_at=0.0,
        mined_at=0.0,
    )
    return record.to_dict()


def opportunity(n: int, gross_profit: int, flash_fee: int = 0) -> dict[str, Any]:
    return {"id": f"o-{n}", "gross_profit": gross_profit, "flash_fee": flash_fee}


def heartbeat(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "loop_latency_ms": 1.0,
        "avg_loop_latency_ms": 1.0,
        "state": "running",
        "resources": {"cpu_percent": 5.0, "rss_bytes": 100 * 2**20},
        "gas_price": 20 * 10**9,
        "providers": [
            {"name": "a", "status": "healthy", "latency_ms_ewma": 40.0, "active": True},
            {"name": "b", "status": "healthy", "latency_ms_ewma": 90.0, "active": False},
        ],
        "breaker": {"state": "closed", "since": T0, "guard": "", "reason": "engine started"},
    }
    base.update(fields)
    return base


# --- a real webhook receiver -----------------------------------------------------------------
@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class WebhookServer:
    url: str
    received: list[Received] = field(default_factory=list)

    def bodies(self, rule: str | None = None) -> list[dict[str, Any]]:
        return [r.body for r in list(self.received) if rule is None or r.body.get("rule") == rule]


@pytest.fixture
def webhook_server() -> Iterator[WebhookServer]:
    """http.server in a thread on 127.0.0.1: records every POST, answers 200."""
    received: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length))
            received.append(Received(self.path, dict(self.headers), body))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield WebhookServer(f"http://{host}:{port}/hook/secret-token", received)
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    """A port nothing listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
