"""Async JSON-RPC to one endpoint: HTTP or websocket, batches, timeouts, health.

Plain JSON-RPC rather than web3: web3's contract layer costs ~1.5 ms of Python per
call and ~40 ms per transaction, which the path from a new head to a signed transaction
cannot afford, and the engine needs batches (one round trip for a block's logs and fee
history, a few for thousands of reserves) that are simplest to write by hand.

Two failure kinds, kept apart because callers react differently:
- `NodeRpcError`: the node answered with an error object (a revert, "nonce too low"); the
  provider is fine, the request was wrong or the chain said no.
- `ProviderUnavailable`: no usable answer (refused, timeout, HTTP error, bad JSON); the
  provider is at fault and the health record counts it.
Messages carry the provider's name and its URL with credentials masked, never keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from engine.config import redact_text
from engine.market.errors import MarketError

DEFAULT_TIMEOUT_S = 10.0
WS_OPEN_TIMEOUT_S = 5.0

Call = tuple[str, Sequence[Any]]  # (method, params)


class NodeRpcError(MarketError):
    """The node answered this request with a JSON-RPC error object."""

    def __init__(self, method: str, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{method}: {message} (code {code})")
        self.method = method
        self.code = code
        self.message = message
        self.data = data


class ProviderUnavailable(MarketError):
    """The endpoint gave no usable answer; says which provider and why."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A provider's name and URL, and how it is named in messages (secrets masked)."""

    name: str
    url: str

    @property
    def label(self) -> str:
        return f"provider {self.name} ({redact_text(self.url)})"

    @property
    def is_websocket(self) -> bool:
        return self.url.startswith(("ws://", "wss://"))

    @property
    def websocket_url(self) -> str:
        """The same endpoint over websocket: most nodes (anvil, geth, hosted providers)
        serve both on one URL, so an http URL is tried as ws for `eth_subscribe`."""
        if self.is_websocket:
            return self.url
        return "ws" + self.url.removeprefix("http")


class Outcomes(Protocol):
    """Where a client records how each request went: a provider's health record, or the
    active provider's (`HeadGate`) for a client that follows the failover."""

    def record_ok(self, latency_ms: float | None = None) -> None: ...

    def record_failure(self, error: str, at: float) -> None: ...


class Transport(Protocol):
    async def exchange(self, body: Any, ids: Sequence[int], timeout: float) -> Any: ...

    async def close(self) -> None: ...


