"""A bundle relay's JSON-RPC: `eth_sendBundle`, `eth_cancelBundle`, `eth_callBundle`.

The Flashbots relay API, which most builders copy: every request carries the header
`X-Flashbots-Signature: <address>:<signature>`, the signature an EIP-191 personal_sign of
the hex keccak256 of the exact body bytes, by the searcher's reputation key. The key is
injected (`RelayAuth`): key handling lives in engine/execution/reputation.py, and the
market layer never imports execution code. The header is computed from the bytes the
transport posts (`HttpTransport.headers`), so the body signed is the body sent.

A bundle is valid for one block (`blockNumber`); re-sending it with the same
`replacementUuid` for the next block replaces it, and `eth_cancelBundle` with that uuid
withdraws it. `builders` names the builders the relay forwards it to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from engine.market.evm.rpc import DEFAULT_TIMEOUT_S, Endpoint, HttpTransport, Outcomes, RpcClient

SIGNATURE_HEADER = "X-Flashbots-Signature"


class RelayAuth(Protocol):
    """Signs relay requests; never exposes its key."""

    @property
    def address(self) -> str: ...

    def header(self, body: bytes) -> str: ...


class SignedTransport(HttpTransport):
    """HTTP POSTs that carry the relay signature of their own body."""

    def __init__(self, endpoint: Endpoint, auth: RelayAuth) -> None:
        super().__init__(endpoint)
        self._auth = auth

    def headers(self, body: bytes) -> dict[str, str]:
        return {SIGNATURE_HEADER: self._auth.header(body)}


@dataclass(frozen=True, slots=True)
class BundleSimulation:
    """What `eth_callBundle` said of a bundle: empty `error` when every tx succeeds."""

    error: str
    gas_used: int


class RelayClient:
    """One relay or builder endpoint speaking the bundle API."""

    def __init__(
        self,
        endpoint: Endpoint,
        health: Outcomes,
        auth: RelayAuth,
        builders: Sequence[str] = (),
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.rpc = RpcClient(endpoint, health, SignedTransport(endpoint, auth), timeout)
        self._builders = list(builders)

    async def send_bundle(self, txs: Sequence[str], block: int, uuid: str) -> Any:
        bundle: dict[str, Any] = {
            "txs": list(txs),
            "blockNumber": hex(block),
            "replacementUuid": uuid,
        }
        if self._builders:
            bundle["builders"] = self._builders
        return await self.rpc.call("eth_sendBundle", [bundle])

    async def cancel_bundle(self, uuid: str) -> Any:
        return await self.rpc.call("eth_cancelBundle", [{"replacementUuid": uuid}])

    async def call_bundle(self, txs: Sequence[str], block: int) -> BundleSimulation:
        params = {"txs": list(txs), "blockNumber": hex(block), "stateBlockNumber": "latest"}
        result = await self.rpc.call("eth_callBundle", [params])
        return simulation(result)

    async def close(self) -> None:
        await self.rpc.close()


def simulation(result: Any) -> BundleSimulation:
    """The first failing transaction's error (Flashbots: `error` or `revert` per result)."""
    rows = result.get("results", []) if isinstance(result, dict) else []
    gas = 0
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        gas += int(row.get("gasUsed") or 0)
        failure = row.get("error") or row.get("revert")
        if failure:
            return BundleSimulation(f"{row.get('txHash', '?')}: {failure}", gas)
    return BundleSimulation("", gas)
