"""The one-liner every read command uses: ask the engine, or exit with the right code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from arbctl import options, output
from arbctl.client import DEFAULT_TIMEOUT_S, Client, EngineUnreachable, RpcError
from arbctl.client import core as client_core

CLIENT_NAME = "arbctl-cli"


def call_or_exit(
    socket: Path | None,
    method: str,
    params: dict[str, Any] | None = None,
    *,
    as_json: bool,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> Any:
    """Call `method`; unreachable exits 3, an engine error exits 1, both explained."""
    client = Client(options.socket_path(socket), timeout=timeout)
    try:
        return client.call(method, params, timeout=timeout)
    except EngineUnreachable as exc:
        output.fail_unreachable(exc, as_json)
    except RpcError as exc:
        output.fail_rpc(exc, as_json)


def audited(reason: str, **params: Any) -> dict[str, Any]:
    """Params of a state-changing call, signed with the CLI's name for the audit log."""
    return client_core.audited(reason, CLIENT_NAME, **params)
