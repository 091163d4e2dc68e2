"""Router02 on the devnet agrees with the engine's integer AMM math, to the unit.

Each test checks 1,000 seeded random cases in one JSON-RPC batch. The pure quotes
(`getAmountOut`/`getAmountIn`) cover the whole uint112 reserve range; the path quotes
(`getAmountsOut`/`getAmountsIn`) go through the deployed pairs, so they also prove the
router finds our pairs (the init code hash) and reads their reserves the way we do.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from functools import partial

import pytest

from engine.devnet.anvil import AnvilError
from engine.devnet.batch_call import Call, call_many
from engine.devnet.world import PairRecord, World
from engine.market.amm import UniswapV2Error, get_amount_in, get_amount_out, get_amounts_out

pytestmark = pytest.mark.devnet

CASES = 1_000
UINT112 = 2**112 - 1
FEE_BPS = 30


def _log_uniform(rng: random.Random, low: int, high: int) -> int:
    """Integers spread over magnitudes, so 1-wei and whale amounts are both exercised.

    The bit length is drawn uniformly, then every bit below the top one is random: a
    float power of two would leave the low bits zero, where rounding bugs hide.
    """
    bits = rng.randint(max(low.bit_length(), 1), high.bit_length())
    value = (1 << (bits - 1)) | rng.getrandbits(bits - 1)
    return min(max(value, low), high)


def _router(world: World) -> str:
    return world.dexes[0].router


def test_get_amount_out_matches_engine_math(world: World) -> None:
    rng = random.Random(101)
    cases = [
        (
            _log_uniform(rng, 1, UINT112),
            _log_uniform(rng, 1, UINT112),
            _log_uniform(rng, 1, UINT112),
        )
        for _ in range(CASES)
    ]
    calls = [
        Call(_router(world), "getAmountOut(uint256,uint256,uint256)", c, ("uint256",))
        for c in cases
    ]

    chain = [out for (out,) in call_many(world.rpc_url, calls)]

    assert chain == [get_amount_out(a, r_in, r_out, FEE_BPS) for a, r_in, r_out in cases]


def test_get_amount_in_matches_engine_math(world: World) -> None:
    rng = random.Random(202)
    cases = []
    for _ in range(CASES):
        reserve_out = _log_uniform(rng, 2, UINT112)
        cases.append(
            (_log_uniform(rng, 1, reserve_out - 1), _log_uniform(rng, 1, UINT112), reserve_out)
        )
    calls = [
        Call(_router(world), "getAmountIn(uint256,uint256,uint256)", c, ("uint256",)) for c in cases
    ]

    chain = [out for (out,) in call_many(world.rpc_url, calls)]

    assert chain == [get_amount_in(a, r_in, r_out, FEE_BPS) for a, r_in, r_out in cases]


def test_get_amounts_out_along_deployed_pairs_matches_engine_math(world: World) -> None:
    reserves = _reserves(world)
    rng = random.Random(303)
    cases = []
    for dex, path in _random_paths(world, rng):
        hops = _hops(world, dex, path, reserves)
        amount_in = _log_uniform(rng, 1, hops[0][0] * 2)
        expected = _or_none(partial(get_amounts_out, amount_in, hops))
        if expected is not None:  # a zero intermediate amount: the router reverts too
            cases.append((dex, path, amount_in, expected))
        if len(cases) == CASES:
            break
    calls = [
        Call(
            world.dex(dex).router,
            "getAmountsOut(uint256,address[])",
            (amount, path),
            ("uint256[]",),
        )
        for dex, path, amount, _ in cases
    ]

    chain = [list(amounts) for (amounts,) in call_many(world.rpc_url, calls)]

    assert chain == [expected for *_, expected in cases]


def test_get_amounts_in_along_deployed_pairs_matches_engine_math(world: World) -> None:
    reserves = _reserves(world)
    rng = random.Random(404)
    cases = []
    for dex, path in _random_paths(world, rng):
        hops = _hops(world, dex, path, reserves)
        amount_out = _log_uniform(rng, 1, hops[-1][1] - 1)
        expected = _or_none(partial(_amounts_in, amount_out, hops))
        if expected is not None:  # an earlier hop would need its whole reserve: reverts too
            cases.append((dex, path, amount_out, expected))
        if len(cases) == CASES:
            break
    calls = [
        Call(
            world.dex(dex).router, "getAmountsIn(uint256,address[])", (amount, path), ("uint256[]",)
        )
        for dex, path, amount, _ in cases
    ]

    chain = [list(amounts) for (amounts,) in call_many(world.rpc_url, calls)]

    assert chain == [expected for *_, expected in cases]


def test_engine_and_router_both_refuse_to_buy_the_whole_reserve(world: World) -> None:
    reserve_in, reserve_out = 10**24, 10**12
    args = (reserve_out, reserve_in, reserve_out)
    call = Call(_router(world), "getAmountIn(uint256,uint256,uint256)", args, ("uint256",))

    with pytest.raises(UniswapV2Error):
        get_amount_in(*args, FEE_BPS)
    with pytest.raises(AnvilError):
        call_many(world.rpc_url, [call])


def _reserves(world: World) -> dict[str, tuple[int, int]]:
    calls = [
        Call(p.address, "getReserves()", (), ("uint112", "uint112", "uint32")) for p in world.pairs
    ]
    results = call_many(world.rpc_url, calls)
    return {p.address: (r0, r1) for p, (r0, r1, _) in zip(world.pairs, results, strict=True)}


def _random_paths(world: World, rng: random.Random) -> Iterator[tuple[str, list[str]]]:
    """Endless random token paths of 1-3 hops on one dex, never reusing a pair."""
    while True:
        dex = rng.choice(world.dexes).name
        pools = [p for p in world.pairs if p.dex == dex]
        token = rng.choice(rng.choice(pools).symbols)
        path, used = [world.token(token).address], set()
        for _ in range(rng.randint(1, 3)):
            options = [
                p for p in pools if p.address not in used and path[-1] in (p.token0, p.token1)
            ]
            if not options:
                break
            pool = rng.choice(options)
            used.add(pool.address)
            path.append(pool.token1 if path[-1] == pool.token0 else pool.token0)
        yield dex, path


def _hops(
    world: World, dex: str, path: list[str], reserves: dict[str, tuple[int, int]]
) -> list[tuple[int, int, int]]:
    """(reserve_in, reserve_out, fee_bps) per hop, as amm.get_amounts_out takes them."""
    hops = []
    for token_in, token_out in itertools.pairwise(path):
        pair = _pair(world, dex, token_in, token_out)
        r0, r1 = reserves[pair.address]
        hops.append((r0, r1, FEE_BPS) if token_in == pair.token0 else (r1, r0, FEE_BPS))
    return hops


def _pair(world: World, dex: str, token_a: str, token_b: str) -> PairRecord:
    return next(
        p for p in world.pairs if p.dex == dex and {p.token0, p.token1} == {token_a, token_b}
    )


def _amounts_in(amount_out: int, hops: list[tuple[int, int, int]]) -> list[int]:
    """UniswapV2Library.getAmountsIn, built from the engine's get_amount_in."""
    amounts = [amount_out]
    for reserve_in, reserve_out, fee_bps in reversed(hops):
        amounts.insert(0, get_amount_in(amounts[0], reserve_in, reserve_out, fee_bps))
    return amounts


def _or_none(quote: Callable[[], list[int]]) -> list[int] | None:
    """The engine's quote, or None where the on-chain library would revert."""
    try:
        return quote()
    except UniswapV2Error:
        return None
