"""The RPC endpoints from `[[providers]]`, and which one the engine uses right now.

All provider handling of the evm venue is here: every request goes through
`ProviderSet.active`, and `health()` reports every endpoint. For now the active
provider is simply the one with the lowest `priority` number; automatic failover (pick
another when the active one's health says so) plugs into `active` without touching the
callers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.config import ProviderEntry
from engine.market.evm.health import ProviderHealth
from engine.market.evm.rpc import Endpoint, RpcClient


class NoProviders(ValueError):
    """The config names no RPC endpoint for the evm venue."""


@dataclass(slots=True)
class Provider:
    endpoint: Endpoint
    priority: int
    client: RpcClient

    @property
    def name(self) -> str:
        return self.endpoint.name

    @property
    def health(self) -> ProviderHealth:
        return self.client.health


class ProviderSet:
    def __init__(self, providers: Sequence[Provider]) -> None:
        if not providers:
            raise NoProviders("no RPC provider configured")
        self.providers = sorted(providers, key=lambda p: p.priority)

    @classmethod
    def from_config(cls, entries: Sequence[ProviderEntry], timeout: float) -> ProviderSet:
        """One client per `kind = "rpc"` entry; liquidity sources are not RPC endpoints."""
        rpc = [entry for entry in entries if entry.kind == "rpc"]
        if not rpc:
            raise NoProviders('the evm venue needs at least one [[providers]] with kind = "rpc"')
        return cls([_provider(entry, timeout) for entry in rpc])

    @property
    def active(self) -> Provider:
        """The provider every request goes to (lowest priority number, for now)."""
        return self.providers[0]

    @property
    def best_head(self) -> int:
        return max(p.health.last_head for p in self.providers)

    def health(self) -> list[dict[str, Any]]:
        best, active = self.best_head, self.active
        return [p.health.to_dict(best, p is active) for p in self.providers]

    async def close(self) -> None:
        for provider in self.providers:
            await provider.client.close()


def _provider(entry: ProviderEntry, timeout: float) -> Provider:
    endpoint = Endpoint(entry.name, entry.url)
    health = ProviderHealth(entry.name, entry.priority)
    return Provider(endpoint, entry.priority, RpcClient(endpoint, health, timeout=timeout))
