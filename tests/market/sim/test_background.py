"""The background searchers' sweep is incremental and trades exactly as a full sweep.

Work per block follows the pools that changed, not the size of the market: a pair group
none of whose pools changed since the last sweep is not examined again (its widest
spread is remembered). The outcome is the same as examining every group every block —
same random draws, same trades — which `full_sweep` below (the former algorithm, kept
here as the reference) checks block by block.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from engine.config import SimSection
from engine.market.model import Market
from engine.market.sim import competitors, swap
from engine.market.sim.chain import SimChain
from engine.market.sim.world import build_world


@pytest.fixture
def widest_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many pair groups the sweep examined (calls of `_widest`), per test."""
    calls = [0]
    original = competitors._widest

    def counted(*args: object, **kwargs: object) -> object:
        calls[0] += 1
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(competitors, "_widest", counted)
    yield calls


def calm_market(tokens: int = 40) -> Market:
    return build_world(SimSection(v3_pools=False, seed=3, tokens=tokens)).market


def groups_of(market: Market) -> int:
    return len(competitors._pair_groups(market))


def test_a_sweep_over_an_unchanged_market_examines_no_pair_group(
    widest_calls: list[int],
) -> None:
    market = calm_market()
    background = competitors.BackgroundArbs(random.Random(1), probability=1.0)
    assert background.sweep(market, reserved=set()) == set()  # calm: nothing to close
    widest_calls[0] = 0
    for _ in range(5):
        assert background.sweep(market, reserved=set()) == set()
    assert widest_calls[0] == 0


def test_a_sweep_examines_only_the_changed_groups_whose_spread_may_be_wide(
    widest_calls: list[int],
) -> None:
    market = calm_market()
    background = competitors.BackgroundArbs(random.Random(1), probability=1.0)
    background.sweep(market, reserved=set())
    groups = competitors._pair_groups(market)
    whales = [market.pools[group[0]] for group in groups[:3]]
    ripples = [market.pools[group[0]] for group in groups[3:10]]
    for pool in whales:
        swap.swap(pool, pool.token0, pool.reserve0 // 10)  # a spread far beyond fees
    for pool in ripples:
        swap.swap(pool, pool.token0, pool.reserve0 // 10_000)  # within fees
    background.note_changed({pool.address for pool in whales + ripples})
    widest_calls[0] = 0
    traded = background.sweep(market, reserved=set())
    assert widest_calls[0] == len(whales)
    assert {pool.address for pool in whales} <= traded


def test_a_reserved_pool_is_left_alone_even_when_its_group_is_remembered_open() -> None:
    market = calm_market()
    pool = next(p for p in market.pools.values() if p.token0 == market.native)
    swap.swap(pool, pool.token0, pool.reserve0 // 20)  # a whale: a wide spread opens
    background = competitors.BackgroundArbs(random.Random(1), probability=1.0)
    for _ in range(3):  # examined once, then remembered: still never traded while reserved
        assert pool.address not in background.sweep(market, reserved={pool.address})
    assert pool.address in background.sweep(market, reserved=set())


def test_the_batched_draws_are_the_streams_own_draws() -> None:
    for n in (0, 1, 2, 7, 1_000):
        batched, one_by_one = random.Random(n), random.Random(n)
        draws = competitors.uniform_draws(batched, n)
        assert draws.tolist() == [one_by_one.random() for _ in range(n)]
        assert batched.getstate() == one_by_one.getstate()


def full_sweep(
    rng: random.Random, market: Market, reserved: set[str], probability: float
) -> set[str]:
    """The former sweep: every group drawn and, when drawn, examined, every block."""
    changed: set[str] = set()
    for group in competitors._pair_groups(market):
        if rng.random() >= probability:
            continue
        pools = [market.pools[a] for a in group if a not in reserved]
        best = competitors._widest(pools, competitors.BACKGROUND_THRESHOLD_BPS)
        if best is None:
            continue
        first, second, amount = best
        amount = amount * rng.randint(*competitors.BACKGROUND_SIZE_PPM) // competitors.PPM
        if amount <= 0:
            continue
        middle = swap.swap(first, first.token0, amount)
        swap.swap(second, first.token1, middle)
        changed |= {first.address, second.address}
    return changed


@pytest.mark.parametrize("seed", [1, 2])
def test_the_incremental_sweep_trades_exactly_as_the_full_sweep(seed: int) -> None:
    sim = SimSection(
        v3_pools=False, seed=seed, tokens=30, noise_swaps_per_block=40, noise_tail_alpha=1.1
    )
    chain = SimChain(sim)
    reference = SimChain(sim)
    rng = random.Random(f"arbctl-sim:{seed}:background")  # the chain's own stream
    sweeps = 0
    for block in range(400):
        reserved = set(list(chain.market.pools)[block % 7 :: 50])
        ours = chain.background.sweep(chain.market, reserved)
        theirs = full_sweep(rng, reference.market, reserved, competitors.BACKGROUND_PROBABILITY)
        assert ours == theirs, block
        sweeps += len(ours)
        ours |= chain.noise.trade(chain.market)
        theirs |= reference.noise.trade(reference.market)
        chain.background.note_changed(ours)
    assert sweeps > 20
    assert {a: (p.reserve0, p.reserve1) for a, p in chain.market.pools.items()} == {
        a: (p.reserve0, p.reserve1) for a, p in reference.market.pools.items()
    }
