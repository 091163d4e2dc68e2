"""A block builder test double: stands in for an external bundle relay/builder service.

No builder runs on these machines, so the bundle tests stand this one up in front of the
session's anvil (automine off). It is a test double, documented as such: it speaks the
part of the Flashbots relay API the engine uses, over real HTTP, and builds real blocks
on anvil; the engine's client code (engine/market/evm/bundles.py, routes.py) is the real
one and cannot tell it from a relay.

- Every request must carry `X-Flashbots-Signature: <address>:<signature>`, the signature
  an EIP-191 personal_sign of "0x" + keccak256(body) by `address`; otherwise HTTP 403
  and nothing recorded. The signers seen are kept (`signers`).
- `eth_sendBundle {txs, blockNumber, replacementUuid, builders}`: kept under its uuid;
  a later bundle with the same uuid replaces it (re-targeting). Answers a bundle hash.
- `eth_cancelBundle {replacementUuid}`: the bundle is withdrawn; never built after.
- `eth_callBundle {txs, blockNumber, stateBlockNumber}`: the txs run in sequence on the
  latest state (anvil's eth_simulateV1); per-tx results with `error` for a revert.
- `build_block()`: the test says when a block is built. The bundles targeting the next
  block (not cancelled) are put in the pool and the block mined with `evm_mine`; a bundle
  any of whose transactions is refused, reverts or is missing from the block is not in
  the block at all: the chain is reverted to the snapshot taken before and the block built
  again without it. `include=False` builds an empty block (a block the bundle lost).

Every bundle event is logged with its wall time (`events`) so a test can say what was
built after a moment (the kill's acknowledgement).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import rlp
from aiohttp import web
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_hash.auto import keccak

from tests.support.http_double import LocalHttpDouble

HEADER = "X-Flashbots-Signature"


class UpstreamError(Exception):
    pass


@dataclass
class Bundle:
    uuid: str
    txs: list[str]
    block: int
    builders: list[str]
    signer: str
    cancelled: bool = False


@dataclass
class BuiltBlock:
    number: int
    at: float
    included: list[str]  # uuids
    tx_hashes: list[str]


@dataclass
class BuilderDouble(LocalHttpDouble):
    anvil_url: str
    bundles: dict[str, Bundle] = field(default_factory=dict)
    signers: set[str] = field(default_factory=set)
    refused_signatures: int = 0
    events: list[tuple[float, str, str]] = field(default_factory=list)  # (at, what, uuid)
    blocks: list[BuiltBlock] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    # --- the relay API ----------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        signer = _verified_signer(request.headers.get(HEADER, ""), body)
        if signer is None:
            self.refused_signatures += 1
            return web.json_response({"error": "invalid X-Flashbots-Signature"}, status=403)
        self.signers.add(signer)
        call = json.loads(body)
        method, params = str(call.get("method")), list(call.get("params") or [])
        self.methods.append(method)
        handler = {
            "eth_sendBundle": self._send_bundle,
            "eth_cancelBundle": self._cancel_bundle,
            "eth_callBundle": self._call_bundle,
        }.get(method)
        if handler is None:
            error = {"code": -32601, "message": f"method {method} not found"}
            return web.json_response({"jsonrpc": "2.0", "id": call.get("id"), "error": error})
        result = await handler(params[0], signer)
        return web.json_response({"jsonrpc": "2.0", "id": call.get("id"), "result": result})

    async def _send_bundle(self, bundle: dict[str, Any], signer: str) -> dict[str, str]:
        uuid = str(bundle["replacementUuid"])
        previous = self.bundles.get(uuid)
        kept = Bundle(
            uuid,
            list(bundle["txs"]),
            int(bundle["blockNumber"], 16),
            list(bundle.get("builders") or []),
            signer,
            cancelled=previous is not None and previous.cancelled,
        )
        self.bundles[uuid] = kept
        self.events.append((time.time(), f"send {kept.block}", uuid))
        hashes = b"".join(keccak(bytes.fromhex(tx[2:])) for tx in kept.txs)
        return {"bundleHash": "0x" + keccak(hashes).hex()}

    async def _cancel_bundle(self, params: dict[str, Any], signer: str) -> None:
        uuid = str(params["replacementUuid"])
        self.events.append((time.time(), "cancel", uuid))
        if uuid in self.bundles:
            self.bundles[uuid].cancelled = True
        else:  # a cancel that overtook its bundle still wins
            self.bundles[uuid] = Bundle(uuid, [], -1, [], signer, cancelled=True)

    async def _call_bundle(self, params: dict[str, Any], signer: str) -> dict[str, Any]:
        calls = [_as_call(tx) for tx in params["txs"]]
        simulated = await self._rpc(
            "eth_simulateV1", [{"blockStateCalls": [{"calls": calls}]}, "latest"]
        )
        results = []
        for tx, result in zip(params["txs"], simulated[0]["calls"], strict=True):
            row: dict[str, Any] = {
                "txHash": "0x" + keccak(bytes.fromhex(tx[2:])).hex(),
                "gasUsed": int(result.get("gasUsed") or "0x0", 16),
            }
            if result.get("status") != "0x1":
                row["error"] = "execution reverted"
                row["revert"] = str(result.get("returnData") or "0x")
            results.append(row)
        return {"results": results, "stateBlockNumber": params.get("stateBlockNumber")}

    # --- building blocks ----------------------------------------------------------------------
    async def build_block(self, include: bool = True) -> BuiltBlock:
        """Mine the next block with every live bundle targeting it, each whole or not at all."""
        async with self._lock:
            number = int(await self._rpc("eth_blockNumber"), 16) + 1
            live = [b for b in self.bundles.values() if b.block == number and not b.cancelled]
            candidates = live if include else []
            while True:
                snapshot = await self._rpc("evm_snapshot")
                sent = {b.uuid: await self._put(b) for b in candidates}
                await self._rpc("evm_mine")
                failed = [b for b in candidates if not await self._mined(sent[b.uuid], number)]
                if not failed:
                    break
                await self._rpc("evm_revert", [snapshot])
                await self._rpc("anvil_dropAllTransactions")
                candidates = [b for b in candidates if b not in failed]
            hashes = [h for b in candidates for h in sent[b.uuid] or []]
            built = BuiltBlock(number, time.time(), [b.uuid for b in candidates], hashes)
            self.blocks.append(built)
            for bundle in candidates:
                self.events.append((built.at, f"included {number}", bundle.uuid))
            return built

    async def _put(self, bundle: Bundle) -> list[str] | None:
        """The bundle's transactions in the pool; None if any was refused."""
        hashes = []
        for raw in bundle.txs:
            try:
                hashes.append(await self._rpc("eth_sendRawTransaction", [raw]))
            except UpstreamError:
                return None
        return hashes

    async def _mined(self, hashes: list[str] | None, number: int) -> bool:
        if hashes is None:
            return False
        for tx_hash in hashes:
            receipt = await self._rpc("eth_getTransactionReceipt", [tx_hash])
            if receipt is None or receipt.get("status") != "0x1":
                return False
            if int(receipt["blockNumber"], 16) != number:
                return False
        return True

    def included_after(self, moment: float) -> list[str]:
        """Uuids of bundles built into a block after `moment` (wall time)."""
        return [u for b in self.blocks if b.at > moment for u in b.included]

    async def _rpc(self, method: str, params: list[Any] | None = None) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
        async with self.session.post(self.anvil_url, json=body) as response:
            reply = await response.json()
        if "error" in reply:
            raise UpstreamError(f"{method}: {reply['error']}")
        return reply["result"]


def _verified_signer(header: str, body: bytes) -> str | None:
    """The header's address if its signature is that address's personal_sign of the
    body's hex keccak256; None otherwise."""
    address, _, signature = header.partition(":")
    if not address or not signature:
        return None
    text = "0x" + keccak(body).hex()
    try:
        recovered = Account.recover_message(encode_defunct(text=text), signature=signature)
    except Exception:
        return None
    return recovered if recovered.lower() == address.lower() else None


def _as_call(raw: str) -> dict[str, Any]:
    """A signed EIP-1559 transaction as an eth_simulateV1 call (sender recovered)."""
    payload = bytes.fromhex(raw[2:])
    fields = rlp.decode(payload[1:])
    _chain, _nonce, tip, max_fee, gas, to, value, data = fields[:8]
    return {
        "from": Account.recover_transaction(raw),
        "to": "0x" + to.hex(),
        "gas": hex(int.from_bytes(gas, "big")),
        "maxFeePerGas": hex(int.from_bytes(max_fee, "big")),
        "maxPriorityFeePerGas": hex(int.from_bytes(tip, "big")),
        "value": hex(int.from_bytes(value, "big")),
        "input": "0x" + data.hex(),
    }
