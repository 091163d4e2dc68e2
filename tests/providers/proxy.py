"""A fault-injecting JSON-RPC proxy in front of anvil, for provider tests: real sockets.

Each `FaultProxy` listens on 127.0.0.1 and forwards HTTP JSON-RPC to anvil. Its
`faults` can be changed at any moment from the test and apply to the next request:

- `latency_s`: every answer waits this long first;
- `reset`: every request is answered by a TCP reset (RST), like a crashed load balancer;
- `flap_every`: every Nth request is reset, the rest are served (a flapping endpoint);
- `stall`: requests are read and never answered (an accepted connection that hangs);
- `stale_block`: the endpoint is stuck at that block: `latest`/`pending` in any call is
  rewritten to it and `eth_blockNumber` answers it, so its whole view is old and
  self-consistent (a node that stopped importing blocks, or a lagging replica);
- `chain_id`: `eth_chainId` / `net_version` answer another chain.

Websocket upgrades are refused (HTTP 400), so the engine polls heads through the proxy
and every head passes the faults. The proxies run on a loop of their own in a thread
(`ProxyLoop`), so tests can block (subprocesses, urllib) while an engine uses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

T = TypeVar("T")
TAGS = ("latest", "pending")


@dataclass
class Faults:
    latency_s: float = 0.0
    reset: bool = False
    flap_every: int = 0
    stall: bool = False
    stale_block: int | None = None
    chain_id: int | None = None

    def clear(self) -> None:
        for name, value in vars(Faults()).items():
            setattr(self, name, value)


class FaultProxy:
    def __init__(self, target: str) -> None:
        self.target = target
        self.faults = Faults()
        self.requests = 0  # HTTP JSON-RPC requests that reached the proxy
        self.methods: Counter[str] = Counter()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._session: aiohttp.ClientSession | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._released = asyncio.Event()  # set at close: stalled requests give up

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self._released.set()
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()  # handlers end on their own (cancelling them is noisy)
        if self._handlers:
            await asyncio.wait(set(self._handlers), timeout=5.0)
        if self._session is not None:
            await self._session.close()

    # --- one connection ---------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._handlers.discard(task)
            self._writers.discard(writer)
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False when the connection is done."""
        head = await reader.readuntil(b"\r\n\r\n")
        headers = _headers(head)
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("upgrade", "").lower() == "websocket":
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return False
        self.requests += 1
        faults = self.faults
        if faults.reset or (faults.flap_every and self.requests % faults.flap_every == 0):
            _reset(writer)
            return False
        if faults.stall:
            await self._released.wait()
            return False
        await asyncio.sleep(faults.latency_s)
        answer = await self._forward(json.loads(body))
        payload = json.dumps(answer).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        await writer.drain()
        return True

    async def _forward(self, request: Any) -> Any:
        calls = request if isinstance(request, list) else [request]
        for call in calls:
            self.methods[str(call.get("method"))] += 1
            self._rewrite_call(call)
        assert self._session is not None
        async with self._session.post(self.target, json=request) as response:
            answer = await response.json(content_type=None)
        replies = answer if isinstance(answer, list) else [answer]
        by_id = {c.get("id"): c for c in calls}
        for reply in replies:
            self._rewrite_reply(by_id.get(reply.get("id"), {}), reply)
        return answer

    def _rewrite_call(self, call: dict[str, Any]) -> None:
        stale = self.faults.stale_block
        if stale is None:
            return
        params = call.get("params") or []
        call["params"] = [hex(stale) if p in TAGS else p for p in params]

    def _rewrite_reply(self, call: dict[str, Any], reply: dict[str, Any]) -> None:
        method, faults = call.get("method"), self.faults
        if "result" not in reply:
            return
        if method == "eth_blockNumber" and faults.stale_block is not None:
            reply["result"] = hex(faults.stale_block)
        if method == "eth_chainId" and faults.chain_id is not None:
            reply["result"] = hex(faults.chain_id)
        if method == "net_version" and faults.chain_id is not None:
            reply["result"] = str(faults.chain_id)


def _headers(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    pairs = (line.split(":", 1) for line in lines if ":" in line)
    return {name.strip().lower(): value.strip() for name, value in pairs}


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST, not FIN: the client sees 'connection reset by peer'."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class ProxyLoop:
    """An event loop in a daemon thread that runs the proxies."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.proxies: list[FaultProxy] = []

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def proxy(self, target: str) -> FaultProxy:
        async def make() -> FaultProxy:
            proxy = FaultProxy(target)
            await proxy.start()
            return proxy

        made = self.run(make())
        self.proxies.append(made)
        return made

    def close(self) -> None:
        for proxy in self.proxies:
            self.run(proxy.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()
