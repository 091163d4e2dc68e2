"""What never leaves the process in clear: registered secrets, and credentials in URLs.

The signer registers its key here the moment it loads it; every log record and every
log line published on the bus passes `scrub`, so no code path can leak a key through a
message or a traceback. It sits at the bottom of the engine (stdlib and config only):
the signer, the wallet commands and the log handlers all reach it without importing
telemetry.
"""

from __future__ import annotations

from engine.config import redact_text

_secrets: set[str] = set()


def register_secret(secret: str) -> None:
    """Mask `secret` (and its 0x-less / case variants) in every log record from now on."""
    bare = secret.lower().removeprefix("0x")
    if len(bare) >= 16:
        _secrets.update({bare, "0x" + bare, bare.upper(), "0x" + bare.upper()})


def scrub(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return redact_text(text)
