"""The on-chain executor: opportunities become `ArbExecutor.execute` transactions.

It is the paper executor with a real chain behind the gate, and it inherits the paper
executor's order building (per-hop minimums, profit floor = flash fee + gas cost) and
its booking, so both produce identical `TradeRecord`s from a `Receipt`. What it adds:

1. encode `execute(pairs, tokenIn, amountIn, minProfit)`;
2. dry-run it with `eth_call` at the latest block (and `eth_estimateGas` in the same
   batch). A dry run that reverts is not sent and not booked: `SimulationFailed` is
   raised, nothing was signed, no gas was spent, and there is no trade to record. (A
   "failed" trade per stale opportunity would swamp the ledger and trip the failed-
   trade circuit breaker with events that cost nothing.) The pipeline should count it;
3. gas limit = estimate × 1.25 + 100,000 (anvil under-estimates flash swaps); the tip
   (maxPriorityFeePerGas) is the opportunity's bid (engine/guards/bidding.py) or, not
   bid, the venue's EIP-1559 policy (`engine.market.evm.fees`); the max fee covers two
   base fees plus the tip;
4. `gate.send(EvmOrder)`: the gate's check is the last thing before the venue signs
   (same loop step) and sends; the venue settles the receipt, with the token delta read
   on-chain, and the trade is booked from it.

A block's plan of several orders (`send_plan`) is dry-run as a sequence with
`eth_simulateV1` (each call on the state the calls before it leave: the follow-ups are
priced on reserves no `eth_call` at the latest block can see), each order's gas limit
the margin on its simulated gas. The orders up to the first follow-up that would revert
are signed in one step, with consecutive nonces in plan order; the first reverting means
nothing is sent. A node without `eth_simulateV1` gets the plan's first order only (the
re-search on its receipt finds the rest).

`book_mined` books a transaction that was mined while no execution waited for it (the
engine died between send and booking; engine/execution/recovery.py finds them at start):
the order is read back from the calldata and the receipt decoded by the same code.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from engine.execution.errors import ExecutionError, NotSent
from engine.execution.gate import SendGate
from engine.execution.paper import DEFAULT_HOP_SLIPPAGE_BPS, PaperExecutor
from engine.ledger.records import TradeRecord
from engine.market.evm import abi
from engine.market.evm.fees import gas_limit_with_margin, max_fee_for
from engine.market.evm.orders import EvmOrder
from engine.market.evm.receipts import OUT_OF_GAS
from engine.market.evm.rpc import ProviderUnavailable
from engine.market.evm.sent import MinedTx
from engine.market.evm.venue import EvmVenue, Simulation
from engine.market.model import Market
from engine.market.venue import CANCELLED_BY_KILL, ArbOrder, Loan, Receipt, SwapHop
from engine.strategy.exact import flash_fee
from engine.strategy.gas_model import GasModel
from engine.strategy.opportunity import Hop, Opportunity

PLAN_GAS_PADDING = 150_000  # see EvmExecutor._plan_gas


class SimulationFailed(NotSent):
    """The dry run said no (or could not be made): nothing was signed or sent."""

    def __init__(self, opportunity_id: str, reason: str, reverted: bool) -> None:
        what = "would revert" if reverted else "could not be simulated"
        super().__init__(f"opportunity {opportunity_id} {what}: {reason}")
        self.opportunity_id = opportunity_id
        self.reason = reason
        self.reverted = reverted  # False: the provider could not be asked


class EvmExecutor(PaperExecutor):
    def __init__(
        self,
        gate: SendGate,
        venue: EvmVenue,
        hop_slippage_bps: int = DEFAULT_HOP_SLIPPAGE_BPS,
        session: str | None = None,
        clock: Callable[[], float] = time.time,
        gas: GasModel | None = None,
        loans: Callable[[str], Loan | None] | None = None,
    ) -> None:
        super().__init__(gate, venue, hop_slippage_bps, session, clock, gas)
        self._evm = venue
        self._gas: dict[tuple[str, ...], int] = {}  # route -> gas limit (with the margin)
        # The lender the approval chain chose for an opportunity (the liquidity failover's
        # active source then); None: the route's first pair lends, as `execute` does.
        self._loans = loans or (lambda _opportunity_id: None)

    async def execute(self, opportunity: Opportunity) -> TradeRecord:
        """Dry-run, send through the gate, wait for the receipt, book it.

        Raises `SimulationFailed` (nothing sent) or `GateClosed` (nothing sent).
        """
        payload = await self.prepare(opportunity)
        submitted_at = self._clock()
        receipt: Receipt = await self._gate.send(payload)
        if receipt.revert_reason.startswith(OUT_OF_GAS):
            self._gas.pop(_route_key(payload.order), None)
        self._learn(opportunity, receipt)
        return self._book(opportunity, receipt, submitted_at)

    async def send_plan(self, opportunities: Sequence[Opportunity]) -> list[Awaitable[TradeRecord]]:
        """The plan dry-run in sequence, then every order that passed signed and sent in
        one step (consecutive nonces, in plan order); one awaitable per order, its booked
        trade, or `SimulationFailed` for a follow-up that was not sent.

        An order no contract path can carry (a V3 hop with only a V2 flash-swap loan) is
        left out before anything else: the rest of the plan goes without it (the dry run
        in sequence still stops at the first follow-up that would revert without it).

        Raises `SimulationFailed` when the first order would revert, or no order can be
        carried (nothing is sent: the rest was planned on its effect), or `GateClosed`."""
        refused = {o.id: why for o in opportunities if (why := self._no_path(o))}
        carried = [o for o in opportunities if o.id not in refused]
        if not carried:
            first = opportunities[0]
            raise self._failed(first.id, refused.get(first.id, "empty plan"), reverted=True)
        settles = dict(zip((o.id for o in carried), await self._send_carried(carried), strict=True))
        return [
            settles[o.id] if o.id in settles else _raises(self._failed(o.id, why, reverted=True))
            for o, why in ((o, refused.get(o.id, "")) for o in opportunities)
        ]

    def _no_path(self, opportunity: Opportunity) -> str:
        """Why no contract entry can carry the opportunity's order ("" when one can)."""
        loan = self._loans(opportunity.id)
        first_hop = loan is None or loan.kind == "first-hop"
        if first_hop and any(hop.kind != "v2" for hop in opportunity.route):
            return NO_FIRST_HOP_V3
        return ""

    async def _send_carried(
        self, opportunities: Sequence[Opportunity]
    ) -> list[Awaitable[TradeRecord]]:
        if len(opportunities) <= 1:
            payloads = [await self.prepare(o) for o in opportunities]
        else:
            payloads = await self._prepare_plan(opportunities)
        submitted_at = self._clock()
        receipts = self._gate.send_many(payloads)
        settles: list[Awaitable[TradeRecord]] = [
            self._settled(o, p, r, submitted_at)
            for o, p, r in zip(opportunities, payloads, receipts, strict=False)
        ]
        for dropped in opportunities[len(payloads) :]:
            reason = f"not sent: planned after {opportunities[len(payloads) - 1].id}"
            settles.append(_raises(self._failed(dropped.id, reason, reverted=True)))
        return settles

    async def _prepare_plan(self, opportunities: Sequence[Opportunity]) -> list[EvmOrder]:
        """Every order dry-run on the state the ones before it leave (`simulate_plan`);
        the orders up to the first follow-up that would revert (the rest was planned on
        its effect). A node without `eth_simulateV1`: the first order alone."""
        orders = [self._with_loan(o, self.order_for(o)) for o in opportunities]
        datas = self._calldatas(orders)
        first = opportunities[0]
        try:
            results = await self._evm.simulate_plan(datas)
        except ProviderUnavailable as exc:
            raise self._failed(first.id, str(exc), reverted=False) from None
        if results is None:
            return [await self.prepare(first)]
        payloads: list[EvmOrder] = []
        for opportunity, order, data, result in zip(
            opportunities, orders, datas, results, strict=False
        ):
            if result.returned is None:
                if not payloads:
                    raise self._failed(opportunity.id, result.reason, reverted=True)
                break
            payloads.append(self._payload(opportunity, order, data, self._plan_gas(order, result)))
        return payloads

    async def _settled(
        self,
        opportunity: Opportunity,
        payload: EvmOrder,
        pending: asyncio.Future[Receipt],
        submitted_at: float,
    ) -> TradeRecord:
        receipt = await pending
        self._learn(opportunity, receipt)
        if receipt.revert_reason.startswith(OUT_OF_GAS):
            self._gas.pop(_route_key(payload.order), None)
        return self._book(opportunity, receipt, submitted_at)

    def _plan_gas(self, order: ArbOrder, result: Simulation) -> int:
        """A plan order's gas limit: the margin on its simulated gas, never below the
        route's own estimate when one is known, plus `PLAN_GAS_PADDING`. A simulated
        call's gas used is after refunds and without the 63/64 reserve nested calls
        need, and on the devnet it ran out on the margin alone (3-hop follow-ups
        reverting without a reason at ~337k). A limit costs nothing unless used."""
        simulated = gas_limit_with_margin(result.gas_estimate)
        return max(simulated, self._gas.get(_route_key(order), 0)) + PLAN_GAS_PADDING

    async def prepare(self, opportunity: Opportunity) -> EvmOrder:
        """The signed-to-be transaction: calldata, gas limit and fee caps, dry-run passed."""
        order = self.order_for(opportunity)
        order = self._with_loan(opportunity, self.order_for(opportunity))
        data = self._calldata(order)
        gas = await self._simulate(opportunity, _route_key(order), data)
        return self._payload(opportunity, order, data, gas)

    def _with_loan(self, opportunity: Opportunity, order: ArbOrder) -> ArbOrder:
        """The order borrowing from the lender the approval chose for its opportunity."""
        loan = self._loans(opportunity.id)
        return order if loan is None else dataclasses.replace(order, loan=loan)

    def _calldatas(self, orders: Sequence[ArbOrder]) -> list[str]:
        """The plan's calls up to the first order no contract path can carry (the rest
        was planned on its effect); raises `SimulationFailed` when that is the first."""
        datas: list[str] = []
        for order in orders:
            try:
                datas.append(self._calldata(order))
            except SimulationFailed:
                if not datas:
                    raise
                break
        return datas

    def _calldata(self, order: ArbOrder) -> str:
        """The order's contract call; an order no contract path can carry (a V3 hop with
        a V2 flash-swap loan) is refused here, before any dry run: nothing is sent."""
        pool_fees = {hop.pool: self._market.pools[hop.pool].fee_bps for hop in order.hops}
        try:
            return execute_calldata(order, pool_fees)
        except NoContractPath as exc:
            raise self._failed(order.order_id, str(exc), reverted=True) from None

    def _payload(self, opportunity: Opportunity, order: ArbOrder, data: str, gas: int) -> EvmOrder:
        """Gas limit and fee caps: the bid's tip (the venue's own when none was bid)."""
        fees = self._evm.fee_bid()
        tip = opportunity.priority_fee or fees.priority_fee
        max_fee = max_fee_for(fees.base_fee, tip)
        order = dataclasses.replace(
            order, gas_limit=gas, gas_price=max_fee, priority_fee_per_gas=tip
        )
        return EvmOrder(order, self._evm.executor, data, tip, opportunity.block_number)

    async def _simulate(self, opportunity: Opportunity, route: tuple[str, ...], data: str) -> int:
        """The gas limit, once the dry run passed.

        `eth_estimateGas` is a binary search (~7 ms on anvil, against ~1 ms for the
        `eth_call`); a route's gas barely depends on the amounts, so its estimate is kept
        and reused, and dropped when a transaction on that route runs out of gas. Each
        estimate made is also the gas model's (engine.strategy.gas_model).
        """
        opportunity_id = opportunity.id
        cached = self._gas.get(route)
        try:
            result = await self._evm.simulate(data, estimate=cached is None)
        except ProviderUnavailable as exc:
            raise self._failed(opportunity_id, str(exc), reverted=False) from None
        if result.returned is None:
            raise self._failed(opportunity_id, result.reason, reverted=True)
        if cached is None:
            self._learn_estimate(opportunity, result.gas_estimate)
            cached = self._gas[route] = gas_limit_with_margin(result.gas_estimate)
        return cached

    def _failed(self, opportunity_id: str, reason: str, reverted: bool) -> SimulationFailed:
        return SimulationFailed(opportunity_id, reason, reverted)

    # --- start-up recovery ---------------------------------------------------------------
    @property
    def venue(self) -> EvmVenue:
        return self._evm

    async def book_mined(
        self, mined: MinedTx, flash_fee_bps: int, now: float
    ) -> TradeRecord | None:
        """The trade of a mined transaction no execution settled, marked `recovered`,
        with an id made of its hash (booking it twice is a no-op). None when it is no
        transaction the engine makes (not `execute` on our executor, not a cancel)."""
        tx = mined.tx
        when = min(float(mined.timestamp), now)  # detected before this session started
        order = _order_from_calldata(self._market, self._evm.executor, mined, flash_fee_bps)
        if order is not None:
            payload = EvmOrder(order, self._evm.executor, tx["input"], _tip(tx), mined.block)
            receipt = await self._evm.mined_outcome(payload, mined)
        elif _is_cancel(tx, self._evm.owner):
            order = _cancel_order(self._market, mined)
            receipt = _cancel_receipt(mined, self._evm.owner, when)
        else:
            return None
        receipt = dataclasses.replace(receipt, mined_at=float(mined.timestamp))
        trade = self._book(_opportunity(self._market, order, mined.block, when), receipt, when)
        return dataclasses.replace(trade, id=f"evm-recovered-{mined.hash}", recovered=True)


