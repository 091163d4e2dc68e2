"""The exact V3 math against the real contracts: ≥ 2,000 random swaps, equal to the wei.

A fresh anvil gets the npm registry's `@uniswap/v3-core` factory and the periphery's
position manager, router and QuoterV2; four pools (fee tiers 100/500/3000/10000) on a
18/6-decimal pair carry positions over many tick ranges, some narrow, so swaps cross
several initialised ticks and many empty bitmap words. The pools' state is read from
the chain (`slot0`, `liquidity`, `tickBitmap` words, `ticks`), and every quote the
QuoterV2 gives — exact input and exact output, both directions, sizes from one unit to
more than the pool holds — must equal `engine.market.v3.pool.swap` on that state (and
its quote-only forms `quote` and `quote_exact_input`). Real
swaps and new positions move the pools between rounds; our state follows them from the
`Swap` and `Mint` logs alone, and must equal a fresh read of the chain.
"""

from __future__ import annotations

import json
import random
import urllib.request
from dataclasses import dataclass

import pytest
from web3.contract import Contract

from engine.devnet import v3
from engine.market.v3 import pool as v3pool
from engine.market.v3.ticks import TickInfo, TicksNotLoaded, TickTable
from tests.market.v3.v3chain import FEES, SEED, Chain

TRIALS_PER_ROUND = 250
ROUNDS = 9  # 2,250 quotes in all
WORD_RADIUS = 4  # bitmap words loaded around the price; the rest on demand
CHUNK = 64  # words fetched at once when a walk leaves the loaded ones
BATCH = 500


def read_state(
    pool: Contract, fee: int, spacing: int, words: tuple[int, int]
) -> v3pool.V3PoolState:
    sqrt_price, tick, *_ = pool.functions.slot0().call()
    table = TickTable(spacing, words=words)
    _load_words(pool, table, range(words[0], words[1] + 1))
    return v3pool.V3PoolState(sqrt_price, tick, pool.functions.liquidity().call(), fee, table)


def _load_words(pool: Contract, table: TickTable, words: range) -> None:
    """The bitmap words, then every initialised tick in them, in batched eth_calls."""
    url = pool.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    bitmaps = _batch_calls(url, pool.address, [pool.encode_abi("tickBitmap", [w]) for w in words])
    ticks = [
        (word * 256 + bit) * table.spacing
        for word, raw in zip(words, bitmaps, strict=True)
        for bit in range(256)
        if raw is not None and int(raw, 16) >> bit & 1
    ]
    infos = _batch_calls(url, pool.address, [pool.encode_abi("ticks", [t]) for t in ticks])
    for tick, raw in zip(ticks, infos, strict=True):
        assert raw is not None
        gross, net = pool.w3.codec.decode(["uint128", "int128"], bytes.fromhex(raw[2:130]))
        table.info[tick] = TickInfo(gross, net)
    table.__post_init__()


