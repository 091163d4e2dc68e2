"""Fixtures for the emergency, key and deployment runbook tests.

The devnet session fixtures are re-used from the devnet suite (imported, so this
directory gets the same one-anvil-per-session world), and the scripts are run the way
an operator runs them: as processes, with arbctl and its Python found through the env.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.conftest import EngineHandle
from tests.devnet.conftest import clean_chain, devnet, npm_root, world  # noqa: F401

REPO = Path(__file__).resolve().parents[3]
SCRIPTS = REPO / "scripts"
BIN = Path(sys.executable).parent


def script_env(handle: EngineHandle) -> dict[str, str]:
    """The engine's socket and state dir, its config, and this checkout's arbctl."""
    env = handle.env()
    env.update(
        ARBCTL=str(BIN / "arbctl"),
        ARBCTL_PYTHON=sys.executable,
        ARBCTL_CONFIG=str(handle.config),
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env
