"""The relay reputation key: signs bundle relay requests, and nothing else.

Bundle relays (Flashbots and the builders that copy its API) identify a searcher by the
`X-Flashbots-Signature: <address>:<signature>` header, where the signature is an EIP-191
`personal_sign` of the text of the request body's keccak256 hash ("0x" + 64 hex digits).
That identity earns a reputation; it holds no funds and must never be the trading key:
a relay (or anyone reading its logs) learns this key's signatures on every request, and
a leak of it must not cost a wei. So it lives in its own file (`evm.reputation_key_file`,
mode 0600, the same rule as the trading key's), and the engine refuses to start when it is
the trading key itself. Like the trading key, it is registered with the log scrubber as
soon as it is read, and `ReputationSigner` shows only its address.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_hash.auto import keccak
from eth_keys import keys

from engine.config import EvmSection
from engine.execution import eip1559
from engine.execution.signer import KeyLoadError, read_key_file
from engine.redaction import register_secret

EIP191_PREFIX = b"\x19Ethereum Signed Message:\n"


class ReputationSigner:
    """Signs relay request bodies for one address (the searcher's reputation identity)."""

    __slots__ = ("__fast", "__key", "_address")

    def __init__(self, key: bytes) -> None:
        try:
            private = keys.PrivateKey(key)
        except Exception:
            raise KeyLoadError("not a valid secp256k1 private key") from None
        self.__key = private
        self.__fast = eip1559.load_key(key)
        self._address = private.public_key.to_checksum_address()

    @property
    def address(self) -> str:
        return self._address

    def header(self, body: bytes) -> str:
        """The X-Flashbots-Signature value for this exact request body."""
        return f"{self._address}:{self.sign_text('0x' + keccak(body).hex())}"

    def sign_text(self, text: str) -> str:
        """EIP-191 personal_sign of `text`: 0x + r ‖ s ‖ v (v = 27 or 28)."""
        message = text.encode()
        if self.__fast is not None:
            digest = keccak(EIP191_PREFIX + str(len(message)).encode() + message)
            signature = self.__fast.sign_recoverable(digest, hasher=None)
            return "0x" + (signature[:64] + bytes([signature[64] + 27])).hex()
        signed = Account.sign_message(encode_defunct(text=text), self.__key)
        return "0x" + bytes(signed.signature).hex()

    def __repr__(self) -> str:
        return f"ReputationSigner(address={self._address})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a ReputationSigner cannot be pickled or copied")


def load_reputation_signer(evm: EvmSection, trading_address: str) -> ReputationSigner:
    """The key from `evm.reputation_key_file` (0600); refused if it is the trading key."""
    if not evm.reputation_key_file:
        raise KeyLoadError(
            "bundle routes need evm.reputation_key_file: a 0600 file holding a key of its own "
            "(it signs relay requests; never the trading key)"
        )
    path = Path(evm.reputation_key_file).expanduser()
    key = read_key_file(path)
    register_secret(key.hex())
    try:
        signer = ReputationSigner(key)
    except KeyLoadError as exc:
        raise KeyLoadError(f"reputation key file {path}: {exc}") from None
    if signer.address.lower() == trading_address.lower():
        raise KeyLoadError(
            f"reputation key file {path} holds the trading key ({signer.address}): relays "
            "see every signature it makes; give it a key of its own that holds no funds"
        )
    return signer