async def _raises(error: Exception) -> TradeRecord:
    raise error


def _route_key(order: ArbOrder) -> tuple[str, ...]:
    return (order.token, order.loan.kind, order.loan.lender, *(hop.pool for hop in order.hops))


class NoContractPath(ExecutionError, ValueError):
    """An order the executor contract has no entry for."""


# (worded apart from the lenders' failure words, engine/lenders/sources.py LENDER_REVERTS:
# the route is the problem here, not the source that is active)
NO_FIRST_HOP_V3 = (
    "a route with a V3 hop needs a liquidity source other than pair://first-hop "
    "(execute takes V2 pairs only): inventory, uniswap-v3, balancer-v2 or aave-v3"
)


def execute_calldata(order: ArbOrder, fees_bps: dict[str, int] | None = None) -> str:
    """The contract call for an order: its pools in route order, the loan, the floor.

    A first-hop loan is `execute` (the route's first pair lends by a flash swap); any
    other loan is `run`, whose floor excludes the lender's fee because the contract adds
    the fee the lender actually charges. `run` names each hop's kind (V2 pair with its
    fee, or V3 pool); `execute` knows V2 pairs only, so a route with a V3 hop needs a
    lender (a liquidity source: inventory://, uniswap-v3://, balancer-v2://, aave-v3://)."""
    if order.loan.kind == "first-hop":
        if any(hop.kind != "v2" for hop in order.hops):
            raise NoContractPath(NO_FIRST_HOP_V3)
        pairs = [hop.pool for hop in order.hops]
        return abi.execute(pairs, order.token, order.amount_in, order.min_profit)
    fees = fees_bps or {}
    hops = [(hop.kind, hop.pool, hop.token_out, fees.get(hop.pool, 30)) for hop in order.hops]
    floor = max(1, order.min_profit - order.flash_fee)
    return abi.run(hops, order.token, order.amount_in, floor, order.loan.kind, order.loan.lender)


