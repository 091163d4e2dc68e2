"""Fleet presence: which engines are alive in a namespace, read by `arbctl fleet`.

Each engine refreshes its presence record (with a TTL) and its score in the fleet index
on every heartbeat (engine/fleet/mirror.py); a dead engine's record expires, so it
drops out without anyone cleaning up. The index is only a list of names to look up: a
name whose record has expired is skipped here and pruned by the live engines.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, cast

from engine.fleet.keys import Keys, decode

if TYPE_CHECKING:
    from redis.asyncio import Redis


async def read_fleet(client: Redis, keys: Keys) -> list[dict[str, Any]]:
    """Live engines of the namespace, by name, each with its heartbeat's age."""
    # link.py opens the client with decode_responses=True; redis-py's types ignore the flag
    names = cast(list[str], await client.zrange(keys.fleet, 0, -1))
    if not names:
        return []
    records = await client.mget([keys.presence_of(name) for name in names])
    now = time.time()
    engines = []
    for raw in records:
        record = decode(raw)
        if record is None:  # expired: that engine died
            continue
        ts = record.get("ts")
        age = now - ts if isinstance(ts, int | float) else None
        record["heartbeat_age_s"] = None if age is None else round(max(0.0, age), 3)
        engines.append(record)
    return sorted(engines, key=lambda r: str(r.get("name")))
