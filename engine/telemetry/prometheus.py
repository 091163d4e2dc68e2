"""Optional Prometheus text exposition of the metrics, on a loopback port.

Off by default (`[metrics] prometheus_port = 0`). Teams that already run Prometheus and
Alertmanager scrape `http://127.0.0.1:PORT/metrics` (through a local agent or an SSH
tunnel); binding only to loopback keeps the engine's numbers off the network without a
firewall rule. The server is a few lines on asyncio's streams: one GET, one answer, no
keep-alive, bounded request size and time, so a misbehaving scraper costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from engine.telemetry.alerts import Alerting
from engine.telemetry.metrics import Metrics

log = logging.getLogger("arbctl.prometheus")

HOST = "127.0.0.1"
REQUEST_TIMEOUT_S = 5.0
MAX_REQUEST_BYTES = 8192
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# (name in the snapshot, help). All gauges: the engine computes the windows itself.
GAUGES = (
    ("trades_per_minute", "Trades booked over the last minute window"),
    ("errors_per_minute", "Failed or reverted trades plus ERROR log records per minute"),
    ("avg_ws_latency_ms", "Mean latency of the active provider over the minute window"),
    ("avg_loop_latency_ms", "Mean event-loop lateness over the last minute"),
    ("guard_triggers_per_minute", "Guard trigger occurrences per minute"),
    ("pnl_change_1min", "Realised P&L over the minute window, quote token base units"),
    ("success_rate", "Share of successful trades over the hour window"),
    ("failed_trades_per_hour", "Failed or reverted trades over the hour window"),
    ("pnl_hourly", "Realised P&L over the hour window, quote token base units"),
    ("gas_price_wei", "Current gas price estimate, wei per gas"),
    ("rpc_response_ms", "Active provider's response time (moving average)"),
    ("seconds_since_trade", "Seconds since the last trade while running"),
)


def exposition(metrics: Metrics, alerting: Alerting) -> str:
    """The whole scrape, in the Prometheus text format (version 0.0.4)."""
    snap = metrics.snapshot()
    return "".join(_lines(snap, alerting)) + "\n"


def _lines(snap: dict[str, Any], alerting: Alerting) -> Iterator[str]:
    for name, text in GAUGES:
        yield from _gauge(name, text, [("", snap.get(name))])
    resources = snap.get("resources") or {}
    for key in ("cpu_percent", "memory_percent", "rss_bytes", "disk_used_percent"):
        yield from _gauge(
            f"process_{key}", f"Engine {key.replace('_', ' ')}", [("", resources.get(key))]
        )
    breaker = str((snap.get("breaker") or {}).get("state", "closed"))
    states = [(f'state="{s}"', 1 if s == breaker else 0) for s in ("closed", "open", "half_open")]
    yield from _gauge("breaker_state", "Circuit breaker state (1 = current)", states)
    yield from _gauge(
        "anomalies_today", "Anomalies flagged since 00:00 UTC", [("", snap["anomalies"]["today"])]
    )
    active = {a["rule"] for a in alerting.book.active()}
    alerts = [
        (f'rule="{r.name}",severity="{r.severity}"', 1 if r.name in active else 0)
        for r in alerting.book.rules
    ]
    yield from _gauge("alert_firing", "Alert rules firing now (1) or not (0)", alerts)


def _gauge(name: str, text: str, samples: list[tuple[str, Any]]) -> Iterator[str]:
    present = [(labels, value) for labels, value in samples if value is not None]
    if not present:
        return
    yield f"# HELP arbctl_{name} {text}\n# TYPE arbctl_{name} gauge\n"
    for labels, value in present:
        label_text = f"{{{labels}}}" if labels else ""
        yield f"arbctl_{name}{label_text} {float(value)!r}\n"


class PrometheusExporter:
    def __init__(self, metrics: Metrics, alerting: Alerting, port: int, host: str = HOST) -> None:
        self._metrics = metrics
        self._alerting = alerting
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        """Bind (port 0: any free port, for tests); returns the bound port."""
        self._server = await asyncio.start_server(
            self._serve_one, self.host, self.port, limit=MAX_REQUEST_BYTES
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("prometheus metrics on http://%s:%d/metrics", self.host, self.port)
        return self.port

    async def run(self) -> None:
        """Forever. A port that cannot be bound is logged, not fatal: trading matters more
        than a scrape target."""
        try:
            await self.start()
        except OSError as exc:
            log.error("prometheus exporter not started on %s:%d: %s", self.host, self.port, exc)
            await asyncio.Event().wait()
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT_S)
            status, body = self._answer(head)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
            status, body = "400 Bad Request", "bad request\n"
        await _reply(writer, status, body)

    def _answer(self, head: bytes) -> tuple[str, str]:
        if len(head) > MAX_REQUEST_BYTES:
            return "400 Bad Request", "request too large\n"
        parts = head.split(b"\r\n", 1)[0].split()
        if len(parts) < 2 or parts[0] != b"GET":
            return "405 Method Not Allowed", "GET /metrics\n"
        if parts[1].split(b"?", 1)[0] not in (b"/metrics", b"/"):
            return "404 Not Found", "GET /metrics\n"
        return "200 OK", exposition(self._metrics, self._alerting)


async def _reply(writer: asyncio.StreamWriter, status: str, body: str) -> None:
    data = body.encode()
    head = (
        f"HTTP/1.0 {status}\r\nContent-Type: {CONTENT_TYPE}\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    )
    with contextlib.suppress(OSError):
        writer.write(head.encode() + data)
        await writer.drain()
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
