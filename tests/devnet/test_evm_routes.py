"""Submission routes on the devnet: private transactions and bundles, and the kill switch.

The engine's parts are the real ones (venue, executor, send gate, kill switch, routes,
relay client), on the session's anvil. Around them, two test doubles from tests/support:
- `RecordingProxy` (rpc_proxy.py): the public RPC endpoint the engine follows, and a
  private endpoint, both forwarding to the one anvil and recording what reached them.
  The same chain behind both is what makes the test honest: a private transaction is
  mined and read back publicly, and the public proxy's record shows whether the public
  endpoint was ever handed it;
- `BuilderDouble` (builder.py): stands in for an external bundle relay/builder; it
  verifies the X-Flashbots-Signature header and builds blocks on anvil (automine off)
  with each bundle whole or not at all, when the test says.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_hash.auto import keccak

from engine.bus import EventBus
from engine.config import Config, ConfigError, RouteEntry, load
from engine.daemon import build_executor, build_venue
from engine.devnet import anvil, operator_files
from engine.devnet.world import World
from engine.execution.evm import EvmExecutor
from engine.execution.gate import GateClosed, SendGate
from engine.guards.approver import Guards
from engine.guards.gas import current_fees
from engine.guards.rules import build_rules
from engine.killswitch import KillSwitch
from engine.ledger.records import TradeRecord
from engine.ledger.sqlite import SqliteLedger
from engine.ledger.writer import LedgerWriter
from engine.lifecycle import Actor, Lifecycle
from engine.market.evm.endpoint_health import ProviderHealth
from engine.market.evm.endpoints import Provider, ProviderSet
from engine.market.evm.routes import SubmissionRoutes
from engine.market.evm.rpc import Endpoint, NodeRpcError, ProviderUnavailable, RpcClient
from engine.market.evm.venue import EvmVenue
from engine.providers.health import DOWN_FAILURES
from engine.redaction import scrub
from engine.strategy.opportunity import Opportunity
from engine.strategy.search import ArbitrageSearch
from tests.conftest import EngineHandle, wait_until
from tests.devnet.test_evm_trading import nonce, txpool_pending, until
from tests.guards.conftest import rpc
from tests.support.builder import BuilderDouble
from tests.support.rpc_proxy import RecordingProxy

pytestmark = pytest.mark.devnet

OPERATOR = Actor(uid=1000, client="test")
WAIT_S = 30.0
KILL_TRIALS = 21
TARGET_BLOCKS = 2
BUILDER_SHARE_BPS = 5_000
DROP_AFTER_S = 0.3


# --- helpers -----------------------------------------------------------------------------
def chain_nonce(world: World, tag: str = "latest") -> int:
    return nonce(world, world.operator, tag)


def tx_hash(raw: str) -> str:
    return "0x" + keccak(bytes.fromhex(raw[2:])).hex()


def key_file(directory: Path, key: bytes, mode: int = 0o600) -> Path:
    path = directory / f"key-{key.hex()[:6]}"
    path.write_text("0x" + key.hex() + "\n")
    os.chmod(path, mode)
    return path


def routed_config(
    world: World, directory: Path, public_url: str, routes: str, reputation: Path | None = None
) -> Path:
    """The devnet's config with its RPC endpoint behind `public_url`, `routes` added, and
    the reputation key file named: written as a file, so the one validator reads it."""
    # V2 only (no V3 factory, no lenders): these rigs' executors borrow from the first pair
    text = operator_files.render_config(dataclasses.replace(world, v3=None))
    text = text.replace(f'url = "{world.rpc_url}"', f'url = "{public_url}"')
    evm_lines = "poll_interval_ms = 20\n"
    if reputation is not None:
        evm_lines += f'reputation_key_file = "{reputation}"\n'
    text = text.replace("\n[evm]\n", "\n[evm]\n" + evm_lines, 1)
    path = directory / "routed.toml"
    path.write_text(text + "\n" + routes)
    return path


@dataclass
class Rig:
    config: Config
    venue: EvmVenue
    search: ArbitrageSearch
    executor: EvmExecutor
    gate: SendGate
    lifecycle: Lifecycle
    killswitch: KillSwitch


async def make_rig(config: Config, state: Path) -> Rig:
    from engine.daemon import build_search

    venue = build_venue(config)
    assert isinstance(venue, EvmVenue)
    await venue.start()
    bus = EventBus()
    lifecycle = Lifecycle(state, bus)
    lifecycle.started()
    gate = SendGate(lifecycle, venue)
    executor = build_executor(config, gate, venue)
    assert isinstance(executor, EvmExecutor)
    audit = _Audit()
    # A latch written at once (a fast disk): the acknowledgement does not wait on the
    # disk, so it must wait for the bundles' cancellation itself.
    killswitch = KillSwitch(lifecycle, state, gate, audit, bus, write_marker=_instant_latch)
    return Rig(config, venue, build_search(config, venue), executor, gate, lifecycle, killswitch)


def _instant_latch(state_dir: Path, reason: str, uid: int, source: str) -> dict[str, object]:
    return {"reason": reason}


class _Audit:
    def record(self, *args: object, **kwargs: object) -> None:
        return None


async def stop_rig(rig: Rig) -> None:
    await rig.killswitch.close()
    await rig.venue.stop()


@asynccontextmanager
async def routed_rig(
    world: World, directory: Path, public_url: str, routes: str, reputation: Path | None = None
) -> AsyncIterator[Rig]:
    """A rig on the devnet's config with `routes` (see `routed_config`), stopped on exit."""
    config = load(routed_config(world, directory, public_url, routes, reputation))
    rig = await make_rig(config, directory)
    try:
        yield rig
    finally:
        await stop_rig(rig)


