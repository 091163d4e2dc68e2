"""Submission routes: how a signed transaction leaves, with the provider model around it.

A route is configured like a provider (`[[routes]]`: name, kind, url, priority) and has
the same health record, selector, failover, pin, mark-offline and audit (the `route` set
in engine/failover/sets.py). Kinds:

- `public`: `eth_sendRawTransaction` to the active RPC endpoint: the public mempool (the
  default, and the devnet's);
- `private`: `eth_sendRawTransaction` to the route's own endpoint (Flashbots Protect, MEV
  Blocker style), which does not gossip. Never to a public endpoint: the replacement the
  kill switch sends for a private transaction goes to the route that sent the original,
  and "does the node have it" is asked of that route too;
- `bundle`: `eth_sendBundle` to the route's relay, signed by the reputation key, for the
  block after the head (N+1); on each new head that did not include it, re-targeted at
  the next block with the same `replacementUuid` (which replaces it), up to N+k
  (`target_blocks`). With `call_bundle`, `eth_callBundle` first: a bundle that would
  revert is not sent. A bundle that no block up to its last target included is given up
  (`gave_up`): the sender resolves its order as failed, nothing charged, and frees the
  nonce.

Invariants. Sends are never re-sent on another route (a send after an await would be one
the gate did not check, and a private transaction must never reach a public endpoint).
The kill switch (`cancel`) cancels every outstanding bundle by uuid and stops its
re-targeting at once, in memory, before any I/O; blocks already targeted are left to
pass, and only then is the order given up (a relay may still have been building them).
Re-targeting re-sends transactions signed before the kill; nothing new is signed here.
Failover between routes moves only among the configured routes: a chain whose routes are
all private or bundle never falls back to the public mempool.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from engine.config import RouteEntry
from engine.market.errors import MarketError
from engine.market.evm.bundles import RelayAuth, RelayClient
from engine.market.evm.endpoint_health import ProviderHealth
from engine.market.evm.endpoints import BREAKER_COOLDOWN_S, BREAKER_MAX_COOLDOWN_S, ProviderSet
from engine.market.evm.rpc import Endpoint, NodeRpcError, ProviderUnavailable, RpcClient
from engine.market.venue import CANCELLED_BY_KILL
from engine.providers.selector import ProviderStatus, Selector

log = logging.getLogger("arbctl.evm")

RouteKind = Literal["public", "private", "bundle"]
CANCEL_WAIT_S = 5.0  # the most a cancel waits for the bundle's own request to finish
NO_HEAD_LAG = -1  # routes follow no chain head: lag never applies
DEFAULT_ROUTE = RouteEntry(name="public", kind="public")


class RouteError(MarketError):
    """A route cannot be built as configured (a bundle route without its relay key)."""


def _idle() -> asyncio.Event:
    event = asyncio.Event()
    event.set()
    return event


Record = Callable[["Outstanding"], None]


@dataclass(slots=True)
class Outstanding:
    """A transaction out on a private or bundle route, until its order settles."""

    tx_hash: str
    route: str
    kind: RouteKind
    raw: str
    sent_at: float
    uuid: str = ""
    first_block: int = 0  # bundles: the first block targeted
    target: int = 0  # bundles: the block it is targeted at now
    last_block: int = 0  # bundles: the last block it may target (N+k)
    cancelled: bool = False
    # set while no request carrying the bundle is on its way to the relay: a cancel waits
    # for it, so the relay never hears the cancel before the bundle it cancels
    idle: asyncio.Event = dataclasses.field(default_factory=_idle, repr=False)

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "hash": self.tx_hash,
            "route": self.route,
            "kind": self.kind,
            "sent_at": self.sent_at,
        }
        if self.kind == "bundle":
            row.update(
                uuid=self.uuid,
                first_block=self.first_block,
                target=self.target,
                last_block=self.last_block,
                cancelled=self.cancelled,
            )
        return row


class Route(Protocol):
    name: str
    kind: RouteKind
    priority: int
    health: ProviderHealth

    @property
    def lookup(self) -> RpcClient: ...

    async def send(self, raw: str, tx_hash: str, head: int, record: Record) -> None:
        """Send; `record` is told what is out before the first await (a kill that comes
        during the request must see it)."""

    async def close(self) -> None: ...


class PublicRoute:
    """The active RPC endpoint (the provider set's own failover decides which)."""

    kind: RouteKind = "public"

    def __init__(self, name: str, priority: int, providers: ProviderSet) -> None:
        self.name = name
        self.priority = priority
        self.health = ProviderHealth(name, priority, kind="route")
        self._providers = providers

    @property
    def lookup(self) -> RpcClient:
        return self._providers.active.client

    async def send(self, raw: str, tx_hash: str, head: int, record: Record) -> None:
        started = time.perf_counter()
        try:
            await self._providers.active.client.call("eth_sendRawTransaction", [raw])
        except ProviderUnavailable as exc:
            self.health.record_failure(str(exc), time.time())
            raise
        self.health.record_ok((time.perf_counter() - started) * 1000)  # an error reply too

    async def close(self) -> None:
        return None  # the provider set owns its clients


class PrivateRoute:
    """`eth_sendRawTransaction` to one private endpoint, and only there."""

    kind: RouteKind = "private"

    def __init__(self, entry: RouteEntry, timeout: float) -> None:
        self.name = entry.name
        self.priority = entry.priority
        self.health = ProviderHealth(entry.name, entry.priority, kind="route")
        self.client = RpcClient(Endpoint(entry.name, entry.url), self.health, timeout=timeout)

    @property
    def lookup(self) -> RpcClient:
        return self.client

    async def send(self, raw: str, tx_hash: str, head: int, record: Record) -> None:
        record(Outstanding(tx_hash, self.name, self.kind, raw, time.time()))
        await self.client.call("eth_sendRawTransaction", [raw])

    async def close(self) -> None:
        await self.client.close()


class BundleRoute:
    """`eth_sendBundle` to one relay, for blocks N+1..N+k, re-targeted block by block."""

    kind: RouteKind = "bundle"

    def __init__(
        self, entry: RouteEntry, auth: RelayAuth, providers: ProviderSet, timeout: float
    ) -> None:
        self.name = entry.name
        self.priority = entry.priority
        self.target_blocks = entry.target_blocks
        self.builder_share_bps = entry.builder_share_bps
        self.call_bundle = entry.call_bundle
        self.health = ProviderHealth(entry.name, entry.priority, kind="route")
        endpoint = Endpoint(entry.name, entry.url)
        self.relay = RelayClient(endpoint, self.health, auth, entry.builders, timeout)
        # further relays: sent the same bundles and cancels; their failures are logged,
        # the route's health is its primary relay's
        self.others = [
            RelayClient(
                Endpoint(f"{entry.name}[{i}]", url),
                ProviderHealth(f"{entry.name}[{i}]", entry.priority, kind="route"),
                auth,
                entry.builders,
                timeout,
            )
            for i, url in enumerate(entry.relays, start=1)
        ]
        self._providers = providers

    @property
    def lookup(self) -> RpcClient:
        return self._providers.active.client  # a bundle is public once mined, never before

    async def send(self, raw: str, tx_hash: str, head: int, record: Record) -> None:
        """Raises NodeRpcError if the relay refuses it or `eth_callBundle` says it would
        revert (nothing is out); a relay that does not answer leaves the bundle recorded as
        out (it may have arrived) and re-targeted on the next head. A kill that comes
        before the bundle leaves keeps it from leaving at all."""
        target = head + 1
        out = Outstanding(
            tx_hash,
            self.name,
            self.kind,
            raw,
            time.time(),
            uuid=str(uuid.uuid4()),
            first_block=target,
            target=target,
            last_block=head + self.target_blocks,
        )
        record(out)
        if self.call_bundle:
            simulated = await self.relay.call_bundle([raw], target)
            if simulated.error:
                raise NodeRpcError("eth_callBundle", -32000, f"bundle reverts: {simulated.error}")
        if out.cancelled:
            return  # the kill came first: it never leaves
        try:
            await self._deliver(out, out.target)
        except ProviderUnavailable as exc:
            log.warning("bundle %s for block %d: %s (re-sent next head)", out.uuid, target, exc)

    async def retarget(self, out: Outstanding) -> None:
        try:
            await self._deliver(out, out.target)
        except (ProviderUnavailable, NodeRpcError) as exc:
            log.warning("bundle %s for block %d: %s", out.uuid, out.target, exc)

    async def _deliver(self, out: Outstanding, block: int) -> None:
        out.idle.clear()
        try:
            others = [r.send_bundle([out.raw], block, out.uuid) for r in self.others]
            results = await asyncio.gather(
                self.relay.send_bundle([out.raw], block, out.uuid),
                *others,
                return_exceptions=True,
            )
        finally:
            out.idle.set()
        _log_failures(self.others, results[1:], f"bundle {out.uuid} for block {block}")
        if isinstance(results[0], BaseException):
            raise results[0]

    async def cancel(self, out: Outstanding) -> bool:
        """`eth_cancelBundle` by uuid, once no request carrying the bundle is on its way."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(out.idle.wait(), CANCEL_WAIT_S)
        results = await asyncio.gather(
            *(r.cancel_bundle(out.uuid) for r in [self.relay, *self.others]),
            return_exceptions=True,
        )
        _log_failures([self.relay, *self.others], results, f"cancelling bundle {out.uuid}")
        return not isinstance(results[0], BaseException)

    async def close(self) -> None:
        for relay in [self.relay, *self.others]:
            await relay.close()


class SubmissionRoutes:
    """The chain's routes: which one sends now, what is out on them, the kill's cancels."""

    def __init__(
        self, routes: Sequence[Route], public: RpcClient, clock: Callable[[], float] = time.time
    ) -> None:
        """`public`: the active RPC endpoint's client, where a transaction that is not out
        on a private route is looked up and replaced."""
        if not routes:
            raise RouteError("no submission route")
        self.routes = sorted(routes, key=lambda r: r.priority)
        self._by_name = {r.name: r for r in self.routes}
        self.selector = Selector(
            [r.health for r in self.routes], clock, BREAKER_COOLDOWN_S, BREAKER_MAX_COOLDOWN_S
        )
        self.reference = NO_HEAD_LAG
        self._public = public
        self.head = -1
        self._outstanding: dict[str, Outstanding] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def build(
        cls,
        entries: Sequence[RouteEntry],
        providers: ProviderSet,
        auth: RelayAuth | None,
        timeout: float,
    ) -> SubmissionRoutes:
        """The configured routes of this chain; none configured: the public route."""
        routes = [_route(e, providers, auth, timeout) for e in entries or [DEFAULT_ROUTE]]
        return cls(routes, providers.active.client)

    # --- reading ------------------------------------------------------------------------
    @property
    def active(self) -> Route:
        self.selector.evaluate(self.reference)
        return self._by_name[self.selector.active]

    def health(self) -> list[ProviderStatus]:
        kinds = {r.name: r.kind for r in self.routes}
        statuses = self.selector.statuses(self.reference)
        return [dataclasses.replace(s, route_kind=kinds[s.name]) for s in statuses]

    def builder_share_bps(self) -> int | None:
        """The bid's share of profit on the active route: a bundle route's builder payment
        (paid as priority fee); None elsewhere (strategy.priority_fee_share_bps applies)."""
        route = self.active
        return route.builder_share_bps if isinstance(route, BundleRoute) else None

    def bundled(self, tx_hash: str) -> bool:
        out = self._outstanding.get(tx_hash)
        return out is not None and out.kind == "bundle"

    def status(self) -> dict[str, Any]:
        """What `status` shows: the active route, and what is out on private routes."""
        outs = list(self._outstanding.values())
        return {
            "route": self.selector.active,
            "route_kind": self._by_name[self.selector.active].kind,
            "pending_bundles": [o.to_dict() for o in outs if o.kind == "bundle"],
            "pending_private": [o.to_dict() for o in outs if o.kind == "private"],
        }

    def lookup(self, tx_hash: str) -> RpcClient:
        """Where to ask whether a node knows a transaction: the private route that has it,
        else the active RPC endpoint (public transactions, and bundles: public once mined)."""
        out = self._outstanding.get(tx_hash)
        route = self._by_name.get(out.route) if out is not None else None
        return route.lookup if route is not None else self._public

    # --- sending --------------------------------------------------------------------------
    async def send(self, raw: str, tx_hash: str) -> None:
        """Out through the active route. Raises NodeRpcError (refused) or
        ProviderUnavailable (no answer), as `eth_sendRawTransaction` always did."""
        route = self.active
        if len(self.routes) > 1 and not self.selector.allow(route.name):
            raise ProviderUnavailable(
                f"route {route.name}: not called, its breaker is open "
                f"(last error: {route.health.last_error})"
            )
        await route.send(raw, tx_hash, self.head, self._record)

    def _record(self, out: Outstanding) -> None:
        self._outstanding[out.tx_hash] = out

    def settled(self, tx_hash: str) -> None:
        """The order of this transaction resolved: nothing is out any more."""
        self._outstanding.pop(tx_hash, None)

    def on_head(self, number: int) -> None:
        """A new head: every bundle whose target it was moves on to the next block, up to
        its last one (never after a kill cancelled it)."""
        self.head = max(self.head, number)
        for out in self._outstanding.values():
            if out.kind != "bundle" or out.cancelled or out.target > number:
                continue
            if number + 1 > out.last_block:  # its last block passed (heads may skip)
                out.target = out.last_block
                continue
            out.target = number + 1
            route = self._by_name.get(out.route)
            if isinstance(route, BundleRoute):
                self._spawn(route.retarget(out))

    def gave_up(self, tx_hash: str, head: int) -> str:
        """Why a bundle can no longer be included, judged at `head` (a head whose block
        the caller's receipt check already saw); empty while it still may be."""
        out = self._outstanding.get(tx_hash)
        if out is None or out.kind != "bundle" or head < out.target:
            return ""
        if out.cancelled:
            return (
                f"{CANCELLED_BY_KILL}: bundle {out.uuid} cancelled; its targeted blocks "
                f"{out.first_block}..{out.target} passed without it"
            )
        if out.target >= out.last_block:
            return f"bundle {out.uuid} not included in blocks {out.first_block}..{out.last_block}"
        return ""

    # --- the kill switch -------------------------------------------------------------------
    async def cancel(self) -> list[str]:
        """Stop re-targeting every outstanding bundle (in memory, first), then cancel each
        by its uuid; returns the hashes of the bundles cancelled."""
        bundles = [o for o in self._outstanding.values() if o.kind == "bundle" and not o.cancelled]
        for out in bundles:
            out.cancelled = True
        jobs = []
        for out in bundles:
            route = self._by_name.get(out.route)
            if isinstance(route, BundleRoute):
                jobs.append(route.cancel(out))
        await asyncio.gather(*jobs)
        if bundles:
            log.warning("kill switch: cancelled %d outstanding bundles", len(bundles))
        return [o.tx_hash for o in bundles]

    async def send_replacements(self, replacements: Sequence[tuple[str, str]]) -> list[Any]:
        """The kill switch's same-nonce replacements, each through the route that sent
        its original (a private one stays private). Each result: None or the error."""
        return list(await asyncio.gather(*(self._replace(h, raw) for h, raw in replacements)))

    async def _replace(self, tx_hash: str, raw: str) -> Any:
        client = self.lookup(tx_hash)
        try:
            await client.call("eth_sendRawTransaction", [raw])
        except (NodeRpcError, ProviderUnavailable) as exc:
            return exc
        return None

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for route in self.routes:
            await route.close()


def _log_failures(relays: Sequence[RelayClient], results: Sequence[Any], what: str) -> None:
    for relay, result in zip(relays, results, strict=True):
        if isinstance(result, (ProviderUnavailable, NodeRpcError)):
            log.warning("%s at %s: %s", what, relay.rpc.endpoint.label, result)
        elif isinstance(result, BaseException):
            raise result


def _route(
    entry: RouteEntry, providers: ProviderSet, auth: RelayAuth | None, timeout: float
) -> Route:
    if entry.kind == "public":
        return PublicRoute(entry.name, entry.priority, providers)
    if entry.kind == "private":
        return PrivateRoute(entry, timeout)
    if auth is None:
        raise RouteError(f"bundle route {entry.name} needs evm.reputation_key_file")
    return BundleRoute(entry, auth, providers, timeout)
