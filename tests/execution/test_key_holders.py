"""Both key objects (the trading `Signer`, the relay `ReputationSigner`) keep their key
the same way, from one shared base: an address to show, the key never in repr, str, an
error or a copy, and the log scrubber told of it as soon as it is loaded.
"""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest

from engine.config import EvmSection
from engine.execution.reputation import ReputationSigner, load_reputation_signer
from engine.execution.signer import KeyLoadError, Signer, load_signer
from engine.redaction import scrub

KEY = bytes.fromhex("33" * 32)
HOLDERS = (Signer, ReputationSigner)


def _key_file(directory: Path, key: bytes) -> Path:
    path = directory / "key"
    path.write_text(key.hex())
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("holder", HOLDERS, ids=lambda h: h.__name__)
def test_a_key_holder_shows_its_class_and_address_and_never_its_key(holder: type) -> None:
    signer = holder(KEY)

    assert repr(signer) == str(signer) == f"{holder.__name__}(address={signer.address})"
    assert KEY.hex() not in repr(signer)
    assert not hasattr(signer, "__dict__")


@pytest.mark.parametrize("holder", HOLDERS, ids=lambda h: h.__name__)
@pytest.mark.parametrize("duplicate", [pickle.dumps, copy.copy, copy.deepcopy])
def test_a_key_holder_refuses_to_be_pickled_or_copied(holder: type, duplicate: object) -> None:
    signer = holder(KEY)

    with pytest.raises(TypeError, match=f"a {holder.__name__} cannot be pickled or copied"):
        duplicate(signer)  # type: ignore[operator]


@pytest.mark.parametrize("holder", HOLDERS, ids=lambda h: h.__name__)
def test_a_key_holder_refuses_a_key_off_the_curve_without_naming_it(holder: type) -> None:
    off_curve = b"\xff" * 32

    with pytest.raises(KeyLoadError) as refused:
        holder(off_curve)

    assert str(refused.value) == "not a valid secp256k1 private key"
    assert off_curve.hex() not in str(refused.value)


def test_a_loaded_trading_key_is_scrubbed_from_log_text(tmp_path: Path) -> None:
    key = bytes.fromhex("44" * 32)
    load_signer(EvmSection(key_file=str(_key_file(tmp_path, key))))

    assert key.hex() not in scrub(f"oops {key.hex()}")


def test_a_loaded_reputation_key_is_scrubbed_from_log_text(tmp_path: Path) -> None:
    key = bytes.fromhex("55" * 32)
    evm = EvmSection(reputation_key_file=str(_key_file(tmp_path, key)))
    load_reputation_signer(evm, Signer(KEY).address)

    assert key.hex() not in scrub(f"oops {key.hex()}")


def test_an_unusable_key_file_is_named_and_its_content_is_not(tmp_path: Path) -> None:
    path = _key_file(tmp_path, b"\xff" * 32)

    with pytest.raises(KeyLoadError) as trading:
        load_signer(EvmSection(key_file=str(path)))
    with pytest.raises(KeyLoadError) as reputation:
        load_reputation_signer(EvmSection(reputation_key_file=str(path)), Signer(KEY).address)

    assert str(trading.value) == f"key file {path}: not a valid secp256k1 private key"
    assert str(reputation.value) == (
        f"reputation key file {path}: not a valid secp256k1 private key"
    )
    assert "ff" * 32 not in str(trading.value) + str(reputation.value)