def private_route(url: str) -> str:
    return f'[[routes]]\nname = "protect"\nkind = "private"\nurl = "{url}"\n'


async def sent_as_bundle(
    rig: Rig, builder: BuilderDouble, opportunity: Opportunity
) -> asyncio.Task[TradeRecord]:
    """The execution of `opportunity`, running, once its bundle is at the builder."""
    sending = asyncio.create_task(rig.executor.execute(opportunity))
    await until(lambda: builder.bundles != {}, "the bundle at the builder")
    return sending


async def new_bundle(builder: BuilderDouble, known: set[str]) -> str:
    """The uuid of the first bundle the relay hears of that is not in `known`."""
    await until(lambda: set(builder.bundles) - known != set(), "a bundle at the relay")
    return (set(builder.bundles) - known).pop()


async def caught_up(world: World, rig: Rig) -> None:
    head = int(anvil.rpc(world.rpc_url, "eth_blockNumber"), 16)
    await until(lambda: rig.venue.routes.head >= head, "the engine at the chain's head")


async def until_signed(rig: Rig, before: int) -> None:
    """Until the order is signed: checked every loop step, so a kill can follow at once
    (while its bundle is still on the way to the relay)."""
    deadline = time.monotonic() + WAIT_S
    while rig.venue.status()["sent"] == before:
        assert time.monotonic() < deadline, "the order was never signed"
        await asyncio.sleep(0)


async def retargeted(builder: BuilderDouble, uuid: str, lost: int) -> None:
    await until(lambda: builder.bundles[uuid].block > lost, "the re-target after a lost block")


async def first_opportunity(rig: Rig) -> Opportunity:
    update = await anext(rig.venue.blocks())
    found = rig.search.on_block(update.block, update.changed_pools, rig.venue.gas_price())
    assert found, "the devnet should offer its built-in dislocations"
    return found[0]


# --- fixtures ----------------------------------------------------------------------------
@pytest.fixture
def manual_mining(world: World, clean_chain: None) -> Iterator[None]:
    anvil.set_automine(world.rpc_url, False)
    try:
        yield
    finally:
        anvil.set_automine(world.rpc_url, True)


@pytest.fixture
async def public(world: World) -> AsyncIterator[RecordingProxy]:
    async with RecordingProxy(world.rpc_url) as proxy:
        yield proxy


@pytest.fixture
async def private(world: World) -> AsyncIterator[RecordingProxy]:
    async with RecordingProxy(world.rpc_url) as proxy:
        yield proxy


@pytest.fixture
async def builder(world: World) -> AsyncIterator[BuilderDouble]:
    async with BuilderDouble(world.rpc_url) as double:
        yield double


@pytest.fixture
def reputation_key() -> bytes:
    return bytes.fromhex("5e" * 31 + "01")


@pytest.fixture
async def bundle_rig(
    world: World,
    manual_mining: None,
    public: RecordingProxy,
    builder: BuilderDouble,
    reputation_key: bytes,
    tmp_path: Path,
) -> AsyncIterator[Rig]:
    routes = (
        "[[routes]]\n"
        'name = "builder"\n'
        'kind = "bundle"\n'
        f'url = "{builder.url}"\n'
        f"target_blocks = {TARGET_BLOCKS}\n"
        'builders = ["double"]\n'
        "call_bundle = true\n"
        f"builder_share_bps = {BUILDER_SHARE_BPS}\n"
    )
    reputation = key_file(tmp_path, reputation_key)
    async with routed_rig(world, tmp_path, public.url, routes, reputation) as rig:
        yield rig


