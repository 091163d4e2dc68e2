"""The RPC endpoints from `[[providers]]`, and which one the engine uses right now.

Every request of the evm venue goes through `ProviderSet.active`. With one endpoint
that is simply it. With several, `active` is a stand-in whose client sends each request
to the provider the selector (engine/providers/selector.py) has chosen at that moment,
so the block follower, the sender and the wallet loop all fail over together without
knowing it. Around that:

- probing: every endpoint is asked for its chain id and head every `probe_interval`
  (also the active one), so a backup's health is known before it is needed, a stalled
  or stale active endpoint shows as lagging the others, and an endpoint serving another
  chain is caught (the chain id the venue verified at start is the expected one);
- stale heads: the follower's heads pass `HeadGate`, which refuses a head that is
  behind what other endpoints report, or older than one already followed while the
  others are still ahead; a refused head is never turned into market data, so nothing
  is traded on it, and it counts against the endpoint that served it;
- in-flight reads: when the active provider changes, reads still waiting on the old one
  are abandoned at once (a stalled endpoint would hold them until their timeout);
  sends (`eth_sendRawTransaction`) are never abandoned or re-sent elsewhere, so no
  transaction is sent twice or after a kill;
- breakers: a provider whose breaker is open is not called; a request routed to it
  (only while pinned to it) fails at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from engine.config import ProviderEntry
from engine.market.errors import MarketError
from engine.market.evm.endpoint_health import ProviderHealth
from engine.market.evm.rpc import Call, Endpoint, NodeRpcError, ProviderUnavailable, RpcClient
from engine.providers.selector import FAILOVER_LAG, ProviderStatus, Selector, Switch

log = logging.getLogger("arbctl.evm")

PROBE_INTERVAL_S = 0.5
PROBE_TIMEOUT_S = 2.0
BREAKER_COOLDOWN_S = 1.0
BREAKER_MAX_COOLDOWN_S = 30.0
WRITES = frozenset({"eth_sendRawTransaction", "eth_sendTransaction"})
PROBE_CALLS: list[Call] = [("eth_chainId", []), ("eth_blockNumber", [])]


T = TypeVar("T")


class NoProviders(MarketError, ValueError):
    """The config names no RPC endpoint for the evm venue."""


@dataclass(slots=True)
class Provider:
    endpoint: Endpoint
    priority: int
    client: RpcClient
    health: ProviderHealth  # the record `client` writes its outcomes to

    @property
    def name(self) -> str:
        return self.endpoint.name


class ProviderSet:
    def __init__(
        self,
        providers: Sequence[Provider],
        probe_interval: float = PROBE_INTERVAL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not providers:
            raise NoProviders("no RPC provider configured")
        self.providers = sorted(providers, key=lambda p: p.priority)
        self._by_name = {p.name: p for p in self.providers}
        self.selector = Selector(
            [p.health for p in self.providers], clock, BREAKER_COOLDOWN_S, BREAKER_MAX_COOLDOWN_S
        )
        self.selector.subscribe(self._on_switch)
        self.expected_chain_id: int | None = None
        self._probe_interval = probe_interval
        self._active = ActiveProvider(self)
        self._chain_ids: dict[str, int] = {}
        self._followed = -1  # the newest head the follower took in
        self.head_source: Provider | None = None  # who served the last "latest" block
        self._verified = ""  # the provider whose chain the venue checked at start
        self._warm = False
        self._warm_lock = asyncio.Lock()
        self._scopes: dict[str, set[asyncio.Timeout]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def from_config(cls, entries: Sequence[ProviderEntry], timeout: float) -> ProviderSet:
        """One client per `kind = "rpc"` entry; liquidity sources are not RPC endpoints."""
        rpc = [entry for entry in entries if entry.kind == "rpc"]
        if not rpc:
            raise NoProviders('the evm venue needs at least one [[providers]] with kind = "rpc"')
        return cls([_provider(entry, timeout) for entry in rpc])

    # --- what callers use ----------------------------------------------------------------
    @property
    def active(self) -> ActiveProvider:
        """The provider every request goes to: follows the selector's choice."""
        return self._active

    @property
    def current(self) -> Provider:
        """The real provider chosen right now (no re-evaluation)."""
        return self._by_name[self.selector.active]

    @property
    def multiple(self) -> bool:
        return len(self.providers) > 1

    @property
    def best_head(self) -> int:
        """The newest head any endpoint that may be trusted has reported."""
        heads = [p.health.last_head for p in self.providers if _trusted(p)]
        return max(heads, default=-1)

    @property
    def reference(self) -> int:
        """What lag is measured against (the selector's reference)."""
        return self.best_head

    def health(self) -> list[ProviderStatus]:
        return self.selector.statuses(self.best_head)

    def evaluate(self) -> Switch | None:
        return self.selector.evaluate(self.best_head)

    def expect_chain(self, chain_id: int) -> None:
        """The chain every endpoint must serve; without it, the one verified at start."""
        self.expected_chain_id = chain_id
        for name, seen in self._chain_ids.items():
            self._judge_chain(self._by_name[name], seen)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for provider in self.providers:
            await provider.client.close()

    # --- routing -------------------------------------------------------------------------
    async def route(self) -> Provider:
        """The provider for the next request: probed once before the first one (so a
        dead primary is not where the venue starts), re-evaluated on every request."""
        if self.multiple and not self._warm:
            await self._warm_up()
        self.evaluate()
        return self.current

    async def send(
        self, provider: Provider, methods: Sequence[str], request: Callable[[], Awaitable[T]]
    ) -> T:
        """Run one request on `provider`, minding its breaker; reads are abandoned if the
        active provider changes while they wait."""
        if not self.multiple:
            return await request()
        if not self.selector.allow(provider.name):
            raise ProviderUnavailable(
                f"{provider.endpoint.label}: not called, its breaker is open "
                f"(last error: {provider.health.last_error})"
            )
        if WRITES.intersection(methods):
            return await request()
        return await self._abortable(provider, request)

    async def _abortable(self, provider: Provider, request: Callable[[], Awaitable[T]]) -> T:
        scopes = self._scopes.setdefault(provider.name, set())
        try:
            async with asyncio.timeout(None) as scope:
                scopes.add(scope)
                try:
                    return await request()
                finally:
                    scopes.discard(scope)
        except TimeoutError:
            if not scope.expired():
                raise
            raise ProviderUnavailable(
                f"{provider.endpoint.label}: request abandoned, {self.selector.active} "
                f"took over ({self.selector.reason})"
            ) from None

    def _on_switch(self, switch: Switch) -> None:
        if switch.previous == switch.active:
            return
        log.warning("RPC provider %s -> %s: %s", switch.previous, switch.active, switch.reason)
        scopes = self._scopes.pop(switch.previous, set())
        if not scopes:
            return
        now = asyncio.get_running_loop().time()
        for scope in scopes:
            with contextlib.suppress(RuntimeError):  # it finished in the meantime
                scope.reschedule(now)

    # --- heads -----------------------------------------------------------------------------
    def follow_head(self, provider: Provider, number: int) -> None:
        """A head the venue is about to take in from `provider`; raises ProviderUnavailable
        (so the follower retries, on whichever provider is active then) if it is stale."""
        provider.health.record_head(number)
        stale = self._stale(provider, number) if self.multiple else ""
        if stale:
            provider.health.record_failure(stale, time.time())
            self.evaluate()
            raise ProviderUnavailable(f"{provider.endpoint.label}: {stale}")
        self._followed = number
        self._start_probing(provider)

    def _stale(self, provider: Provider, number: int) -> str:
        others = [p.health.last_head for p in self.providers if p is not provider and _trusted(p)]
        best = max(others, default=-1)
        if best - number >= FAILOVER_LAG:
            return f"stale head: block {number} is {best - number} blocks behind {best}"
        if number < self._followed <= best:
            return (
                f"stale head: block {number} is older than block {self._followed} already followed"
            )
        return ""

    # --- probing -----------------------------------------------------------------------------
    async def _warm_up(self) -> None:
        async with self._warm_lock:
            if self._warm:
                return
            answered = await asyncio.gather(*(self._probe(p) for p in self.providers))
            self._warm = True
            alive = [p for p, ok in zip(self.providers, answered, strict=True) if ok]
            if alive and all(p is not self.current for p in alive):
                reason = f"{self.current.name} did not answer at start"
                self.selector.choose(alive[0].name, f"failover from {self.current.name}: {reason}")

    def _start_probing(self, provider: Provider) -> None:
        if self._tasks or not self.multiple:
            return
        self._verified = provider.name
        if self.expected_chain_id is None and provider.name in self._chain_ids:
            self.expect_chain(self._chain_ids[provider.name])
        self._tasks = [
            asyncio.create_task(self._probe_forever(p), name=f"evm-probe-{p.name}")
            for p in self.providers
        ]

    async def _probe_forever(self, provider: Provider) -> None:
        while True:
            if self.selector.allow(provider.name):
                await self._probe(provider)
            self.evaluate()
            await asyncio.sleep(self._probe_interval)

    async def _probe(self, provider: Provider) -> bool:
        """Chain id and head in one round trip; False if the endpoint did not answer."""
        try:
            chain_id, number = await provider.client.batch_strict(
                PROBE_CALLS, timeout=PROBE_TIMEOUT_S
            )
        except (ProviderUnavailable, NodeRpcError):
            return False
        self._judge_chain(provider, int(chain_id, 16))
        provider.health.record_head(int(number, 16))
        return True

    def _judge_chain(self, provider: Provider, chain_id: int) -> None:
        self._chain_ids[provider.name] = chain_id
        if self.expected_chain_id is None and provider.name == self._verified:
            self.expected_chain_id = chain_id
        expected = self.expected_chain_id
        if expected is None:
            return
        wrong = chain_id != expected
        provider.health.problem = (
            f"serves chain id {chain_id}, expected {expected}" if wrong else ""
        )


