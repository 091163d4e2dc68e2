"""The config an on-chain operator command acts on: it must load and be for the evm venue.

`arbctl executor …` and `arbctl wallet rotate` sign transactions for the chain a config
names, so both refuse (exit 2, usage) a config that does not validate or that runs the
simulated market, in the same words; nothing is signed or sent before this holds. The
engine's config module loads inside the call, so importing this costs nothing on the
plain-command path.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import ArbctlError

if TYPE_CHECKING:
    from engine.config import Config


class EvmConfigRefused(ArbctlError):
    """The config is not one a chain command can act on; the message says why."""


def load_evm_config(path: Path, not_yet: Collection[str] = ()) -> Config:
    """The validated config at `path`; `not_yet` names fields it may still lack (a deploy
    writes `evm.executor`)."""
    from engine.config import ConfigError, load

    try:
        config = load(path, not_yet=not_yet)
    except ConfigError as exc:
        raise EvmConfigRefused(f"invalid config: {exc}") from None
    if config.market.venue != "evm":
        raise EvmConfigRefused(f"{path}: market.venue is {config.market.venue!r}, not 'evm'")
    return config
