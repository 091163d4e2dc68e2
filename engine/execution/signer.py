"""The operator's signing key: loaded once, checked, and never shown.

The key comes from `evm.key_file` (a file holding the hex key, which must not be
readable by group or others: mode 0600 or stricter) or, without a key file, from the
environment variable named by `evm.key_env`. As soon as it is read it is registered
with the log scrubber, so a key that slips into any log line (or a traceback) is masked.

`Signer` is the only object holding it. Its repr/str show the address, it refuses to be
pickled or copied, and no error raised here ever contains the key or the file's content.
All of that is `KeyHolder`, shared with the relay reputation key
(`engine.execution.reputation`): two classes, one key each, kept the same way.
Signing: with `coincurve` installed (a dependency), a plain EIP-1559 call is encoded and
signed by `engine.execution.eip1559` on libsecp256k1 (~0.03 ms, byte-identical to
eth_account); anything else, or a machine without coincurve, is signed by eth_account with
the `eth_keys` key object (`LocalAccount.sign_transaction` would re-derive the public key
on every call, doubling the ~1.8 ms a pure-Python signature costs).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NoReturn, Self

from eth_account import Account
from eth_keys import keys
from eth_keys.datatypes import PrivateKey

from engine.config import EvmSection, key_file_refusal
from engine.execution import eip1559
from engine.execution.errors import ExecutionError
from engine.market.evm.orders import SignedTx
from engine.redaction import register_secret

KEY_BYTES = 32


class KeyLoadError(ExecutionError):
    """The key could not be loaded safely; the message names where, never the key."""


class KeyHolder:
    """One secp256k1 private key, kept for signing and never shown: the base of `Signer`
    and of `ReputationSigner` (separate classes: one key per job, never one for both).

    The key is checked as it is taken (a refusal names nothing of it) and kept twice: as
    an eth_keys key, and as a libsecp256k1 key for the fast path (None without
    coincurve). Subclasses sign through `_private` and `_fast`, add no slots of their own,
    and inherit what keeps the key in: repr/str show the class and the address only, and
    pickling or copying is refused (a copy is a second place the key could leak from).
    """

    __slots__ = ("__fast", "__key", "_address")

    def __init__(self, key: bytes) -> None:
        try:
            private = keys.PrivateKey(key)
        except Exception:
            raise KeyLoadError("not a valid secp256k1 private key") from None
        self.__key = private
        self.__fast = eip1559.load_key(key)
        self._address = private.public_key.to_checksum_address()

    @classmethod
    def loaded(cls, key: bytes, where: str) -> Self:
        """A key just read from `where` (a file, a variable): registered with the log
        scrubber before anything else can print it, then checked; a refusal names `where`."""
        register_secret(key.hex())
        try:
            return cls(key)
        except KeyLoadError as exc:
            raise KeyLoadError(f"{where}: {exc}") from None

    @property
    def address(self) -> str:
        return self._address

    @property
    def _private(self) -> PrivateKey:
        return self.__key

    @property
    def _fast(self) -> eip1559.RecoverableKey | None:
        return self.__fast

    def __repr__(self) -> str:
        return f"{type(self).__name__}(address={self._address})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"a {type(self).__name__} cannot be pickled or copied")


class Signer(KeyHolder):
    """Signs transactions for one address."""

    __slots__ = ()

    @property
    def backend(self) -> str:
        """Which code signs plain EIP-1559 calls: "coincurve" or "eth_account"."""
        return "eth_account" if self._fast is None else "coincurve"

    def sign(self, transaction: dict[str, Any]) -> SignedTx:
        """Sign an EIP-1559 transaction dict (ints, hex data)."""
        fast = self._fast
        fields = None if fast is None else eip1559.payload(transaction)
        if fields is not None and fast is not None:
            return self._sign_fast(fast, fields)
        try:
            signed = Account.sign_transaction(transaction, self._private)
        except Exception as exc:  # eth_account errors name fields, never the key
            raise ValueError(f"cannot sign transaction: {type(exc).__name__}: {exc}") from None
        return SignedTx(raw="0x" + signed.raw_transaction.hex(), hash="0x" + signed.hash.hex())

    @staticmethod
    def _sign_fast(key: eip1559.RecoverableKey, fields: list[Any]) -> SignedTx:
        try:
            raw, tx_hash = eip1559.sign_eip1559(key, fields)
        except Exception as exc:  # names the error type only: never the key or the digest
            raise ValueError(f"cannot sign transaction: {type(exc).__name__}") from None
        return SignedTx(raw="0x" + raw.hex(), hash="0x" + tx_hash.hex())


def load_signer(evm: EvmSection) -> Signer:
    """The key from `evm.key_file`, else from `$evm.key_env`; refuses anything unsafe."""
    if evm.key_file:
        key = read_key_file(Path(evm.key_file).expanduser())
    else:
        key = _key_from_env(evm.key_env)
    return Signer.loaded(key, f"key file {evm.key_file}" if evm.key_file else f"${evm.key_env}")


def read_key_file(path: Path) -> bytes:
    """The key bytes; refuses a file that group or others may access in any way.

    The rule is `engine.config.key_file_refusal`, which `load` applies to `evm.key_file`
    too (so `config validate` says it). It is applied again here, to the file as it is
    read, because load() cannot know that: the mode may have changed since, and the
    devnet and the benchmarks read key files that no config named."""
    refused = key_file_refusal(path)
    if refused is not None:
        raise KeyLoadError(refused[2])
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) else "not ASCII text"
        raise KeyLoadError(f"cannot read key file {path}: {detail}") from None
    return _parse_key(text, f"key file {path}")


def _key_from_env(name: str) -> bytes:
    value = os.environ.get(name, "") if name else ""
    if not value:
        raise KeyLoadError(
            f"no signing key: set evm.key_file (a 0600 file) or the environment variable "
            f"{name or 'named by evm.key_env'}"
        )
    return _parse_key(value, f"environment variable {name}")


def _parse_key(text: str, where: str) -> bytes:
    """32 bytes from hex (0x optional, surrounding whitespace ignored)."""
    bare = text.strip().removeprefix("0x").removeprefix("0X")
    try:
        key = bytes.fromhex(bare)
    except ValueError:
        raise KeyLoadError(f"{where} does not hold a hex private key") from None
    if len(key) != KEY_BYTES:
        raise KeyLoadError(f"{where} does not hold a {KEY_BYTES}-byte private key")
    return key
