"""Failover on the simulated market: the same health model and selector as the evm
venue, clocked by blocks, so a seed replays the same failovers."""

from __future__ import annotations

from typing import Any

from engine.market.sim import SimVenue
from engine.providers.selector import ProviderStatus, Switch
from tests.market.sim.drive import sim_section

Run = tuple[list[int], list[str], list[list[dict[str, Any]]], list[Switch]]


async def follow(venue: SimVenue, last_block: int) -> Run:
    """Blocks up to `last_block`: numbers, who delivered each, health after each, switches."""
    numbers, delivered, snapshots = [], [], []
    await venue.start()
    try:
        async for update in venue.blocks():
            numbers.append(update.block.number)
            delivered.append(update.provider)
            snapshots.append([p.to_dict() for p in venue.provider_health()])  # the wire rows
            if update.block.number >= last_block:
                break
    finally:
        await venue.stop()
    return numbers, delivered, snapshots, list(venue._providers.selector.history)


def active_rows(snapshots: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [next(p for p in snapshot if p["active"]) for snapshot in snapshots]


async def test_a_stalling_active_provider_is_replaced_when_two_blocks_behind() -> None:
    sim = sim_section(seed=3, provider_stall_probability=[1.0, 0.0, 0.0])
    numbers, delivered, snapshots, switches = await follow(SimVenue(sim), 60)

    assert numbers == list(range(61))  # nothing lost, nothing repeated
    first = switches[0]
    assert (first.event, first.previous) == ("failover", "alpha-rpc")
    assert first.reason == "failover from alpha-rpc: lagging 2 blocks behind the best head"
    assert set(delivered[5:]) <= {"bravo-rpc", "charlie-rpc"}
    assert max(p["head_lag"] for p in active_rows(snapshots)[5:]) < 2


async def test_errors_fall_back_per_block_and_show_in_health() -> None:
    sim = sim_section(
        seed=5, provider_error_rate=[0.3, 0.2, 0.0], provider_stall_probability=[0.08, 0.0, 0.0]
    )
    numbers, delivered, snapshots, switches = await follow(SimVenue(sim), 150)

    assert numbers == list(range(151))
    assert len(set(delivered)) > 1  # errors fetched blocks from a backup
    assert switches and switches[0].previous == "alpha-rpc"
    alpha = [next(p for p in s if p["name"] == "alpha-rpc") for s in snapshots]
    assert min(p["success_rate"] for p in alpha) < 0.95
    assert any(p["consecutive_failures"] > 0 for p in alpha)
    assert {p["status"] for p in alpha} & {"degraded", "down"}
    for row in snapshots[-1]:
        assert {"name", "status", "latency_ms_ewma", "success_rate", "consecutive_failures"} <= set(
            row
        )
        assert {"last_error", "head_lag", "active", "pinned", "usable", "stalled"} <= set(row)


async def test_a_pinned_provider_is_never_left_even_when_it_stalls() -> None:
    venue = SimVenue(sim_section(seed=3, provider_stall_probability=[0.5, 0.0, 0.0]))
    venue._providers.selector.pin("alpha-rpc", "test: operator pin")
    numbers, delivered, snapshots, switches = await follow(venue, 60)

    assert numbers == list(range(61))
    assert set(delivered) == {"alpha-rpc"}
    assert [s.event for s in switches] == ["pinned"]
    assert max(p["head_lag"] for p in active_rows(snapshots)) >= 2  # it held blocks back
    assert any(not p["usable"] for p in active_rows(snapshots))


async def test_the_same_seed_fails_over_at_the_same_blocks() -> None:
    def flaky(block_ms: int) -> SimVenue:
        rates = {"provider_error_rate": [0.3, 0.2, 0.0], "provider_stall_probability": [0.1, 0, 0]}
        return SimVenue(sim_section(seed=11, block_ms=block_ms, **rates))

    first = await follow(flaky(1), 120)
    second = await follow(flaky(6), 120)
    assert first[1] == second[1]  # who delivered each block
    assert [(s.previous, s.active, s.reason) for s in first[3]] == [
        (s.previous, s.active, s.reason) for s in second[3]
    ]


WIRE_ROW = [
    "name", "kind", "status", "latency_ms_ewma", "success_rate", "consecutive_failures",
    "last_error", "last_error_at", "head_lag", "last_head", "requests", "priority",
    "offline_reason", "active", "pinned", "usable", "unusable_reason", "breaker", "stalled",
    "latency_counts", "latency_sum_ms",  # every answer time (Prometheus' rpc latency histogram)
]  # fmt: skip


async def test_the_venue_reports_typed_provider_health_and_the_wire_row_is_unchanged() -> None:
    sim = sim_section(seed=3, provider_stall_probability=[1.0, 0.0, 0.0])
    _, _, _, _ = await follow(venue := SimVenue(sim), 10)
    health = venue.provider_health()
    assert all(isinstance(status, ProviderStatus) for status in health)
    active = next(status for status in health if status.active)
    assert active.kind == "rpc" and active.usable and active.breaker.state == "closed"
    row = health[0].to_dict()
    assert list(row) == WIRE_ROW
    assert list(row["breaker"]) == ["state", "retry_at", "times_opened"]
    assert row["stalled"] is True and row["name"] == "alpha-rpc"