# --- reading an order back from the chain (start-up recovery) --------------------------------
def _order_from_calldata(
    market: Market, executor: str, mined: MinedTx, flash_fee_bps: int
) -> ArbOrder | None:
    tx = mined.tx
    if str(tx.get("to") or "").lower() != executor.lower():
        return None
    data = str(tx.get("input") or "")
    executed = abi.decode_execute(data)
    if executed is not None:
        pairs, token_in, amount_in, min_profit = executed
        kinded = [("v2", pair) for pair in pairs]
    else:
        ran = abi.decode_run_hops(data)
        if ran is None:
            return None
        kinded, token_in, amount_in, min_profit = ran
    token = _known(market.tokens, token_in)
    return ArbOrder(
        order_id=f"recovered-{mined.hash}",
        token=token,
        amount_in=amount_in,
        hops=_hops(market, kinded, token),
        min_profit=min_profit,
        flash_fee=flash_fee(amount_in, flash_fee_bps),
        gas_limit=int(tx["gas"], 16),
        gas_price=int(tx.get("maxFeePerGas") or tx.get("gasPrice") or "0x0", 16),
        priority_fee_per_gas=_tip(tx),
    )


def _hops(market: Market, pairs: list[tuple[str, str]], token: str) -> tuple[SwapHop, ...]:
    """The route through (kind, pool) `pairs` from `token`; a pool the market does not
    list ends what can be named (its hop and the ones after it carry an empty token)."""
    hops = []
    current = token
    for kind, pair in pairs:
        address = _known(market.pools, pair)
        pool = market.pools.get(address)
        following = pool.other(current) if pool is not None and current else ""
        hops.append(SwapHop(address, current, following, 0, kind))
        current = following
    return tuple(hops)