class HttpTransport:
    """POSTs over one keep-alive aiohttp session, created lazily inside the running loop."""

    def __init__(self, endpoint: Endpoint) -> None:
        self._endpoint = endpoint
        self._session: aiohttp.ClientSession | None = None

    async def exchange(self, body: Any, ids: Sequence[int], timeout: float) -> Any:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=32, ttl_dns_cache=300),
                headers={"Content-Type": "application/json"},
            )
        data = json.dumps(body).encode()
        try:
            async with self._session.post(
                self._endpoint.url,
                data=data,
                headers=self.headers(data),
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                raw = await response.read()
                if response.status != 200:
                    raise ProviderUnavailable(f"HTTP {response.status} {response.reason}")
        except (aiohttp.ClientError, OSError) as exc:
            raise ProviderUnavailable(_describe(exc)) from None
        except TimeoutError:
            raise ProviderUnavailable(f"timeout after {timeout * 1000:.0f} ms") from None
        return _parse(raw)

    def headers(self, body: bytes) -> dict[str, str] | None:
        """Extra headers for one request's exact body (a bundle relay's signature)."""
        return None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class WsTransport:
    """One websocket: requests matched to replies by id, subscriptions to queues.

    A reader task owns the socket's receive side; when the connection drops, every
    waiting request fails with ProviderUnavailable and every subscription queue gets
    `None`, so the head follower notices at once rather than at its next timeout.
    """

    def __init__(self, endpoint: Endpoint, url: str | None = None) -> None:
        self._endpoint = endpoint
        self._url = url or endpoint.websocket_url
        self._socket: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._subscriptions: dict[str, asyncio.Queue[Any]] = {}
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        async with self._lock:
            if self._socket is not None:
                return
            try:
                self._socket = await connect(
                    self._url, open_timeout=WS_OPEN_TIMEOUT_S, max_size=None, ping_interval=20
                )
            except (OSError, WebSocketException, TimeoutError) as exc:
                raise ProviderUnavailable(f"websocket: {_describe(exc)}") from None
            self._reader = asyncio.create_task(self._read(self._socket), name="evm-ws-reader")

    async def exchange(self, body: Any, ids: Sequence[int], timeout: float) -> Any:
        await self.connect()
        socket = self._socket
        assert socket is not None
        loop = asyncio.get_running_loop()
        futures = {i: loop.create_future() for i in ids}
        self._waiting.update(futures)
        try:
            await socket.send(json.dumps(body))
            async with asyncio.timeout(timeout):
                replies = [await futures[i] for i in ids]
        except TimeoutError:
            raise ProviderUnavailable(f"timeout after {timeout * 1000:.0f} ms") from None
        except (OSError, WebSocketException) as exc:
            raise ProviderUnavailable(f"websocket: {_describe(exc)}") from None
        finally:
            for i in ids:
                self._waiting.pop(i, None)
        return replies if isinstance(body, list) else replies[0]

    def subscription(self, subscription_id: str) -> asyncio.Queue[Any]:
        """Notifications of one `eth_subscribe` id; `None` once the connection is gone."""
        return self._subscriptions.setdefault(subscription_id, asyncio.Queue())

    async def _read(self, socket: ClientConnection) -> None:
        error = "connection closed"
        try:
            async for message in socket:
                decoded = json.loads(message)
                for item in decoded if isinstance(decoded, list) else [decoded]:
                    self._dispatch(item)
        except (OSError, WebSocketException, ValueError) as exc:
            error = _describe(exc)
        finally:
            self._lost(socket, error)

    def _dispatch(self, item: dict[str, Any]) -> None:
        if item.get("method") == "eth_subscription":
            params = item.get("params", {})
            self.subscription(str(params.get("subscription"))).put_nowait(params.get("result"))
            return
        future = self._waiting.get(item.get("id"))  # type: ignore[arg-type]
        if future is not None and not future.done():
            future.set_result(item)

    def _lost(self, socket: ClientConnection, error: str) -> None:
        if self._socket is socket:
            self._socket = None
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(ProviderUnavailable(f"websocket: {error}"))
        for queue in self._subscriptions.values():
            queue.put_nowait(None)
        self._subscriptions.clear()

    async def close(self) -> None:
        socket, self._socket = self._socket, None
        if socket is not None:
            with contextlib.suppress(Exception):
                await socket.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None


class RpcClient:
    """JSON-RPC requests to one provider, each folded into its health record."""

    _ids = itertools.count(1)  # process-wide: ids stay unique across transports

    def __init__(
        self,
        endpoint: Endpoint,
        health: Outcomes,
        transport: Transport | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._endpoint = endpoint
        self._health = health
        self._timeout = timeout
        if transport is None:
            ws = endpoint.is_websocket
            transport = WsTransport(endpoint) if ws else HttpTransport(endpoint)
        self._transport = transport

    # read-only, so RoutedClient (the active provider's) can answer them per request
    @property
    def endpoint(self) -> Endpoint:
        return self._endpoint

    @property
    def health(self) -> Outcomes:
        return self._health

    @property
    def timeout(self) -> float:
        return self._timeout

    @property
    def transport(self) -> Transport:
        return self._transport

    async def call(
        self, method: str, params: Sequence[Any] = (), timeout: float | None = None
    ) -> Any:
        """One request; raises NodeRpcError on an error reply, ProviderUnavailable on no reply."""
        request_id = next(self._ids)
        body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)}
        reply = await self._exchange(body, [request_id], timeout)
        return _result(method, reply)

    async def batch(
        self, calls: Sequence[Call], timeout: float | None = None
    ) -> list[Any | NodeRpcError]:
        """Many requests in one round trip; each result is a value or its NodeRpcError, so one
        reverted eth_call does not hide the others' answers."""
        if not calls:
            return []
        ids = [next(self._ids) for _ in calls]
        body = [
            {"jsonrpc": "2.0", "id": i, "method": method, "params": list(params)}
            for i, (method, params) in zip(ids, calls, strict=True)
        ]
        replies = await self._exchange(body, ids, timeout)
        if not isinstance(replies, list):
            raise self._unavailable(f"batch of {len(calls)} answered with {_short(replies)}")
        by_id = {reply.get("id"): reply for reply in replies if isinstance(reply, dict)}
        missing = {"error": {"code": -32603, "message": "no reply in batch"}}
        return [
            _result_or_error(method, by_id.get(i, missing))
            for i, (method, _) in zip(ids, calls, strict=True)
        ]

    async def batch_strict(self, calls: Sequence[Call], timeout: float | None = None) -> list[Any]:
        """A batch where any error reply is an error of the whole."""
        results = await self.batch(calls, timeout)
        for result in results:
            if isinstance(result, NodeRpcError):
                raise result
        return results

    async def batch_chunked(
        self, calls: Sequence[Call], chunk: int = 500, parallel: int = 8
    ) -> list[Any | NodeRpcError]:
        """Thousands of calls as several concurrent batches (nodes cap batch sizes)."""
        parts = [calls[i : i + chunk] for i in range(0, len(calls), chunk)]
        limit = asyncio.Semaphore(parallel)

        async def one(part: Sequence[Call]) -> list[Any | NodeRpcError]:
            async with limit:
                return await self.batch(part, timeout=max(self.timeout, 30.0))

        results: list[Any | NodeRpcError] = []
        for done in await asyncio.gather(*(one(part) for part in parts)):
            results.extend(done)
        return results

    async def close(self) -> None:
        await self._transport.close()

    async def _exchange(self, body: Any, ids: Sequence[int], timeout: float | None) -> Any:
        started = time.perf_counter()
        try:
            reply = await self._transport.exchange(body, ids, timeout or self.timeout)
        except ProviderUnavailable as exc:
            raise self._unavailable(str(exc)) from None
        self.health.record_ok((time.perf_counter() - started) * 1000)
        return reply

    def _unavailable(self, problem: str) -> ProviderUnavailable:
        self.health.record_failure(problem, time.time())
        return ProviderUnavailable(f"{self.endpoint.label}: {problem}")


def _result(method: str, reply: Any) -> Any:
    value = _result_or_error(method, reply)
    if isinstance(value, NodeRpcError):
        raise value
    return value


def _result_or_error(method: str, reply: Any) -> Any:
    if not isinstance(reply, dict):
        return NodeRpcError(method, -32603, f"malformed reply {_short(reply)}")
    error = reply.get("error")
    if error is None:
        return reply.get("result")
    if not isinstance(error, dict):
        return NodeRpcError(method, -32603, str(error))
    return NodeRpcError(
        method, int(error.get("code", -32603)), str(error.get("message", "")), error.get("data")
    )


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise ProviderUnavailable(f"not JSON: {_short(raw[:80])}") from None


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return redact_text(text)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
