"""Key names and record formats in Redis: the contract between engines and `arbctl`.

Stdlib-only, so the CLI can share it without importing the engine. Every key starts with
the configured namespace, so several fleets (or test runs) can share one Redis.
"""

from __future__ import annotations

import hashlib
import json
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_NAMESPACE = "arbctl"
HALT_HISTORY_LENGTH = 100


@dataclass(frozen=True, slots=True)
class Keys:
    """The names one namespace uses; per-engine names need `engine` set."""

    namespace: str
    engine: str = ""

    def _engine_key(self, what: str) -> str:
        if not self.engine:
            raise ValueError("per-engine keys need an engine name")
        return f"{self.namespace}:engine:{self.engine}:{what}"

    @property
    def presence(self) -> str:
        return self._engine_key("presence")

    @property
    def state(self) -> str:
        return self._engine_key("state")

    @property
    def heartbeat(self) -> str:
        return self._engine_key("heartbeat")

    @property
    def providers(self) -> str:
        return self._engine_key("providers")

    def presence_of(self, name: str) -> str:
        return f"{self.namespace}:engine:{name}:presence"

    @property
    def fleet(self) -> str:
        """Sorted set: engine name → time of its last heartbeat (an index; may hold ghosts)."""
        return f"{self.namespace}:fleet"

    @property
    def halt(self) -> str:
        """The shared halt flag: present means every engine of the namespace halts."""
        return f"{self.namespace}:halt"

    @property
    def halt_channel(self) -> str:
        """Pub/sub channel announcing flag changes: the fast path; polling is the backstop."""
        return f"{self.namespace}:halt:channel"

    @property
    def halt_history(self) -> str:
        """Capped list of who set and cleared the flag: Redis holds no engine's audit log."""
        return f"{self.namespace}:halt:history"


def default_engine_name(state_dir: Path) -> str:
    """Hostname plus a hash of the state dir: stable across restarts, unique per host."""
    digest = hashlib.sha1(str(state_dir.resolve()).encode()).hexdigest()[:8]
    return f"{socket.gethostname()}-{digest}"


def encode(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), default=str)


def decode(raw: str | bytes | None) -> dict[str, Any] | None:
    """A stored record, or None. Garbage under a halt key still reads as a record (halts)."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return {"reason": "unreadable record", "raw": str(raw)[:200]}
    return value if isinstance(value, dict) else {"reason": "unreadable record", "raw": value}
