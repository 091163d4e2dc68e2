"""A recording JSON-RPC proxy: stands between the engine and anvil and remembers every call.

Test double for the network path to an endpoint, not for the node: every request body is
forwarded unchanged to the real upstream (anvil) and its answer returned unchanged, so
the engine talks to a real node; the proxy only records which methods (and parameters)
reached *this* endpoint. Two proxies in front of one anvil stand for a public RPC and a
private one: the chain is the same, so a transaction sent privately is mined and its
receipt read publicly, and the public proxy's record proves whether the public endpoint
was ever handed the transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.http_double import LocalHttpDouble


@dataclass
class RecordingProxy(LocalHttpDouble):
    upstream: str
    calls: list[tuple[str, list[Any]]] = field(default_factory=list)

    def methods(self) -> list[str]:
        return [method for method, _ in self.calls]

    def sent_raw(self) -> list[str]:
        """Every raw transaction handed to this endpoint."""
        return [str(p[0]) for m, p in self.calls if m == "eth_sendRawTransaction"]

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        decoded = json.loads(body)
        for item in decoded if isinstance(decoded, list) else [decoded]:
            self.calls.append((str(item.get("method")), list(item.get("params") or [])))
        async with self.session.post(
            self.upstream, data=body, headers={"Content-Type": "application/json"}
        ) as upstream:
            answer = await upstream.read()
        return web.Response(body=answer, content_type="application/json")
