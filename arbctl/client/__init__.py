"""The one client of the engine's control socket, for the CLI and the console.

- `core`: framing, answers, the two errors and their wording (shared);
- `sync`: the blocking client every plain command uses (no asyncio on that path);
- `aio`: the asyncio calls the console makes from its event loop.

Import `arbctl.client.aio` explicitly: this package does not, so `arbctl status` never
pays for asyncio.
"""

from arbctl.client.core import (
    DEFAULT_TIMEOUT_S,
    ClientError,
    EngineUnreachable,
    RpcError,
    audited,
)
from arbctl.client.sync import Client, Subscription

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "Client",
    "ClientError",
    "EngineUnreachable",
    "RpcError",
    "Subscription",
    "audited",
]
