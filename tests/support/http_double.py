"""The HTTP side of the JSON-RPC test doubles (`RecordingProxy`, `BuilderDouble`).

Each double is a real aiohttp server on 127.0.0.1 (a free port, so doubles never collide
between parallel tests) that answers `POST /` with its `_handle`, plus one client session
to the anvil behind it. Starting, stopping and the session are the same for every
double and live here once; what a double does with a request is its own.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

import aiohttp
from aiohttp import web


class LocalHttpDouble:
    """Serves `POST /` on 127.0.0.1 at `url` once started; `close` stops it.

    Use as `await Double(...).start()` (then `await close()`), or `async with Double(...)`.
    """

    url: str = ""
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None

    async def start(self) -> Self:
        app = web.Application()
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        self._session = aiohttp.ClientSession()
        return self

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def _handle(self, request: web.Request) -> web.Response:
        raise NotImplementedError

    @property
    def session(self) -> aiohttp.ClientSession:
        """The client session to the upstream (open between start and close)."""
        assert self._session is not None, "start the double first"
        return self._session
