"""Where the devnet keeps its files.

Two roots, because they have different lifetimes: the npm cache (packages and compiled
artifacts) is shared by every devnet and survives `devnet down`; the state directory
belongs to one running devnet (pid file, anvil log, world record, config, operator key).
"""

from __future__ import annotations

import os
from pathlib import Path


def npm_dir() -> Path:
    """`$ARBCTL_NPM_DIR`, else `$XDG_CACHE_HOME/arbctl/npm` (default `~/.cache`)."""
    explicit = os.environ.get("ARBCTL_NPM_DIR")
    if explicit:
        return Path(explicit).expanduser().resolve()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser().resolve() / "arbctl" / "npm"


def state_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The state directory of one devnet: `explicit`, else `$XDG_STATE_HOME/arbctl/devnet`."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state).expanduser().resolve() / "arbctl" / "devnet"


def ensure_private_dir(path: Path) -> Path:
    """Create `path` as 0700 because it will hold a private key and the anvil pid.

    An existing directory keeps its mode: `--dir /tmp` must never chmod `/tmp`. The key
    file itself is 0600 whatever the directory is.
    """
    if not path.exists():
        path.mkdir(parents=True)
        path.chmod(0o700)
    return path
