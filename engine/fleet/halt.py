"""The shared halt flag: one Redis key that halts every engine of a namespace.

Written by `arbctl kill --global` and cleared only by `arbctl resume --global`; engines
read it (pub/sub for speed, periodic reads as the backstop, and once before leaving
`starting`) and halt through their normal kill path (engine/fleet/watch.py). The flag
has no TTL: a halt must not time out. Shared by the engine and the CLI, so it imports
nothing from the engine but the key names.
"""

from __future__ import annotations

import getpass
import os
import socket
import time
import uuid
from typing import TYPE_CHECKING, Any

from engine.fleet.keys import HALT_HISTORY_LENGTH, Keys, decode, encode

if TYPE_CHECKING:
    from redis.asyncio import Redis

SET, CLEAR = "set", "clear"


def new_flag(reason: str, source: str) -> dict[str, Any]:
    """Who halted the fleet, from where and why: engines audit it under this uid."""
    return {
        "id": uuid.uuid4().hex[:12],
        "reason": reason,
        "uid": os.getuid(),
        "user": _user(),
        "host": socket.gethostname(),
        "source": source,
        "ts": time.time(),
    }


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): the uid still identifies the caller
        return str(os.getuid())


async def read_flag(client: Redis, keys: Keys) -> dict[str, Any] | None:
    return decode(await client.get(keys.halt))


async def set_flag(client: Redis, keys: Keys, flag: dict[str, Any]) -> None:
    """Store the flag, then announce it; an engine that misses the message polls it."""
    pipe = client.pipeline(transaction=True)
    pipe.set(keys.halt, encode(flag))
    _remember(pipe, keys, SET, flag)
    pipe.publish(keys.halt_channel, encode({"action": SET, "flag": flag}))
    await pipe.execute()


async def clear_flag(client: Redis, keys: Keys, reason: str, source: str) -> dict[str, Any] | None:
    """Delete the flag; returns the flag that was cleared (None if none was set).

    Engines are not resumed by this: each keeps its own persisted halt until an operator
    resumes it, so a fleet never restarts trading all at once by accident.
    """
    previous = await read_flag(client, keys)
    pipe = client.pipeline(transaction=True)
    pipe.delete(keys.halt)
    entry = {**new_flag(reason, source), "cleared": previous}
    _remember(pipe, keys, CLEAR, entry)
    pipe.publish(keys.halt_channel, encode({"action": CLEAR, "flag": entry}))
    await pipe.execute()
    return previous


def _remember(pipe: Any, keys: Keys, action: str, record: dict[str, Any]) -> None:
    """Redis holds no engine's audit log, so who set or cleared the flag is kept here."""
    pipe.lpush(keys.halt_history, encode({"action": action, **record}))
    pipe.ltrim(keys.halt_history, 0, HALT_HISTORY_LENGTH - 1)