def _batch_calls(url: str, to: str, datas: list[str]) -> list[str | None]:
    """eth_call each calldata in one HTTP request; None where the call reverted."""
    out: list[str | None] = []
    for start in range(0, len(datas), BATCH):
        body = [
            {
                "jsonrpc": "2.0",
                "id": i,
                "method": "eth_call",
                "params": [{"to": to, "data": d}, "latest"],
            }
            for i, d in enumerate(datas[start : start + BATCH])
        ]
        request = urllib.request.Request(
            url, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            replies = {r["id"]: r for r in json.loads(response.read())}
        out.extend(replies[i].get("result") for i in range(len(body)))
    return out


def _words_around(tick: int, spacing: int) -> tuple[int, int]:
    word = (tick // spacing) >> 8
    return (word - WORD_RADIUS, word + WORD_RADIUS)


def _ours(
    state: v3pool.V3PoolState, pool: Contract, zero_for_one: bool, amount: int
) -> v3pool.SwapResult:
    """Our swap, loading further bitmap words from the chain when the walk needs them."""
    while True:
        try:
            return v3pool.swap(state, zero_for_one, amount)
        except TicksNotLoaded as missing:
            lo, hi = state.ticks.words or (missing.word, missing.word)
            fetch = (
                range(missing.word, missing.word + CHUNK)
                if missing.word > hi
                else range(missing.word - CHUNK + 1, missing.word + 1)
            )
            _load_words(pool, state.ticks, fetch)
            state.ticks.words = (min(lo, fetch[0]), max(hi, fetch[-1]))


@pytest.mark.timeout(600)
def test_two_thousand_random_swaps_equal_the_quoter_to_the_wei(chain: Chain) -> None:
    rng = random.Random(SEED + 1)
    states = {
        fee: read_state(
            pool, fee, FEES[fee], _words_around(pool.functions.slot0().call()[1], FEES[fee])
        )
        for fee, pool in chain.pools.items()
    }
    compared = crossed_several = reverted = 0
    for round_no in range(ROUNDS):
        trials = [_trial(chain, rng) for _ in range(TRIALS_PER_ROUND)]
        ours = [_ours(states[t.fee], chain.pools[t.fee], t.zero_for_one, t.signed) for t in trials]
        quotes = _batch_calls(
            chain.w3.provider.endpoint_uri,  # type: ignore[attr-defined]
            chain.dep.quoter.address,
            [_quote_call(chain, t) for t in trials],
        )
        for trial, result, quote in zip(trials, ours, quotes, strict=True):
            reverted += _compare(trial, result, quote)
            _quote_only_agrees(states[trial.fee], trial, result)
            compared += 1
            crossed_several += result.ticks_crossed >= 2
        _move_the_market(chain, states, rng, round_no)
    assert compared >= 2000
    assert crossed_several >= 200, "too few swaps crossed several initialised ticks"
    assert reverted < compared // 4, "most quotes reverted: the sizes test nothing"


def _quote_only_agrees(state: v3pool.V3PoolState, t: Trial, ours: v3pool.SwapResult) -> None:
    """The quote-only paths (what the search prices with) pay what the full swap pays."""
    assert v3pool.quote(state, t.zero_for_one, t.signed) == (ours.amount0, ours.amount1), t
    if t.exact_in:
        fast = v3pool.quote_exact_input(state, t.zero_for_one, t.amount)
        assert fast == (ours.amount0, ours.amount1), t


@dataclass(frozen=True)
class Trial:
    fee: int
    zero_for_one: bool
    exact_in: bool
    amount: int
    token_in: str
    token_out: str

    @property
    def signed(self) -> int:
        return self.amount if self.exact_in else -self.amount


def _trial(chain: Chain, rng: random.Random) -> Trial:
    fee = rng.choice(list(FEES))
    zero_for_one = rng.random() < 0.5
    token_in, token_out = (
        (chain.token0, chain.token1) if zero_for_one else (chain.token1, chain.token0)
    )
    amount = max(1, int(10 ** rng.uniform(0, 23 if token_in == chain.weth else 14)))
    return Trial(fee, zero_for_one, rng.random() < 0.7, amount, token_in, token_out)


def _quote_call(chain: Chain, t: Trial) -> str:
    name = "quoteExactInputSingle" if t.exact_in else "quoteExactOutputSingle"
    return str(chain.dep.quoter.encode_abi(name, [(t.token_in, t.token_out, t.amount, t.fee, 0)]))


def _compare(t: Trial, ours: v3pool.SwapResult, quote: str | None) -> bool:
    """Our result equals the quoter's (or both cannot fill); True when the quoter reverted."""
    paid = ours.amount0 if t.zero_for_one else ours.amount1
    received = -(ours.amount1 if t.zero_for_one else ours.amount0)
    if quote is None:
        if t.exact_in:
            assert received == 0, f"quoter reverted where we pay {received}: {t}"
        else:
            assert received < t.amount, f"quoter reverted on an output we can fill: {t}"
        return True
    quoted = int(quote[2:66], 16)
    if t.exact_in:
        assert received == quoted, (t, received, quoted)
    else:
        assert (paid, received) == (quoted, t.amount), (t, paid, quoted)
    return False


def _move_the_market(
    chain: Chain, states: dict[int, v3pool.V3PoolState], rng: random.Random, round_no: int
) -> None:
    """Real swaps and a new position per pool, followed from their logs only."""
    for fee, pool in chain.pools.items():
        state = states[fee]
        zero_for_one = rng.random() < 0.5
        token_in, token_out = (
            (chain.token0, chain.token1) if zero_for_one else (chain.token1, chain.token0)
        )
        amount = int(10 ** rng.uniform(3, 21 if token_in == chain.weth else 11))
        receipt = v3.swap_exact_input(chain.dep, chain.trader, token_in, token_out, fee, amount)
        for event in pool.events.Swap().process_receipt(receipt):
            args = event["args"]
            v3pool.apply_swap(state, args["sqrtPriceX96"], args["tick"], args["liquidity"])
        if round_no % 2 == 0:
            spacing = FEES[fee]
            lower = (state.tick // spacing - rng.randint(1, 30)) * spacing
            upper = lower + rng.randint(1, 60) * spacing
            amounts = (10**20, 10**11) if chain.token0 == chain.weth else (10**11, 10**20)
            receipt = v3.mint_position(chain.dep, chain.lp, pool, lower, upper, *amounts)
            for event in pool.events.Mint().process_receipt(receipt):
                args = event["args"]
                v3pool.apply_mint(state, args["tickLower"], args["tickUpper"], args["amount"])
        fresh = read_state(pool, fee, FEES[fee], state.ticks.words or (0, 0))
        assert (state.sqrt_price_x96, state.tick, state.liquidity) == (
            fresh.sqrt_price_x96,
            fresh.tick,
            fresh.liquidity,
        )
        assert state.ticks.info == fresh.ticks.info