def _known(by_address: dict[str, Any], address: str) -> str:
    """The market's spelling of an address (checksummed), or the address as given."""
    lower = address.lower()
    return next((known for known in by_address if known.lower() == lower), address)


def _tip(tx: dict[str, Any]) -> int:
    return int(tx.get("maxPriorityFeePerGas") or "0x0", 16)


def _is_cancel(tx: dict[str, Any], owner: str) -> bool:
    """The kill switch's replacement: a 0-value self-transfer without data."""
    to_self = str(tx.get("to") or "").lower() == owner.lower()
    return to_self and int(tx.get("value") or "0x0", 16) == 0 and tx.get("input") in ("0x", "")


def _cancel_order(market: Market, mined: MinedTx) -> ArbOrder:
    """The order a cancel replaced is not on chain: booked on the native token, nothing in."""
    tx = mined.tx
    gas_price = int(tx.get("maxFeePerGas") or tx.get("gasPrice") or "0x0", 16)
    return ArbOrder(
        f"recovered-{mined.hash}", market.native, 0, (), 0, 0, int(tx["gas"], 16), gas_price
    )


def _cancel_receipt(mined: MinedTx, owner: str, when: float) -> Receipt:
    raw = mined.receipt
    reason = (
        f"{CANCELLED_BY_KILL}: nonce {mined.nonce} taken by a 0-value self-transfer "
        "(recovered at start; the original transaction is not known)"
    )
    return Receipt(
        mined.hash,
        f"recovered-{mined.hash}",
        "failed",
        reason,
        mined.block,
        int(raw["gasUsed"], 16),
        int(raw.get("effectiveGasPrice") or "0x0", 16),
        0,
        0,
        when,
        float(mined.timestamp),
        mined.nonce,
        owner,
        str(raw.get("blockHash") or ""),
    )


def _hop(market: Market, hop: SwapHop) -> Hop:
    route_hop = Hop(hop.pool, hop.token_in, hop.token_out, hop.kind)
    pool = market.pools.get(hop.pool)
    return route_hop if pool is None else dataclasses.replace(route_hop, fee_pips=pool.fee_pips)


def _opportunity(market: Market, order: ArbOrder, block: int, when: float) -> Opportunity:
    """What booking needs of the opportunity. Its id and the search's estimates are not
    on chain: an empty id and an expected profit of 0."""
    return Opportunity(
        id="",
        block_number=block,
        route=tuple(_hop(market, h) for h in order.hops),
        token=order.token,
        amount_in=order.amount_in,
        amount_out=0,
        gross_profit=0,
        gas_units=order.gas_limit,
        gas_price=order.gas_price,
        gas_cost=0,
        flash_fee=order.flash_fee,
        net_profit=0,
        net_profit_quote=0,
        detected_at=when,
    )
