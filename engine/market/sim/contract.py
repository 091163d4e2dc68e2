"""The arbitrage executor contract, simulated with the chain's semantics.

`ArbExecutor.execute(order)`: flash-borrow `amount_in`, swap hop by hop — a hop paying
less than its `min_out` reverts with the pair's `UniswapV2: INSUFFICIENT_OUTPUT_AMOUNT`
— then require `final_out >= amount_in + min_profit` or revert with
`ArbExecutor: profit below minimum`. A revert undoes every swap, so swaps are staged on
copies of the reserves and committed only when the whole call succeeds. The revert
reason is therefore whatever the integer math actually hit, never a coin toss.

V3 hops swap a staged copy of the pool's state with the pool's own loop (exact to the
unit, ticks crossed included); one the pool could not fill whole or pay reverts with
`UNFILLED_V3`. Gas follows the work done: a call that reverts in its first hop burns less than one
that fails the final profit check, and both burn less than a success.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.market.amm import UniswapV2Error, get_amount_out
from engine.market.model import Market, Pool
from engine.market.sim.swap import move_v3, quote_v3
from engine.market.v3.pool import V3PoolState, apply_swap
from engine.market.venue import ArbOrder, TxStatus

INSUFFICIENT_OUTPUT = "UniswapV2: INSUFFICIENT_OUTPUT_AMOUNT"
PROFIT_BELOW_MINIMUM = "ArbExecutor: profit below minimum"
OUT_OF_GAS = "out of gas"
UNKNOWN_POOL = "ArbExecutor: unknown pair"
UNFILLED_V3 = "ArbExecutor: V3 swap not filled"

BASE_GAS = 25_000  # intrinsic 21k + calldata + flash-loan bookkeeping
HOP_GAS = 45_000  # one pair swap (transfer in, swap, reserves update)
V3_HOP_GAS = 0  # a V3 hop is charged as a pair's: the gas prior has no per-kind number yet
CHECK_GAS = 5_000  # the final balance check
SETTLE_GAS = 8_000  # loan repayment and profit sweep, on success only


@dataclass(slots=True)
class Execution:
    """The outcome of one call; `staged` holds the reserves to write on success."""

    status: TxStatus
    revert_reason: str
    gas_used: int
    amount_out: int = 0
    hop_amounts: list[int] = field(default_factory=list)
    staged: dict[str, tuple[int, int]] = field(default_factory=dict)
    staged_v3: dict[str, V3PoolState] = field(default_factory=dict)


def run(market: Market, order: ArbOrder) -> Execution:
    """Execute `order` against `market` without writing; call `commit` on success."""
    staged: dict[str, tuple[int, int]] = {}
    staged_v3: dict[str, V3PoolState] = {}
    amount = order.amount_in
    amounts = [amount]
    gas = BASE_GAS
    for hop in order.hops:
        pool = market.pools.get(hop.pool)
        gas += HOP_GAS + (V3_HOP_GAS if pool is not None and pool.v3 is not None else 0)
        if gas > order.gas_limit:
            return Execution("reverted", OUT_OF_GAS, order.gas_limit)
        result = _hop(market, staged, staged_v3, hop.pool, hop.token_in, amount)
        if isinstance(result, str):
            return Execution("reverted", result, gas)
        amount = result
        if amount < hop.min_out:
            return Execution("reverted", INSUFFICIENT_OUTPUT, gas)
        amounts.append(amount)
    return _finish(order, amounts, staged, staged_v3, gas)


def _finish(
    order: ArbOrder,
    amounts: list[int],
    staged: dict[str, tuple[int, int]],
    staged_v3: dict[str, V3PoolState],
    hops_gas: int,
) -> Execution:
    gas = hops_gas + CHECK_GAS
    if gas > order.gas_limit:
        return Execution("reverted", OUT_OF_GAS, order.gas_limit)
    final = amounts[-1]
    if final < order.amount_in + order.min_profit or final < order.amount_in + order.flash_fee:
        return Execution("reverted", PROFIT_BELOW_MINIMUM, gas)
    if gas + SETTLE_GAS > order.gas_limit:
        return Execution("reverted", OUT_OF_GAS, order.gas_limit)
    return Execution("success", "", gas + SETTLE_GAS, final, amounts, staged, staged_v3)


def _hop(
    market: Market,
    staged: dict[str, tuple[int, int]],
    staged_v3: dict[str, V3PoolState],
    address: str,
    token_in: str,
    amount: int,
) -> int | str:
    """Swap on the staged reserves (and V3 state); the output, or a revert reason."""
    pool = market.pools.get(address)
    if pool is None:
        return UNKNOWN_POOL
    reserve0, reserve1 = staged.get(address, (pool.reserve0, pool.reserve1))
    zero_for_one = token_in == pool.token0
    if not zero_for_one and token_in != pool.token1:
        return UNKNOWN_POOL
    reserve_in, reserve_out = (reserve0, reserve1) if zero_for_one else (reserve1, reserve0)
    if pool.v3 is not None:
        out_v3 = _v3_hop(pool, staged_v3, zero_for_one, amount, reserve_out)
        if isinstance(out_v3, str):
            return out_v3
        out = out_v3
    else:
        try:
            out = get_amount_out(amount, reserve_in, reserve_out, pool.fee_bps)
        except UniswapV2Error as exc:
            return str(exc)
    if out <= 0:
        return INSUFFICIENT_OUTPUT
    if zero_for_one:
        staged[address] = (reserve0 + amount, reserve1 - out)
    else:
        staged[address] = (reserve0 - out, reserve1 + amount)
    return out


def _v3_hop(
    pool: Pool, staged_v3: dict[str, V3PoolState], zero_for_one: bool, amount: int, balance: int
) -> int | str:
    """The exact V3 swap on the staged copy of the pool's state."""
    assert pool.v3 is not None
    state = staged_v3.get(pool.address) or pool.v3.copy()
    out = quote_v3(state, zero_for_one, amount, balance)
    if out <= 0:
        return UNFILLED_V3
    move_v3(state, zero_for_one, amount, out)
    staged_v3[pool.address] = state
    return out


def commit(market: Market, execution: Execution) -> frozenset[str]:
    """Write a successful call's reserves; returns the pools it changed."""
    for address, (reserve0, reserve1) in execution.staged.items():
        market.pools[address].set_reserves(reserve0, reserve1)
    for address, state in execution.staged_v3.items():
        live = market.pools[address].v3
        assert live is not None  # a swap moves price, tick and liquidity, never the ticks
        apply_swap(live, state.sqrt_price_x96, state.tick, state.liquidity)
    return frozenset(execution.staged)
