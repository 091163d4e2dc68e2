"""The relay reputation key: signs bundle relay requests, and nothing else.

Bundle relays (Flashbots and the builders that copy its API) identify a searcher by the
`X-Flashbots-Signature: <address>:<signature>` header, where the signature is an EIP-191
`personal_sign` of the text of the request body's keccak256 hash ("0x" + 64 hex digits).
That identity earns a reputation; it holds no funds and must never be the trading key:
a relay (or anyone reading its logs) learns this key's signatures on every request, and
a leak of it must not cost a wei. So it lives in its own file (`evm.reputation_key_file`,
mode 0600, the same rule as the trading key's), and the engine refuses to start when it is
the trading key itself. Like the trading key, it is registered with the log scrubber as
soon as it is read, and `ReputationSigner` shows only its address: both keys are kept by
`engine.execution.signer.KeyHolder`, the one place that says how.
"""

from __future__ import annotations

from pathlib import Path

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_hash.auto import keccak

from engine.config import EvmSection
from engine.execution.signer import KeyHolder, KeyLoadError, read_key_file

EIP191_PREFIX = b"\x19Ethereum Signed Message:\n"


class ReputationSigner(KeyHolder):
    """Signs relay request bodies for one address (the searcher's reputation identity)."""

    __slots__ = ()

    def header(self, body: bytes) -> str:
        """The X-Flashbots-Signature value for this exact request body."""
        return f"{self._address}:{self.sign_text('0x' + keccak(body).hex())}"

    def sign_text(self, text: str) -> str:
        """EIP-191 personal_sign of `text`: 0x + r ‖ s ‖ v (v = 27 or 28)."""
        message = text.encode()
        fast = self._fast
        if fast is not None:
            digest = keccak(EIP191_PREFIX + str(len(message)).encode() + message)
            signature = fast.sign_recoverable(digest, hasher=None)
            return "0x" + (signature[:64] + bytes([signature[64] + 27])).hex()
        signed = Account.sign_message(encode_defunct(text=text), self._private)
        return "0x" + bytes(signed.signature).hex()


def load_reputation_signer(evm: EvmSection, trading_address: str) -> ReputationSigner:
    """The key from `evm.reputation_key_file` (0600); refused if it is the trading key."""
    if not evm.reputation_key_file:
        raise KeyLoadError(
            "bundle routes need evm.reputation_key_file: a 0600 file holding a key of its own "
            "(it signs relay requests; never the trading key)"
        )
    path = Path(evm.reputation_key_file).expanduser()
    signer = ReputationSigner.loaded(read_key_file(path), f"reputation key file {path}")
    if signer.address.lower() == trading_address.lower():
        raise KeyLoadError(
            f"reputation key file {path} holds the trading key ({signer.address}): relays "
            "see every signature it makes; give it a key of its own that holds no funds"
        )
    return signer
