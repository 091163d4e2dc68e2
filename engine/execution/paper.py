"""The paper executor: trades opportunities on the simulated venue through the send gate.

It does what the on-chain executor will do — turn an opportunity into one call to the
arbitrage contract with slippage bounds, send it through the gate, wait for the
receipt — and books exactly what the receipt says. Nothing here moves balances: the
venue applies swaps, token deltas and gas when it mines, and the record only mirrors
them, so the ledger reconciles with the wallet to the unit.

Bounds: each hop must pay at least its expected output less `hop_slippage_bps`; the
route must return `amount_in + flash_fee + gas cost` (the opportunity's own estimate),
so a trade that would lose money after gas reverts instead — a revert costs only gas.

Every successful receipt's `gasUsed` goes to the gas model (engine.strategy.gas_model)
under the route's shape: what the search charges next is what the chain just charged.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Sequence

from engine.execution.gate import SendGate
from engine.ledger.records import TradeRecord
from engine.market.amm import FEE_DENOMINATOR
from engine.market.quote import amounts_along
from engine.market.venue import ArbOrder, Receipt, SwapHop, Venue
from engine.strategy.gas_model import GasModel, route_shape
from engine.strategy.opportunity import Opportunity
from engine.strategy.pricing import PriceGraph, Rate

DEFAULT_HOP_SLIPPAGE_BPS = 50


class PaperExecutor:
    """Executes one opportunity at a time per call; calls may run concurrently."""

    def __init__(
        self,
        gate: SendGate,
        venue: Venue,
        hop_slippage_bps: int = DEFAULT_HOP_SLIPPAGE_BPS,
        session: str | None = None,
        clock: Callable[[], float] = time.time,
        gas: GasModel | None = None,
    ) -> None:
        """`session` prefixes trade ids; the default (a clock reading) keeps ids unique
        across engine restarts, since the simulated chain restarts its nonces. `gas` is
        the model that learns from receipts (None: nothing learns)."""
        if not 0 <= hop_slippage_bps < FEE_DENOMINATOR:
            raise ValueError(f"hop_slippage_bps out of range: {hop_slippage_bps}")
        self._gate = gate
        self._venue = venue
        self._market = venue.market
        self._slippage_bps = hop_slippage_bps
        self._session = session or f"{int(clock() * 1000):x}"
        self._clock = clock
        self._ids = itertools.count(1)
        self.gas_model = gas
        bases = [t for t in (self._market.native, self._market.quote) if t]
        self._prices = PriceGraph(self._market.pools.values(), bases)

    async def execute(self, opportunity: Opportunity) -> TradeRecord:
        """Send the opportunity's order and book its outcome.

        Raises `GateClosed` when the engine is not running: nothing was sent, so there
        is nothing to book.
        """
        order = self.order_for(opportunity)
        submitted_at = self._clock()
        receipt: Receipt = await self._gate.send(order)
        self._learn(opportunity, receipt)
        # Booked without awaiting: prices are the mid prices of the block that mined it.
        return self._book(opportunity, receipt, submitted_at)

    def _learn(self, opportunity: Opportunity, receipt: Receipt) -> None:
        """A successful receipt's gas, to the model (a revert stops early: burns less)."""
        if self.gas_model is None or receipt.status != "success":
            return
        shape = route_shape(opportunity.route, self._market.pools)
        if shape is not None:
            self.gas_model.observe_receipt(shape, receipt.gas_used)

    def _learn_estimate(self, opportunity: Opportunity, estimate: int) -> None:
        """A dry run's `eth_estimateGas` for the opportunity's route, to the model."""
        shape = route_shape(opportunity.route, self._market.pools)
        if self.gas_model is not None and shape is not None:
            self.gas_model.observe_estimate(shape, estimate)

    async def send_plan(self, opportunities: Sequence[Opportunity]) -> list[Awaitable[TradeRecord]]:
        """Send a block's plan through the gate in one step, in order (the most valuable
        first); one awaitable per order, resolving to its booked trade.

        Raises `GateClosed` (nothing sent). No await comes before the gate: in lockstep
        the orders reach the mempool in the step the pipeline decided them."""
        orders = [self.order_for(o) for o in opportunities]
        submitted_at = self._clock()
        receipts = self._gate.send_many(orders)
        return [
            self._booked(o, r, submitted_at) for o, r in zip(opportunities, receipts, strict=True)
        ]

    async def _booked(
        self, opportunity: Opportunity, receipt: asyncio.Future[Receipt], submitted_at: float
    ) -> TradeRecord:
        settled = await receipt
        self._learn(opportunity, settled)
        return self._book(opportunity, settled, submitted_at)

    def order_for(self, opportunity: Opportunity) -> ArbOrder:
        """The contract call: per-hop minimums from the live reserves, profit floor."""
        return ArbOrder(
            order_id=opportunity.id,
            token=opportunity.token,
            amount_in=opportunity.amount_in,
            hops=self._hops(opportunity),
            min_profit=opportunity.flash_fee + opportunity.gas_cost,
            flash_fee=opportunity.flash_fee,
            gas_limit=opportunity.gas_units,
            gas_price=opportunity.gas_price,
            priority_fee_per_gas=opportunity.priority_fee,
        )

    def _hops(self, opportunity: Opportunity) -> tuple[SwapHop, ...]:
        """Per-hop minimums: from the plan's outputs when it has them (a follow-up trades
        on reserves the orders before it leave), else from the live reserves."""
        amounts = [opportunity.amount_in, *opportunity.hop_outputs]
        if not opportunity.hop_outputs:
            route = [(hop.pool, hop.token_in) for hop in opportunity.route]
            amounts = amounts_along(self._market.pools, route, opportunity.amount_in)
        keep = FEE_DENOMINATOR - self._slippage_bps
        return tuple(
            SwapHop(hop.pool, hop.token_in, hop.token_out, out * keep // FEE_DENOMINATOR, hop.kind)
            for hop, out in zip(opportunity.route, amounts[1:], strict=True)
        )

    def _book(self, opportunity: Opportunity, receipt: Receipt, submitted_at: float) -> TradeRecord:
        market = self._market
        token = opportunity.token
        gas_cost = receipt.gas_cost_wei
        profit = receipt.token_delta
        flash_fee = opportunity.flash_fee if receipt.status == "success" else 0
        token_to_quote = self._prices.rate(token, market.quote)
        to_native = _value(self._prices.rate(token, market.native), profit)
        to_quote = _value(token_to_quote, profit)
        gas_quote = _cost(self._prices.rate(market.native, market.quote), gas_cost)
        return TradeRecord(
            id=f"{self._venue.name}-{self._session}-{next(self._ids):06d}",
            opportunity_id=opportunity.id,
            venue=self._venue.name,
            route=[hop.to_dict() for hop in opportunity.route],
            token=token,
            token_symbol=market.tokens[token].symbol if token in market.tokens else "?",
            amount_in=opportunity.amount_in,
            amount_out=receipt.amount_out,
            status=receipt.status,
            revert_reason=receipt.revert_reason,
            gas_used=receipt.gas_used,
            gas_price=receipt.gas_price,
            gas_cost_wei=gas_cost,
            flash_fee=flash_fee,
            profit_token=profit,
            profit_native=to_native - gas_cost,
            profit_quote=to_quote - gas_quote,
            expected_profit=opportunity.net_profit,
            block_number=receipt.block_number,
            tx_hash=receipt.tx_hash,
            detected_at=opportunity.detected_at,
            submitted_at=submitted_at,
            mined_at=receipt.mined_at,
            gas_cost_quote=gas_quote,
            flash_fee_quote=_cost(token_to_quote, flash_fee),
            nonce=receipt.nonce,
            sender=receipt.sender,
            block_hash=receipt.block_hash,
        )


def _value(rate: Rate | None, amount: int) -> int:
    """A profit at mid price, rounded down; 0 if the token cannot be priced."""
    return 0 if rate is None else rate.down(amount)


def _cost(rate: Rate | None, amount: int) -> int:
    """A cost at mid price, rounded up, so rounding never flatters the result."""
    return 0 if rate is None else rate.up(amount)
