"""A new signing key, written once to a 0600 file; only its address ever leaves here.

The file is created with O_EXCL and mode 0600 from the first byte, so it is never
readable by others even for an instant and an existing key is never overwritten (an
overwritten key is lost funds). The format is what `engine.execution.signer` reads:
the hex key with a 0x prefix and a newline.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from eth_keys import keys
from eth_keys.datatypes import PrivateKey

from arbctl.wallet.errors import WalletError
from engine.redaction import register_secret

KEY_MODE = 0o600
DIR_MODE = 0o700


class KeyFileExists(WalletError):
    """The target file exists: refusing to overwrite what may be someone's only key."""


def create_key_file(path: Path | None, directory: Path) -> tuple[Path, str]:
    """Write a fresh random key to `path` (0600, must not exist); return (path, address).

    Without `path` the file is `directory/<address>.key`.
    """
    key = _fresh_key()
    register_secret(key.to_hex())  # a stray log line in this process masks it
    address = key.public_key.to_checksum_address()
    path = path if path is not None else default_key_path(directory, address)
    path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_MODE)
    except FileExistsError:
        raise KeyFileExists(f"{path} already exists; refusing to overwrite a key file") from None
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        os.fchmod(handle.fileno(), KEY_MODE)  # whatever the umask
        handle.write(key.to_hex() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    _sync_dir(path.parent)
    return path, address


def default_key_path(directory: Path, address: str) -> Path:
    """Named after its address, so an operator can tell key files apart without opening them."""
    return directory / f"{address}.key"


def _fresh_key() -> PrivateKey:
    """32 random bytes that are a valid secp256k1 scalar (a retry is astronomically rare)."""
    while True:
        try:
            return keys.PrivateKey(secrets.token_bytes(32))
        except Exception:  # zero or >= the curve order
            continue


def _sync_dir(directory: Path) -> None:
    """The new name must survive a crash too, not just the bytes."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
