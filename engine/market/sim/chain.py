"""The simulated chain: state, mempool and block production, synchronous and exact.

Mining a block is one deterministic step — gas moves, other searchers close wide
spreads, noise traders swap, then pending transactions execute in arrival (nonce)
order, interleaved with the rivals racing them by priority fee, highest first, so a
rival lands ahead of an order unless the order bids more — so the whole market is a
function of the seed and of what the engine submitted before each block. Timing,
providers and asyncio live in the venue around this; tests can also drive `mine()`
directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.config import MarketSection, SimSection
from engine.market.errors import MarketError
from engine.market.model import Block, Market
from engine.market.sim import contract
from engine.market.sim.competitors import BackgroundArbs, Rivals, block_order
from engine.market.sim.gas import GasProcess
from engine.market.sim.noise import NoiseTraders
from engine.market.sim.seeds import fake_tx_hash, stream
from engine.market.sim.world import World, build_world
from engine.market.venue import ArbOrder, Receipt, TxStatus

INSUFFICIENT_FUNDS = "insufficient funds for gas * price + value"


class Rejected(MarketError):
    """The node refused a transaction at submission (it never reaches a block)."""


@dataclass(slots=True)
class Pending:
    tx_hash: str
    nonce: int
    order: ArbOrder
    submitted_at: float


@dataclass(frozen=True, slots=True)
class Mined:
    block: Block
    changed_pools: frozenset[str]
    receipts: tuple[Receipt, ...]


class SimChain:
    def __init__(self, sim: SimSection, market: MarketSection | None = None) -> None:
        self.world: World = build_world(sim, market)
        self.chain_id = f"sim-{sim.seed}"
        self.market: Market = self.world.market
        self.balances: dict[str, int] = dict(self.world.balances)
        self.head = 0
        self.nonce = 0
        self.pending: list[Pending] = []
        self.gas = GasProcess(sim.gas_base_gwei, sim.gas_spike_probability, stream(sim.seed, "gas"))
        self.noise = NoiseTraders(
            sim.noise_swaps_per_block, sim.noise_tail_alpha, stream(sim.seed, "noise")
        )
        self.rivals = Rivals(
            sim.competitor_probability, stream(sim.seed, "competitors"), sim.competitor_bid_share
        )
        self.background = BackgroundArbs(stream(sim.seed, "background"))

    def genesis(self, now: float) -> Mined:
        """Block 0: nothing happens, but every pool is news to a fresh engine."""
        block = Block(number=0, timestamp=now, base_fee=self.gas.base_fee)
        return Mined(block, frozenset(self.market.pools), ())

    def submit(self, order: ArbOrder, now: float) -> Pending:
        """Accept an order into the mempool; raises Rejected if gas is unaffordable."""
        if self._native() < order.gas_limit * order.gas_price:
            raise Rejected(INSUFFICIENT_FUNDS)
        self.nonce += 1
        pending = Pending(
            tx_hash=fake_tx_hash(self.chain_id, self.nonce, order.order_id),
            nonce=self.nonce,
            order=order,
            submitted_at=now,
        )
        self.pending.append(pending)
        return pending

    def drop_pending(self) -> list[Pending]:
        """Take every pending transaction out of the mempool, unmined."""
        dropped, self.pending = self.pending, []
        return dropped

    def mine(self, now: float, mempool: list[Pending] | None = None) -> Mined:
        """Produce the next block: gas; other searchers close wide spreads the engine
        saw and left (not on pools it has orders for); noise; then the mempool and the
        rivals racing it, by priority fee (see `competitors`).

        `mempool`: the transactions to include, already taken out with `drop_pending()`
        (the venue takes them on the event loop and mines on its worker thread, so an
        order submitted meanwhile waits for the next block); None takes them here.
        """
        included = self.drop_pending() if mempool is None else mempool
        self.head += 1
        self.gas.advance()
        reserved = {hop.pool for pending in included for hop in pending.order.hops}
        changed = self.background.sweep(self.market, reserved)
        changed |= self.noise.trade(self.market)
        orders = [pending.order for pending in included]
        bids = self.rivals.bids(self.market, orders)
        receipts = []
        landed: set[int] = set()
        for placed in block_order(orders, bids):
            if not isinstance(placed, int):
                changed |= self.rivals.land(self.market, placed, placed.target not in landed)
                continue
            receipt, touched = self._include(included[placed], now)
            landed.add(placed)
            changed |= touched
            receipts.append(receipt)
        self.background.note_changed(changed)  # its next sweep looks at these again
        block = Block(number=self.head, timestamp=now, base_fee=self.gas.base_fee)
        return Mined(block, frozenset(changed), tuple(receipts))

    def _include(self, pending: Pending, now: float) -> tuple[Receipt, frozenset[str]]:
        order = pending.order
        if self._native() < order.gas_limit * order.gas_price:
            return self._receipt(pending, "failed", INSUFFICIENT_FUNDS, 0, 0, 0, now), frozenset()
        execution = contract.run(self.market, order)
        self.balances[self.market.native] -= execution.gas_used * order.gas_price
        if execution.status != "success":
            receipt = self._receipt(
                pending, execution.status, execution.revert_reason, execution.gas_used, 0, 0, now
            )
            return receipt, frozenset()
        touched = contract.commit(self.market, execution)
        delta = execution.amount_out - order.amount_in - order.flash_fee
        self.balances[order.token] = self.balances.get(order.token, 0) + delta
        receipt = self._receipt(
            pending, "success", "", execution.gas_used, execution.amount_out, delta, now
        )
        return receipt, touched

    def _receipt(
        self,
        pending: Pending,
        status: TxStatus,
        reason: str,
        gas_used: int,
        amount_out: int,
        delta: int,
        now: float,
    ) -> Receipt:
        return Receipt(
            tx_hash=pending.tx_hash,
            order_id=pending.order.order_id,
            status=status,
            revert_reason=reason,
            block_number=self.head,
            gas_used=gas_used,
            gas_price=pending.order.gas_price,
            amount_out=amount_out,
            token_delta=delta,
            submitted_at=pending.submitted_at,
            mined_at=now,
        )

    def _native(self) -> int:
        return self.balances.get(self.market.native, 0)
