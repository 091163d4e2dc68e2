"""The wallet commands' errors: one base for `arbctl wallet …` to report in one line.

Its children live with what raises them: `ChainError` (chain.py), `ConfigEditError`
(config_edit.py), `KeyFileExists` (keys.py), `RotateRefused` (rotate.py). Messages never
include key material. Stdlib only.
"""

from __future__ import annotations

from engine.errors import ArbctlError


class WalletError(ArbctlError):
    """A wallet step refused or failed for a reason the message explains."""