class ActiveProvider:
    """`ProviderSet.active`: looks like one provider, is whichever is chosen right now."""

    def __init__(self, providers: ProviderSet) -> None:
        self._set = providers
        self.client = RoutedClient(providers)

    @property
    def name(self) -> str:
        return self._set.current.name

    @property
    def endpoint(self) -> Endpoint:
        return self._set.current.endpoint

    @property
    def priority(self) -> int:
        return self._set.current.priority

    @property
    def health(self) -> HeadGate:
        return HeadGate(self._set)


class HeadGate:
    """The active provider's health record as the venue writes it: outcomes go to the
    active provider's record; a head is checked for staleness first and credited to the
    provider that served it (`ProviderSet.follow_head`), which is not the active one if
    a failover came between the fetch and the record."""

    def __init__(self, providers: ProviderSet) -> None:
        self._set = providers
        self._served_by = providers.head_source or providers.current

    def record_ok(self, latency_ms: float | None = None) -> None:
        self._set.current.health.record_ok(latency_ms)

    def record_failure(self, error: str, at: float) -> None:
        self._set.current.health.record_failure(error, at)

    def record_head(self, number: int) -> None:
        self._set.head_source = None
        self._set.follow_head(self._served_by, number)


class RoutedClient(RpcClient):
    """The active provider's client: each request goes to the provider chosen when it is
    made (see ProviderSet.route / send). Closing it closes nothing: the set owns the
    real clients."""

    def __init__(self, providers: ProviderSet) -> None:  # the real clients are the set's
        self._set = providers

    @property
    def endpoint(self) -> Endpoint:
        return self._set.current.endpoint

    @property
    def health(self) -> ProviderHealth:
        return self._set.current.health

    @property
    def timeout(self) -> float:
        return self._set.current.client.timeout

    @property
    def transport(self) -> Any:
        return self._set.current.client.transport

    async def call(
        self, method: str, params: Sequence[Any] = (), timeout: float | None = None
    ) -> Any:
        request = lambda p: p.client.call(method, params, timeout)  # noqa: E731
        return await self._routed([(method, params)], request)

    async def batch(
        self, calls: Sequence[Call], timeout: float | None = None
    ) -> list[Any | NodeRpcError]:
        request = lambda p: p.client.batch(calls, timeout)  # noqa: E731
        return await self._routed(calls, request)

    async def _routed(
        self, calls: Sequence[Call], request: Callable[[Provider], Awaitable[T]]
    ) -> T:
        provider = await self._set.route()
        methods = [method for method, _ in calls]
        result = await self._set.send(provider, methods, lambda: request(provider))
        self._note_head_source(provider, calls)
        return result

    def _note_head_source(self, provider: Provider, calls: Sequence[Call]) -> None:
        """Remember who served the latest block: its head is recorded a moment later."""
        for method, params in calls:
            if method == "eth_getBlockByNumber" and params and params[0] == "latest":
                self._set.head_source = provider

    async def close(self) -> None:
        return None


def _trusted(provider: Provider) -> bool:
    """Its reported head may serve as a reference (not on another chain, not offline)."""
    health = provider.health
    return not health.problem and not health.offline_reason


def _provider(entry: ProviderEntry, timeout: float) -> Provider:
    endpoint = Endpoint(entry.name, entry.url)
    health = ProviderHealth(entry.name, entry.priority)
    client = RpcClient(endpoint, health, timeout=timeout)
    return Provider(endpoint, entry.priority, client, health)
