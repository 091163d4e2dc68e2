"""Optional Prometheus text exposition of the metrics, on a loopback port.

Off by default (`[metrics] prometheus_port = 0`). Teams that already run Prometheus and
Alertmanager scrape `http://127.0.0.1:PORT/metrics` (through a local agent or an SSH
tunnel); binding only to loopback keeps the engine's numbers off the network without a
firewall rule. What is served is `engine.telemetry.series` (prometheus-client's own
exposition of one engine's registry). The server is a few lines on asyncio's streams:
one GET, one answer, no keep-alive, bounded request size and time, so a misbehaving
scraper costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from prometheus_client import generate_latest

from engine.telemetry.series import Series

log = logging.getLogger("arbctl.prometheus")

HOST = "127.0.0.1"
REQUEST_TIMEOUT_S = 5.0
MAX_REQUEST_BYTES = 8192
# The text format 0.0.4 is what `generate_latest` writes (and every Prometheus reads).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def exposition(series: Series) -> str:
    """The whole scrape, in the Prometheus text format (version 0.0.4)."""
    return generate_latest(series.registry).decode()


class PrometheusExporter:
    def __init__(self, series: Series, port: int, host: str = HOST) -> None:
        self._series = series
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
        return "200 OK", exposition(self._series)


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
