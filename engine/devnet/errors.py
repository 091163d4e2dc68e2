"""One base class for every devnet failure a user can act on.

The CLI prints these as one line and exits 1; anything else is a bug and keeps its
traceback. Messages never include key material.
"""

from __future__ import annotations

from engine.errors import ArbctlError


class DevnetError(ArbctlError, RuntimeError):
    """A devnet step failed for a reason the message explains."""
