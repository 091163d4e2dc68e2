"""The libsecp256k1 signer (coincurve) produces exactly eth_account's bytes, only faster.

The reference is eth_account signing with eth_keys' pure-Python backend, forced here so
the comparison holds even where eth_keys would itself pick coincurve. Keys and transactions
are random (seeded), with the edge values that change an RLP encoding: zero, one byte below
0x80, 55/56-byte strings, 2**256 - 1.
"""

from __future__ import annotations

import importlib.util
import random
from typing import Any

import pytest
from eth_account import Account
from eth_keys import keys
from eth_keys.backends import NativeECCBackend

from engine.execution import eip1559
from engine.execution.signer import Signer

needs_coincurve = pytest.mark.skipif(
    importlib.util.find_spec("coincurve") is None, reason="coincurve is not installed"
)

N = 1 << 256
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
EDGES = (0, 1, 0x7F, 0x80, 0xFF, 0x100, 2**64 - 1, N - 1)


def _reference(key: bytes, tx: dict[str, Any]) -> tuple[str, str]:
    private = keys.PrivateKey(key, backend=NativeECCBackend())
    signed = Account.sign_transaction(tx, private)
    return "0x" + signed.raw_transaction.hex(), "0x" + signed.hash.hex()


def _number(rng: random.Random, bits: int) -> int:
    return rng.choice(EDGES) if rng.random() < 0.2 else rng.getrandbits(rng.randint(1, bits))


def _random_tx(rng: random.Random) -> dict[str, Any]:
    address = "0x" + rng.randbytes(20).hex()
    return {
        "type": 2,
        "chainId": rng.choice((1, 8453, 31337, _number(rng, 64) or 1)),
        "nonce": _number(rng, 63) % 2**64,
        "to": rng.choice((_checksum(address), bytes.fromhex(address[2:]))),
        "value": _number(rng, 256),
        "gas": _number(rng, 63) % 2**64,
        "maxFeePerGas": _number(rng, 256),
        "maxPriorityFeePerGas": _number(rng, 256),
        "data": "0x" + rng.randbytes(rng.choice((0, 1, 4, 54, 55, 56, 68, 300, 2000))).hex(),
    }


def _checksum(address: str) -> str:
    from eth_utils import to_checksum_address

    return str(to_checksum_address(address))


@needs_coincurve
def test_the_fast_signer_produces_eth_accounts_bytes_for_random_keys_and_transactions() -> None:
    rng = random.Random(1559)
    for _ in range(400):
        key = rng.randbytes(32)
        if not 0 < int.from_bytes(key, "big") < SECP256K1_N:
            continue
        tx = _random_tx(rng)
        kind = rng.choice((2, "0x2", None))  # eth_account infers type 2 from the fee fields
        tx = {k: v for k, v in tx.items() if k != "type"} if kind is None else {**tx, "type": kind}
        signer = Signer(key)
        assert signer.backend == "coincurve"
        assert eip1559.payload(tx) is not None
        signed = signer.sign(tx)
        assert (signed.raw, signed.hash) == _reference(key, tx), tx


@needs_coincurve
def test_a_one_byte_data_below_0x80_and_empty_data_encode_like_eth_account() -> None:
    key = bytes(range(1, 33))
    for data in ("0x", "0x00", "0x7f", "0x80", b"\x01"):
        tx = {**_random_tx(random.Random(7)), "data": data}
        signed = Signer(key).sign(tx)
        assert (signed.raw, signed.hash) == _reference(key, tx)


@pytest.mark.parametrize(
    "change",
    [
        {"accessList": [{"address": "0x" + "11" * 20, "storageKeys": []}]},
        {"to": None},
        {"type": 0, "gasPrice": 1},
        {"to": "0x" + "aB" * 20},  # mixed case with a wrong checksum
        {"to": "0x" + "ab" * 20},  # eth_account refuses an address without its checksum
        {"value": -1},
        {"maxFeePerGas": N},
    ],
    ids=["access list", "creation", "legacy", "bad checksum", "lower case", "negative", "overflow"],
)
def test_anything_but_a_plain_eip1559_call_is_left_to_eth_account(change: dict[str, Any]) -> None:
    tx = {**_random_tx(random.Random(3)), **change}
    if "gasPrice" in tx:
        tx = {k: v for k, v in tx.items() if not k.startswith("max")}
    assert eip1559.payload(tx) is None
    key = bytes(range(1, 33))
    try:
        expected: Any = _reference(key, tx)
    except Exception as exc:
        expected = type(exc)
    try:
        signed = Signer(key).sign(tx)
        got: Any = (signed.raw, signed.hash)
    except ValueError:
        got = ValueError
    if isinstance(expected, type):
        assert got is ValueError
    else:
        assert got == expected


def test_without_coincurve_the_signer_falls_back_to_eth_account(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(eip1559, "load_key", lambda secret: None)
    key = bytes(range(1, 33))
    tx = _random_tx(random.Random(11))
    signer = Signer(key)
    assert signer.backend == "eth_account"
    signed = signer.sign(tx)
    assert (signed.raw, signed.hash) == _reference(key, tx)


def test_a_signing_failure_names_neither_the_key_nor_its_hex() -> None:
    key = bytes(range(1, 33))
    signer = Signer(key)
    for bad in ({**_random_tx(random.Random(5)), "nonce": "x"}, {"type": 2}):
        with pytest.raises(ValueError) as caught:
            signer.sign(bad)
        assert key.hex() not in str(caught.value)
    assert key.hex() not in repr(signer)
