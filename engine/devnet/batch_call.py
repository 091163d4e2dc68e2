"""Many contract calls (or unlocked-account transactions) in one JSON-RPC batch.

web3's contract layer spends about 1.5 ms of Python per call on ABI lookup and
formatting, and ~40 ms per transaction on defaults and gas estimation; checking thousands
of router quotes, or funding a few accounts, would spend seconds on bookkeeping. Encoding
with eth_abi and posting one batch costs ~50 µs a call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector

from engine.devnet.anvil import rpc_batch


@dataclass(frozen=True, slots=True)
class Call:
    to: str
    signature: str  # canonical, e.g. "getAmountsOut(uint256,address[])"
    args: tuple[Any, ...]
    returns: tuple[str, ...]  # ABI types of the outputs, e.g. ("uint256[]",)

    def payload(self) -> tuple[str, list[Any]]:
        data = calldata(self.signature, self.args)
        return "eth_call", [{"to": self.to, "data": data}, "latest"]


@dataclass(frozen=True, slots=True)
class Send:
    """A transaction from one of anvil's unlocked accounts."""

    sender: str
    to: str
    signature: str
    args: tuple[Any, ...] = ()
    value: int = 0
    gas: int = 200_000  # explicit: no estimate round trip

    def payload(self) -> tuple[str, list[Any]]:
        tx = {
            "from": self.sender,
            "to": self.to,
            "data": calldata(self.signature, self.args),
            "value": hex(self.value),
            "gas": hex(self.gas),
        }
        return "eth_sendTransaction", [tx]


def calldata(signature: str, args: tuple[Any, ...]) -> str:
    """0x-hex selector and ABI-encoded arguments for a canonical signature."""
    types = _split_types(signature[signature.index("(") + 1 : -1])
    selector = function_signature_to_4byte_selector(signature)
    return "0x" + (selector + encode(types, list(args))).hex()


def call_many(url: str, calls: list[Call], chunk: int = 2_000) -> list[tuple[Any, ...]]:
    """Decoded outputs of `calls`, in order; a revert anywhere raises AnvilError."""
    results: list[tuple[Any, ...]] = []
    for start in range(0, len(calls), chunk):
        part = calls[start : start + chunk]
        raw = rpc_batch(url, [call.payload() for call in part], timeout=60.0)
        results.extend(
            decode(list(call.returns), bytes.fromhex(out[2:]))
            for call, out in zip(part, raw, strict=True)
        )
    return results


def send_many(url: str, sends: list[Send]) -> list[bool]:
    """Send all (automine mines each, in order); which of them succeeded, by receipt."""
    hashes = rpc_batch(url, [send.payload() for send in sends], timeout=60.0)
    receipts = rpc_batch(url, [("eth_getTransactionReceipt", [h]) for h in hashes], timeout=60.0)
    return [_succeeded(receipt) for receipt in receipts]


def _succeeded(receipt: dict[str, Any] | None) -> bool:
    return receipt is not None and receipt.get("status") == "0x1"


def _split_types(inputs: str) -> list[str]:
    """Top-level comma split (tuples are not needed by our callers, so no nesting)."""
    return [part for part in inputs.split(",") if part]
