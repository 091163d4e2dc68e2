"""Automatic failover on the devnet: three proxies in front of one anvil, faults injected
into the active one while the evm venue, search, executor and pipeline run for real.

"Within two blocks": at most two blocks are mined after the fault (each one once the
healthy providers have reported it), then the switch must come without any further
block; the wait is bounded by a deadline only, nothing is timed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from engine.devnet import anvil
from engine.devnet.world import World
from engine.market.evm.rpc import ProviderUnavailable
from tests.devnet.test_evm_trading import (
    Engine,
    Rig,
    head,
    make_rig,
    start_engine,
    stop_engine,
    swap,
    until,
)
from tests.providers.conftest import proxied_config
from tests.providers.proxy import FaultProxy, Faults

pytestmark = pytest.mark.devnet

Running = tuple[Rig, Engine]


@pytest.fixture
async def running(
    world: World, clean_chain: None, tmp_path: Path, proxies: list[FaultProxy]
) -> AsyncIterator[Running]:
    rig = await make_rig(proxied_config(world, proxies), tmp_path)
    engine = await start_engine(rig, tmp_path)
    try:
        await engine.settled(world, rig.venue)  # the devnet's built-in dislocations first
        top = head(world)
        await until(lambda: every_provider_at(rig, top), "every provider probed at the head")
        yield rig, engine
    finally:
        await stop_engine(engine)
        await rig.venue.stop()


def every_provider_at(rig: Rig, number: int) -> bool:
    return all(p.health.last_head >= number for p in rig.venue.providers.providers)


def active(rig: Rig) -> str:
    return rig.venue.providers.selector.active


def row(rig: Rig, name: str) -> dict[str, object]:
    return next(r.to_dict() for r in rig.venue.provider_health() if r.name == name)


async def within_two_blocks(world: World, rig: Rig, done: Callable[[], bool], what: str) -> None:
    """Mine at most two blocks (each once the best head shows it), then wait for `done`."""
    for _ in range(2):
        if done():
            return
        anvil.mine(world.rpc_url)
        await until(reached(rig, head(world), done), "the block to be reported")
    await until(done, what)


def reached(rig: Rig, block: int, done: Callable[[], bool]) -> Callable[[], bool]:
    return lambda: done() or rig.venue.providers.best_head >= block


FAULTS: dict[str, tuple[Callable[[Faults, int], None], str]] = {
    "reset": (lambda f, _: setattr(f, "reset", True), ""),
    "stall": (lambda f, _: setattr(f, "stall", True), ""),
    "stale head": (lambda f, top: setattr(f, "stale_block", top), "lagging"),
    "wrong chain id": (lambda f, _: setattr(f, "chain_id", 1), "serves chain id 1"),
}


@pytest.mark.parametrize("fault", FAULTS)
async def test_the_engine_fails_over_within_two_blocks(
    world: World, running: Running, proxies: list[FaultProxy], fault: str
) -> None:
    rig, engine = running
    assert active(rig) == "p0"
    inject, words = FAULTS[fault]
    inject(proxies[0].faults, head(world))

    await within_two_blocks(world, rig, lambda: active(rig) != "p0", f"failover on {fault}")

    p0 = row(rig, "p0")
    assert not p0["usable"] and words in str(p0["unusable_reason"])
    history = rig.venue.providers.selector.history
    assert history[-1].event == "failover" and history[-1].previous == "p0"
    anvil.mine(world.rpc_url)  # the engine keeps following the chain on the new provider
    top = head(world)
    await until(lambda: seen(engine) >= top, "the engine to follow the chain")
    assert engine.pipeline.last_update is not None
    assert engine.pipeline.last_update.provider == active(rig) != "p0"


def seen(engine: Engine) -> int:
    update = engine.pipeline.last_update
    return update.block.number if update else -1


async def test_trading_goes_on_after_a_failover(
    world: World, running: Running, proxies: list[FaultProxy]
) -> None:
    rig, engine = running
    proxies[0].faults.reset = True
    await within_two_blocks(world, rig, lambda: active(rig) != "p0", "failover")

    block = swap(world, "uniswap", "DAI", "WETH", 30_000 * 10**18)
    await engine.settled(world, rig.venue, after=block)

    trades = [t for t in await engine.trades() if t.opportunity_id.startswith(f"{block}-")]
    assert trades and all(t.status == "success" for t in trades)


async def test_a_stale_provider_is_never_traded_on(
    world: World, running: Running, proxies: list[FaultProxy]
) -> None:
    """p0 goes back to serving the block of a dislocation the engine already traded: its
    whole view (heads, reserves, dry runs) says the opportunity is still there."""
    rig, engine = running
    dislocated = swap(world, "uniswap", "DAI", "WETH", 30_000 * 10**18)
    await engine.settled(world, rig.venue, after=dislocated)
    traded = [t for t in await engine.trades() if t.opportunity_id.startswith(f"{dislocated}-")]
    assert traded, "the dislocation is traded once, while p0 is honest"
    sent = rig.venue.status()["sent"]
    found = opportunities_at(engine, dislocated)

    proxies[0].faults.stale_block = dislocated
    await within_two_blocks(world, rig, lambda: active(rig) != "p0", "failover off a stale p0")

    assert opportunities_at(engine, dislocated) == found  # the stale head never became data
    assert rig.venue.status()["sent"] == sent
    await engine.settled(world, rig.venue)
    assert rig.venue.status()["sent"] == sent


async def test_a_head_older_than_one_followed_is_refused_and_blamed_on_its_provider(
    world: World, running: Running, proxies: list[FaultProxy]
) -> None:
    """One block behind is within the lag allowance, but going back is never new data."""
    rig, engine = running
    anvil.mine(world.rpc_url)
    top = head(world)
    await until(lambda: seen(engine) >= top and every_provider_at(rig, top), "block followed")
    proxies[0].faults.stale_block = top - 1

    await until(lambda: "stale head" in str(row(rig, "p0")["last_error"]), "the head refused")
    assert f"block {top - 1} is older than block {top} already followed" in str(
        row(rig, "p0")["last_error"]
    )
    await within_two_blocks(world, rig, lambda: active(rig) != "p0", "failover off p0")

    assert seen(engine) >= top
    assert all("stale" not in str(row(rig, name)["last_error"]) for name in ("p1", "p2"))


def opportunities_at(engine: Engine, block: int) -> int:
    recent = engine.pipeline.recent_opportunities(200)
    return sum(1 for o in recent if o["block_number"] == block)


async def test_a_flapping_pinned_provider_is_not_called_on_every_request(
    running: Running, proxies: list[FaultProxy]
) -> None:
    rig, _ = running
    rig.venue.providers.selector.pin("p0", "test: pinned to a flapping endpoint")
    proxies[0].faults.flap_every = 2
    before, calls, refused = proxies[0].requests, 60, 0
    for _ in range(calls):
        try:
            await rig.venue.client.call("eth_blockNumber")
        except ProviderUnavailable:
            refused += 1

    reached = proxies[0].requests - before  # the follower's and prober's requests included
    breaker = rig.venue.providers.selector.breakers["p0"]
    assert breaker.times_opened >= 1
    assert reached <= calls // 2 and refused > calls // 2
    assert active(rig) == "p0"  # pinned: never switched away
