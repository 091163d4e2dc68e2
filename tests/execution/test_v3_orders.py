"""Orders with V3 hops: the calldata `run` takes, what recovery reads back from it, and
the route no contract entry can carry.

The contract's `Hop` is (kind, pool, tokenOut, feeBps): kind 1 (HOP_V3) swaps on the
V3 pool (exact input, the loosest price limit, the direction from the token order) and
ignores the fee, which the pool charges itself; kind 0 is a V2 pair with its fee."""

from __future__ import annotations

import pytest
from eth_abi import decode

from engine.execution.evm import NoContractPath, _order_from_calldata, execute_calldata
from engine.market.evm import abi
from engine.market.evm.sent import MinedTx
from engine.market.model import Market, Pool, Token
from engine.market.v3 import pool as v3pool
from engine.market.v3.tick_math import sqrt_ratio_at_tick
from engine.market.v3.ticks import TickTable
from engine.market.venue import ArbOrder, Loan, SwapHop

A, B = "0x" + "aa" * 20, "0x" + "bb" * 20
V3_POOL, V2_PAIR = "0x" + "11" * 20, "0x" + "22" * 20
VAULT = "0x" + "cc" * 20
EXECUTOR = "0x" + "ee" * 20


def order(loan: Loan) -> ArbOrder:
    hops = (SwapHop(V3_POOL, A, B, 0, "v3"), SwapHop(V2_PAIR, B, A, 0, "v2"))
    return ArbOrder("o", A, 10**6, hops, 500, 300, 400_000, 10**9, loan=loan)


def test_a_v3_hop_is_encoded_as_the_contract_s_hop_v3_and_a_v2_hop_with_its_fee() -> None:
    data = execute_calldata(order(Loan("balancer-v2", VAULT)), {V3_POOL: 5, V2_PAIR: 25})
    assert data.startswith(abi.RUN_SELECTOR)
    types = [
        "(uint8,address,address,uint16)[]",
        "address",
        "uint256",
        "uint256",
        "uint8",
        "address",
    ]
    hops, token, amount, floor, loan, lender = decode(types, bytes.fromhex(data[10:]))
    assert [(h[0], h[1].lower(), h[2].lower(), h[3]) for h in hops] == [
        (abi.HOP_V3, V3_POOL, B, 0),
        (abi.HOP_V2, V2_PAIR, A, 25),
    ]
    assert (token.lower(), amount, floor, loan, lender.lower()) == (A, 10**6, 200, 2, VAULT)


def test_a_route_with_a_v3_hop_cannot_take_a_v2_flash_swap_loan() -> None:
    with pytest.raises(NoContractPath, match="V3 hop"):
        execute_calldata(order(Loan()))


def market() -> Market:
    found = Market()
    found.add_token(Token(A, "AAA", 18))
    found.add_token(Token(B, "BBB", 18))
    state = v3pool.V3PoolState(sqrt_ratio_at_tick(0), 0, 10**18, 500, TickTable(10))
    found.add_pool(Pool("uniswap-v3", V3_POOL, A, B, 10**18, 10**18, 5, "v3", state))
    found.add_pool(Pool("uniswap", V2_PAIR, A, B, 10**18, 10**18, 30))
    return found


def test_recovery_reads_each_hop_s_kind_back_from_run_calldata() -> None:
    data = execute_calldata(order(Loan("balancer-v2", VAULT)), {V2_PAIR: 30})
    tx = {
        "hash": "0x" + "ab" * 32,
        "to": EXECUTOR,
        "input": data,
        "gas": hex(400_000),
        "maxFeePerGas": hex(10**9),
    }
    mined = MinedTx(7, 12, 1_700_000_000, tx, {"transactionHash": tx["hash"]})
    recovered = _order_from_calldata(market(), EXECUTOR, mined, 0)
    assert recovered is not None
    assert [(h.pool, h.token_in, h.token_out, h.kind) for h in recovered.hops] == [
        (V3_POOL, A, B, "v3"),
        (V2_PAIR, B, A, "v2"),
    ]