# --- private route -------------------------------------------------------------------------
async def test_a_private_route_sends_to_its_endpoint_and_never_to_the_public_one(
    world: World,
    clean_chain: None,
    public: RecordingProxy,
    private: RecordingProxy,
    tmp_path: Path,
) -> None:
    async with routed_rig(world, tmp_path, public.url, private_route(private.url)) as rig:
        trade = await asyncio.wait_for(rig.executor.execute(await first_opportunity(rig)), WAIT_S)

    assert trade.status == "success"
    assert [tx_hash(raw) for raw in private.sent_raw()] == [trade.tx_hash]
    assert public.sent_raw() == []
    assert "eth_getTransactionReceipt" in public.methods()  # it was read back publicly


async def test_the_kill_replacement_of_a_private_transaction_stays_private(
    world: World,
    manual_mining: None,
    public: RecordingProxy,
    private: RecordingProxy,
    tmp_path: Path,
) -> None:
    async with routed_rig(world, tmp_path, public.url, private_route(private.url)) as rig:
        sending = asyncio.create_task(rig.executor.execute(await first_opportunity(rig)))
        await until(lambda: len(private.sent_raw()) == 1, "our transaction at the private endpoint")
        pending = rig.venue.submission_status()["pending_private"]
        await rig.killswitch.kill("test: kill", OPERATOR)
        await rig.killswitch.settled()
        anvil.mine(world.rpc_url)
        trade = await asyncio.wait_for(sending, WAIT_S)

    original, replacement = (tx_hash(raw) for raw in private.sent_raw())
    assert [p["hash"] for p in pending] == [original]
    assert trade.tx_hash == replacement  # the same-nonce replacement, mined
    assert public.sent_raw() == []
    assert trade.status == "failed" and "cancelled by kill switch" in trade.revert_reason


async def test_a_private_transaction_the_node_dropped_is_sent_again_to_its_route_only(
    world: World,
    manual_mining: None,
    public: RecordingProxy,
    private: RecordingProxy,
    tmp_path: Path,
) -> None:
    """The drop logic asks the route that sent it whether the node still has it, and
    re-sends the same bytes there: a private transaction never reaches the public node."""
    async with routed_rig(world, tmp_path, public.url, private_route(private.url)) as rig:
        rig.venue.drops.after_s = DROP_AFTER_S
        sending = asyncio.create_task(rig.executor.execute(await first_opportunity(rig)))
        await until(lambda: txpool_pending(world) == 1, "our transaction in the node's pool")
        (raw,) = private.sent_raw()
        anvil.rpc(world.rpc_url, "anvil_dropTransaction", [tx_hash(raw)])
        assert txpool_pending(world) == 0
        await until(lambda: rig.venue.drops.stats.rebroadcasts == 1, "the re-broadcast")
        anvil.mine(world.rpc_url)
        trade = await asyncio.wait_for(sending, WAIT_S)

    assert trade.status == "success" and trade.tx_hash == tx_hash(raw)
    assert private.sent_raw() == [raw, raw]  # the same signed bytes, to the same route
    assert trade.tx_hash in asked_for(private)
    assert public.sent_raw() == [] and trade.tx_hash not in asked_for(public)


def asked_for(proxy: RecordingProxy) -> list[str]:
    """The transactions this endpoint was asked whether it knows."""
    return [str(p[0]) for m, p in proxy.calls if m == "eth_getTransactionByHash"]


# --- bundles --------------------------------------------------------------------------------
async def test_a_bundle_signed_by_the_reputation_key_is_built_into_the_next_block(
    world: World,
    bundle_rig: Rig,
    builder: BuilderDouble,
    public: RecordingProxy,
    reputation_key: bytes,
) -> None:
    opportunity = await first_opportunity(bundle_rig)
    start = anvil.rpc(world.rpc_url, "eth_blockNumber")
    sending = await sent_as_bundle(bundle_rig, builder, opportunity)
    pending = bundle_rig.venue.submission_status()["pending_bundles"]
    built = await builder.build_block()
    trade = await asyncio.wait_for(sending, WAIT_S)

    assert trade.status == "success" and trade.block_number == built.number
    assert built.number == int(start, 16) + 1 and built.tx_hashes == [trade.tx_hash]
    assert builder.methods[:2] == ["eth_callBundle", "eth_sendBundle"]
    reputation = Account.from_key(reputation_key).address
    assert builder.signers == {reputation} and reputation != world.operator
    bundle = next(iter(builder.bundles.values()))
    assert bundle.builders == ["double"]
    assert [p["uuid"] for p in pending] == [bundle.uuid] and pending[0]["target"] == built.number
    assert public.sent_raw() == [] and "eth_sendBundle" not in public.methods()
    assert bundle_rig.venue.submission_status()["pending_bundles"] == []


