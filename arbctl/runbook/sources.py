"""What the procedures read from the engine, asked once and remembered.

A checklist asks a dozen questions; when the engine is down (or frozen) the first
question already says so, and asking the other eleven would only multiply the timeout.
So the first "nobody answered" is remembered and every later question gets the same
answer at once. Engine refusals (ledger unavailable, …) are per method: one refused
answer says nothing about the next.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arbctl import options
from arbctl.client import Client, EngineUnreachable, RpcError

DEFAULT_TIMEOUT_S = 5.0
RECONCILE_TIMEOUT_S = 30.0


@dataclass(slots=True)
class Answer:
    """One method's result, or why there is none (`kind`: unreachable or the rpc name)."""

    method: str
    value: Any = None
    error: str = ""
    kind: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    def get(self, key: str, default: Any = None) -> Any:
        return self.value.get(key, default) if isinstance(self.value, dict) else default


class EngineSource:
    """The engine behind one socket, with every answer cached for this run."""

    def __init__(self, socket: Path | None, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.socket = options.socket_path(socket)
        self._client = Client(self.socket, timeout=timeout)
        self._answers: dict[str, Answer] = {}
        self.unreachable: EngineUnreachable | None = None

    def ask(
        self, method: str, params: dict[str, Any] | None = None, timeout: float | None = None
    ) -> Answer:
        key = method + json.dumps(params or {}, sort_keys=True)
        if key not in self._answers:
            self._answers[key] = self._call(method, params, timeout)
        return self._answers[key]

    def _call(self, method: str, params: dict[str, Any] | None, timeout: float | None) -> Answer:
        if self.unreachable is not None:
            return Answer(method, error=str(self.unreachable), kind="unreachable")
        try:
            return Answer(method, self._client.call(method, params, timeout=timeout))
        except EngineUnreachable as exc:
            self.unreachable = exc
            return Answer(method, error=str(exc), kind="unreachable")
        except RpcError as exc:
            refused = f"engine refused ({exc.name}): {exc.message}"
            return Answer(method, error=refused, kind=exc.name)

    @property
    def reachable(self) -> bool:
        """True once the engine has answered `status` (asked here if not yet)."""
        return self.ask("status").ok

    def describe(self) -> dict[str, Any]:
        """The `engine` object of every --json document: where we looked, what we got."""
        status = self.ask("status")
        return {
            "reachable": status.ok,
            "socket": str(self.socket),
            "reason": self.unreachable.kind if self.unreachable else None,
            "error": status.error or None,
            "state": status.get("state"),
            "pid": status.get("pid"),
        }

    def gaps(self) -> list[str]:
        """Every question that got no answer, with why: what a report must say it lacks."""
        return sorted({f"{a.method}: {a.error}" for a in self._answers.values() if not a.ok})


def resolve_state_dir(explicit: Path | None, engine: EngineSource) -> Path:
    """--state-dir / $ARBCTL_STATE_DIR, else the running engine's own, else the default:
    an engine started with a config that names its state dir is still found."""
    if explicit is not None:
        return explicit
    reported = engine.ask("status").get("state_dir")
    return Path(reported) if reported else options.state_dir(None)
