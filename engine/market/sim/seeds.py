"""Everything random or named in the simulated market derives from the seed here.

Each concern (noise, gas, competitors, each provider) draws from its own stream, so
adding a draw in one never shifts another: the market stays identical for a seed even
when provider timing or behaviour differs between runs. String seeds are hashed with
SHA-512 by `random.Random`, which is stable across processes (no PYTHONHASHSEED).
"""

from __future__ import annotations

import hashlib
import random


def stream(seed: int, name: str) -> random.Random:
    """An independent, reproducible random stream for one concern."""
    return random.Random(f"arbctl-sim:{seed}:{name}")


def fake_address(*parts: object) -> str:
    """A deterministic 20-byte hex address for a label (token symbol, pool, wallet)."""
    label = ":".join(str(p) for p in parts)
    return "0x" + hashlib.sha256(f"arbctl-sim-address:{label}".encode()).hexdigest()[:40]


def fake_tx_hash(*parts: object) -> str:
    """A deterministic 32-byte hex transaction hash."""
    label = ":".join(str(p) for p in parts)
    return "0x" + hashlib.sha256(f"arbctl-sim-tx:{label}".encode()).hexdigest()