async def test_a_bundled_transaction_no_node_has_is_never_rebroadcast(
    world: World, bundle_rig: Rig, builder: BuilderDouble, public: RecordingProxy
) -> None:
    """A bundle is in no node's pool until a block includes it, so to the drop logic it
    looks dropped: the deadline passing again and again sends nothing anywhere."""
    bundle_rig.venue.drops.after_s = DROP_AFTER_S
    sending = await sent_as_bundle(bundle_rig, builder, await first_opportunity(bundle_rig))
    await asyncio.sleep(DROP_AFTER_S * 5)  # several deadlines pass, the sender polling
    # before the block: a public re-broadcast would also stop the builder's block
    assert public.sent_raw() == [] and bundle_rig.venue.drops.stats.rebroadcasts == 0
    built = await builder.build_block()
    trade = await asyncio.wait_for(sending, WAIT_S)

    assert trade.status == "success" and trade.block_number == built.number
    assert public.sent_raw() == [] and "eth_sendRawTransaction" not in builder.methods


async def test_a_bundle_no_block_includes_is_retargeted_then_given_up_and_its_nonce_reused(
    world: World, bundle_rig: Rig, builder: BuilderDouble, public: RecordingProxy
) -> None:
    opportunity = await first_opportunity(bundle_rig)
    first = chain_nonce(world)
    sending = await sent_as_bundle(bundle_rig, builder, opportunity)
    uuid = next(iter(builder.bundles))
    targets = []
    for lost in range(TARGET_BLOCKS):
        targets.append(builder.bundles[uuid].block)
        built = await builder.build_block(include=False)  # a block our bundle lost
        if lost < TARGET_BLOCKS - 1:
            await retargeted(builder, uuid, built.number)
    trade = await asyncio.wait_for(sending, WAIT_S)

    assert targets == [targets[0] + i for i in range(TARGET_BLOCKS)]
    assert trade.status == "failed" and "not included in blocks" in trade.revert_reason
    assert trade.gas_used == 0 and trade.gas_cost_wei == 0
    assert chain_nonce(world) == first
    assert bundle_rig.venue.status()["nonce"] == first  # the nonce is free again
    assert public.sent_raw() == []


async def test_kill_with_bundles_outstanding_lets_none_be_built_after_the_acknowledgement(
    world: World, bundle_rig: Rig, builder: BuilderDouble, public: RecordingProxy
) -> None:
    """Three moments of the kill, in turn: while the bundle is on its way to the relay,
    once the relay has it, and after a block it lost (it was re-targeted)."""
    opportunity = await first_opportunity(bundle_rig)
    first = chain_nonce(world)
    outcomes = []
    for trial in range(KILL_TRIALS):
        await caught_up(world, bundle_rig)  # the bundle targets the block after the chain's
        known = set(builder.bundles)
        before = bundle_rig.venue.status()["sent"]
        sending = asyncio.create_task(bundle_rig.executor.execute(opportunity))
        moment = trial % 3
        await until_signed(bundle_rig, before)
        if moment >= 1:
            uuid = await new_bundle(builder, known)
        if moment == 2:
            built = await builder.build_block(include=False)
            await retargeted(builder, uuid, built.number)
        signed = bundle_rig.venue.status()["sent"]
        await bundle_rig.killswitch.kill(f"test: trial {trial}", OPERATOR)
        acknowledged = time.time()  # the kill's answer is in the operator's hands
        ours = set(builder.bundles) - known  # the relay heard of it, or of its cancel
        with pytest.raises(GateClosed):
            await bundle_rig.executor.execute(opportunity)
        for _ in range(TARGET_BLOCKS + 1):
            await builder.build_block()
        trade = await asyncio.wait_for(sending, WAIT_S)
        outcomes.append(trade)

        assert builder.included_after(acknowledged) == []
        assert len(ours) == 1 and builder.bundles[ours.pop()].cancelled  # before the answer
        assert bundle_rig.venue.status()["sent"] == signed  # nothing signed after the ack
        assert chain_nonce(world) == first
        assert trade.status == "failed" and "cancelled by kill switch" in trade.revert_reason
        await bundle_rig.killswitch.settled()
        await bundle_rig.killswitch.resume("test: next trial", OPERATOR)

    uuids = {u for u in builder.bundles}
    cancelled = {u for _, what, u in builder.events if what == "cancel"}
    assert cancelled == uuids  # every bundle the relay heard of was cancelled by its uuid
    assert public.sent_raw() == []
    assert len(outcomes) == KILL_TRIALS


async def test_a_bundle_bids_its_builder_share_as_priority_fee_capped_by_the_gas_guard(
    world: World, bundle_rig: Rig, builder: BuilderDouble, tmp_path: Path
) -> None:
    store = SqliteLedger(tmp_path / "ledger.sqlite3")
    await store.open()
    guards = Guards.from_config(
        bundle_rig.config, EventBus(), LedgerWriter(store), bundle_rig.venue
    )
    opportunity = await first_opportunity(bundle_rig)
    base, tip = current_fees(bundle_rig.venue, None)

    public = guards.bid(opportunity)  # strategy.priority_fee_share_bps = 0: the venue's tip
    guards.route_share = bundle_rig.venue.routes.builder_share_bps  # as the daemon wires it
    bundled = guards.bid(opportunity)
    guards.thresholds = dataclasses.replace(guards.thresholds, max_gas_price=base + tip + 7)
    guards.opportunity_rules, guards.trade_rules = build_rules(guards.thresholds)
    capped = guards.bid(opportunity)

    sending = await sent_as_bundle(bundle_rig, builder, bundled)
    await builder.build_block()
    trade = await asyncio.wait_for(sending, WAIT_S)
    await store.close()

    assert public.priority_fee == tip
    assert bundled.priority_fee > tip and bundled.net_profit < opportunity.net_profit
    assert capped.priority_fee == tip + 7  # the max-gas-price guard's threshold less base fee
    mined = anvil.rpc(world.rpc_url, "eth_getTransactionByHash", [trade.tx_hash])
    assert int(mined["maxPriorityFeePerGas"], 16) == bundled.priority_fee
    assert trade.status == "success"


async def test_a_bundle_goes_to_every_relay_of_its_route_and_a_kill_cancels_it_at_each(
    world: World,
    manual_mining: None,
    public: RecordingProxy,
    builder: BuilderDouble,
    reputation_key: bytes,
    tmp_path: Path,
) -> None:
    async with BuilderDouble(world.rpc_url) as other:
        routes = (
            '[[routes]]\nname = "relays"\nkind = "bundle"\n'
            f'url = "{builder.url}"\nrelays = ["{other.url}"]\ntarget_blocks = {TARGET_BLOCKS}\n'
        )
        reputation = key_file(tmp_path, reputation_key)
        async with routed_rig(world, tmp_path, public.url, routes, reputation) as rig:
            sending = asyncio.create_task(rig.executor.execute(await first_opportunity(rig)))
            await until(lambda: builder.bundles != {} and other.bundles != {}, "both relays")
            await rig.killswitch.kill("test: kill", OPERATOR)
            acknowledged = time.time()
            for _ in range(TARGET_BLOCKS + 1):
                await builder.build_block()
                await other.build_block()
            trade = await asyncio.wait_for(sending, WAIT_S)

    assert set(builder.bundles) == set(other.bundles)  # one uuid, at both relays
    assert all(b.cancelled for b in [*builder.bundles.values(), *other.bundles.values()])
    assert builder.signers == other.signers == {Account.from_key(reputation_key).address}
    assert builder.included_after(acknowledged) == other.included_after(acknowledged) == []
    assert trade.status == "failed" and "cancelled by kill switch" in trade.revert_reason


# --- keys -------------------------------------------------------------------------------
async def test_the_trading_key_as_reputation_key_stops_the_start_and_names_no_key(
    world: World, public: RecordingProxy, tmp_path: Path
) -> None:
    trading = Path(world.key_file).read_text().strip().removeprefix("0x")
    copy = key_file(tmp_path, bytes.fromhex(trading))
    routes = f'[[routes]]\nname = "b"\nkind = "bundle"\nurl = "{public.url}"\n'
    config = load(routed_config(world, tmp_path, public.url, routes, copy))

    with pytest.raises(ConfigError) as refused:
        build_venue(config)

    assert refused.value.key == "evm.reputation_key_file"
    assert "trading key" in str(refused.value) and trading not in str(refused.value).lower()


async def test_the_reputation_key_never_reaches_the_logs_and_is_registered_for_scrubbing(
    world: World,
    bundle_rig: Rig,
    builder: BuilderDouble,
    reputation_key: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sending = await sent_as_bundle(bundle_rig, builder, await first_opportunity(bundle_rig))
    await builder.build_block()
    await asyncio.wait_for(sending, WAIT_S)

    text = "\n".join(r.getMessage() for r in caplog.records).lower()
    assert caplog.records and reputation_key.hex() not in text
    assert repr(bundle_rig.venue.routes.routes[0]).find(reputation_key.hex()) == -1
    assert scrub(f"key {reputation_key.hex()}") == "key ***"


# --- the operator's view, from a real engine process ---------------------------------------
def test_providers_shows_the_routes_and_failover_route_pins_one(
    world: World, clean_chain: None, engine_factory: Callable[..., EngineHandle]
) -> None:
    routes = (
        '\n[[routes]]\nname = "protect"\nkind = "private"\nurl = "http://127.0.0.1:9"\n'
        "priority = 0\n"
        '\n[[routes]]\nname = "mempool"\nkind = "public"\npriority = 1\n'
    )
    first = chain_nonce(world, "pending")
    engine = engine_factory(operator_files.render_config(world) + routes)

    def sent_privately() -> bool:  # the devnet's dislocations, out on the (dead) private route
        return bool((rpc(engine, "status").get("submission") or {}).get("pending_private"))

    assert wait_until(sent_privately, WAIT_S), engine.log.read_text()[-3000:]

    shown = cli_json(engine, "providers")["route"]
    pinned = cli_json(engine, "failover", "--route", "mempool", "--reason", "protect is down")
    refused = engine.cli("failover", "--route", "anvil", "--reason", "not a route", "--json")
    status = cli_json(engine, "status")["submission"]
    text = engine.cli("status").stdout
    auto = cli_json(engine, "failover", "--auto", "--routes", "--reason", "protect is back")

    assert shown["active"] == "protect" and shown["mode"] == "auto"
    kinds = {p["name"]: p["route_kind"] for p in shown["providers"]}
    assert kinds == {"protect": "private", "mempool": "public"}
    assert (pinned["kind"], pinned["mode"], pinned["active"]) == ("route", "pinned", "mempool")
    assert refused.returncode == 1
    assert status["route"] == "mempool" and status["route_kind"] == "public"
    assert status["pending_bundles"] == []
    assert {p["route"] for p in status["pending_private"]} == {"protect"}
    assert chain_nonce(world, "pending") == first  # nothing of it reached the public node
    assert "mempool (public)" in text and "pending private txs" in text
    assert auto["mode"] == "auto"
    audits = rpc(engine, "audit", {"limit": 50})["entries"]
    assert any(a["action"] == "failover" and a["params"].get("kind") == "route" for a in audits)


def cli_json(engine: EngineHandle, *args: str) -> dict[str, Any]:
    done = engine.cli(*args, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


async def test_a_failing_private_route_fails_over_to_the_next_and_never_to_the_public_node(
    world: World, public: RecordingProxy, private: RecordingProxy
) -> None:
    health = ProviderHealth("anvil", 0)
    endpoint = Endpoint("anvil", public.url)
    rpcs = ProviderSet([Provider(endpoint, 0, RpcClient(endpoint, health), health)])
    entries = [
        RouteEntry("dead", "private", "http://127.0.0.1:9", priority=0),
        RouteEntry("backup", "private", private.url, priority=1),
    ]
    routes = SubmissionRoutes.build(entries, rpcs, None, 1.0)
    raw = "0x02c0"  # not a transaction: the node refuses it, which is an answer
    try:
        for _ in range(DOWN_FAILURES):
            with pytest.raises(ProviderUnavailable):
                await routes.send(raw, tx_hash(raw))
        with pytest.raises(NodeRpcError):
            await routes.send(raw, tx_hash(raw))
        rows = {s.name: s for s in routes.health()}
    finally:
        await routes.close()
        await rpcs.close()

    assert routes.selector.active == "backup" and "dead" in routes.selector.reason
    assert rows["dead"].status == "down" and rows["backup"].usable
    assert private.sent_raw() == [raw] and public.sent_raw() == []
