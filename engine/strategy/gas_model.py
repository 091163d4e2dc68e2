"""Gas per route shape, learnt from what the chain charged; the static numbers are the prior.

A route's gas depends on what it runs through, not on its amounts: how many hops, what
kind of pool each is (a Uniswap V2 pair today), and which dex deployed it (forks differ
in their pair code). That triple is a `RouteShape`; rotations of a cycle are the same
pools, so a shape lists its legs sorted and a cycle has one shape whichever token it is
traded from.

Invariant: the estimate of a shape is an integer number of gas units taken from, in
order of trust,
  1. receipts: the `gasUsed` of our successful transactions of that shape (what the
     wallet paid for, the truth);
  2. dry runs: the `eth_estimateGas` of the executor call before the first send (close,
     but nodes simulate at the head's timestamp and can skip a pair's oracle writes, see
     engine.market.evm.fees, so it is only used until a receipt arrives);
  3. the prior: the configured `gas_units_2hop` / `gas_units_3hop` (the path where the
     route's first pair lends), plus what the active lender's contract path adds to it
     (`LENDER_GAS_OVERHEAD`, measured on anvil: docs/benchmarks.md "Gas per executor
     path"; an Aave loan costs ~144k gas more than a V2 flash swap).
Observations are kept per (shape, lender): the lender is the one active when they were
made (`active_lender`, the liquidity failover's choice), so a failover to a dearer
lender charges that lender's figures at once instead of the cheaper path's receipts.
From observations the estimate is a quantile (nearest rank, `quantile_pct`, the upper
median by default) of the last `window` ones. Measured on the devnet's real contracts: the
first trade through a token pays a one-off zero-to-nonzero storage write (60k-100k gas
more), and within a shape gas still varies by ±7 % with the route's tokens (2-hop
155k-178k, 3-hop 193k-258k). An upper quantile keeps the one-off for many trades and
over-charges the common route (p90: 22-30 % mean error); the median of the ring is robust
to both, with a mean error of 3-8 % once a shape has a few receipts, against 15-40 % for
the static prior. Each ring is bounded, and so is the number of shapes kept.

Durability: the receipts are in the ledger already (every booked trade keeps its route
and `gas_used`), so a restarting engine rebuilds the model from its recent trades
(`restore`) instead of keeping a second copy that could disagree with the books. Dry-run
estimates are not kept: the first dry run of a shape after a restart measures it again.

Threads: the search reads estimates on the market's worker thread while the loop adds
observations. A shape's estimate is one dict entry, replaced whole, so a reader sees the
old estimate or the new one, never a half-updated state.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from engine.ledger.records import TradeRecord
from engine.ledger.store import LedgerStore
from engine.market.model import Pool
from engine.strategy.opportunity import Hop

log = logging.getLogger("arbctl.gas")

V2 = "v2"
FIRST_HOP = "first-hop"
# Gas each lender's path adds to the first-hop flash swap (`execute`), the median over
# route kinds (2/3-hop V2, V3+V2) of receipts on the devnet's real contracts,
# scripts/bench/executor_gas.py. Inventory costs more than first-hop: `run` moves the
# input out of the executor and checks each pool, where the flash swap is paid in place.
LENDER_GAS_OVERHEAD: dict[str, int] = {
    FIRST_HOP: 0,
    "inventory": 18_500,
    "uniswap-v3": 85_600,
    "balancer-v2": 56_400,
    "aave-v3": 144_400,
}
DEFAULT_WINDOW = 64
DEFAULT_QUANTILE_PCT = 50
MAX_SHAPES = 4096
RESTORE_TRADES = 10_000  # newest booked trades read back at start
Source = Literal["receipts", "estimate_gas", "prior"]


def pool_kind(pool: Pool) -> str:
    """The pool's kind as gas sees it. Every market pool is a Uniswap V2 style pair today;
    a new pool kind names itself here."""
    return getattr(pool, "kind", V2) or V2


@dataclass(frozen=True, slots=True, order=True)
class RouteShape:
    """Hop count and the (dex, kind) of every leg, legs sorted: a cycle's gas class."""

    hops: int
    kinds: tuple[str, ...]
    dexes: tuple[str, ...]

    @classmethod
    def of(cls, pools: Sequence[Pool]) -> RouteShape:
        legs = sorted((pool.dex, pool_kind(pool)) for pool in pools)
        return cls(len(legs), tuple(kind for _, kind in legs), tuple(dex for dex, _ in legs))

    @property
    def label(self) -> str:
        """'2-hop v2 sushiswap+uniswap' (kinds listed once when all legs share one)."""
        kinds = "+".join(dict.fromkeys(self.kinds))
        return f"{self.hops}-hop {kinds} {'+'.join(self.dexes)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "shape": self.label,
            "hops": self.hops,
            "kinds": list(self.kinds),
            "dexes": list(self.dexes),
        }


def route_shape(route: Sequence[Hop], pools: Mapping[str, Pool]) -> RouteShape | None:
    """The shape of a route through the market's pools; None if a pool is unknown."""
    found = [pools.get(hop.pool) for hop in route]
    if not found or any(pool is None for pool in found):
        return None
    return RouteShape.of([pool for pool in found if pool is not None])


def upper_quantile(values: Iterable[int], pct: int) -> int:
    """Nearest-rank `pct` percentile of a non-empty collection of ints."""
    ordered = sorted(values)
    rank = -(-len(ordered) * pct // 100)  # ceil, at least 1 for pct > 0
    return ordered[max(1, rank) - 1]


_Key = tuple[RouteShape, str]  # a shape and the lender path it was observed on


@dataclass(slots=True)
class _Observed:
    receipts: deque[int]
    estimates: deque[int]


@dataclass(frozen=True, slots=True)
class ShapeEstimate:
    """One row of `arbctl gas`: a shape, what the search charges for it, and why."""

    shape: RouteShape
    estimate: int
    prior: int
    source: Source
    receipts: int  # observations in the ring
    estimates: int
    last_used: int | None  # the newest receipt's gasUsed
    lender: str = FIRST_HOP  # the lender path these observations were made on

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.shape.to_dict(),
            "lender": self.lender,
            "gas_units": self.estimate,
            "prior": self.prior,
            "source": self.source,
            "observations": self.receipts + self.estimates,
            "receipts": self.receipts,
            "estimates": self.estimates,
            "last_used": self.last_used,
        }


class GasModel:
    """Per-shape gas estimates: the prior until observations arrive, then their median
    (or the configured quantile)."""

    def __init__(
        self,
        prior: Mapping[int, int],
        window: int = DEFAULT_WINDOW,
        quantile_pct: int = DEFAULT_QUANTILE_PCT,
        max_shapes: int = MAX_SHAPES,
        active_lender: Callable[[], str] | None = None,
        lender_overhead: Mapping[str, int] = LENDER_GAS_OVERHEAD,
    ) -> None:
        if not prior or any(units <= 0 for units in prior.values()):
            raise ValueError("the gas prior needs a positive estimate per hop count")
        if window < 1 or not 0 < quantile_pct <= 100 or max_shapes < 1:
            raise ValueError("window and max_shapes must be positive, quantile_pct in 1..100")
        self._prior = dict(prior)
        self._window = window
        self._pct = quantile_pct
        self._max_shapes = max_shapes
        self._lender = active_lender or (lambda: FIRST_HOP)
        self._overhead = dict(lender_overhead)
        self._observed: OrderedDict[_Key, _Observed] = OrderedDict()
        self._current: dict[_Key, int] = {}
        self.version = 0  # bumps on every change of an estimate

    @property
    def prior(self) -> dict[int, int]:
        return dict(self._prior)

    def prior_for(self, hops: int, lender: str = FIRST_HOP) -> int:
        """The configured number for this many hops (the nearest configured length's,
        scaled per hop, for a length the config does not name), plus what `lender`'s
        path adds (an unknown lender: nothing)."""
        if hops in self._prior:
            base = self._prior[hops]
        else:
            nearest = min(self._prior, key=lambda n: (abs(n - hops), n))
            base = self._prior[nearest] * hops // nearest
        return base + self._overhead.get(lender, 0)

    @property
    def lender(self) -> str:
        """The lender path trades take now (the liquidity failover's active source)."""
        return self._lender()

    def estimate(self, shape: RouteShape, lender: str | None = None) -> int:
        """Gas units the search charges for a route of this shape, borrowing from
        `lender` (default: the active one)."""
        lender = self.lender if lender is None else lender
        current = self._current.get((shape, lender))
        return current if current is not None else self.prior_for(shape.hops, lender)

    # --- learning --------------------------------------------------------------------------
    def observe_receipt(self, shape: RouteShape, gas_used: int, lender: str | None = None) -> None:
        """A mined, successful transaction of this shape used `gas_used`."""
        if gas_used > 0:
            key = (shape, self.lender if lender is None else lender)
            self._ring(key).receipts.append(gas_used)
            self._update(key)

    def observe_estimate(self, shape: RouteShape, estimate: int, lender: str | None = None) -> None:
        """A dry run's `eth_estimateGas` for a transaction of this shape."""
        if estimate > 0:
            key = (shape, self.lender if lender is None else lender)
            self._ring(key).estimates.append(estimate)
            self._update(key)

    def _ring(self, key: _Key) -> _Observed:
        observed = self._observed.get(key)
        if observed is None:
            observed = _Observed(deque(maxlen=self._window), deque(maxlen=self._window))
            self._observed[key] = observed
            if len(self._observed) > self._max_shapes:
                dropped, _ = self._observed.popitem(last=False)
                self._current.pop(dropped, None)
                log.warning("gas model: more than %d route shapes; forgot %s via %s",
                            self._max_shapes, dropped[0].label, dropped[1])  # fmt: skip
        self._observed.move_to_end(key)
        return observed

    def _update(self, key: _Key) -> None:
        observed = self._observed[key]
        values = observed.receipts or observed.estimates
        new = upper_quantile(values, self._pct)
        if self._current.get(key) != new:
            self._current[key] = new
            self.version += 1

    # --- reading ---------------------------------------------------------------------------
    def source(self, shape: RouteShape, lender: str | None = None) -> Source:
        observed = self._observed.get((shape, self.lender if lender is None else lender))
        if observed is None:
            return "prior"
        return "receipts" if observed.receipts else "estimate_gas"

    def table(self) -> list[ShapeEstimate]:
        """Every (shape, lender) with observations, by hop count, name and lender."""
        rows = []
        for (shape, lender), observed in sorted(self._observed.items()):
            rows.append(
                ShapeEstimate(
                    shape,
                    self.estimate(shape, lender),
                    self.prior_for(shape.hops, lender),
                    self.source(shape, lender),
                    len(observed.receipts),
                    len(observed.estimates),
                    observed.receipts[-1] if observed.receipts else None,
                    lender,
                )
            )
        return rows


def learns_from(trade: TradeRecord) -> bool:
    """A receipt that says what its route costs: a successful execution (a revert stops
    early and burns less; a cancel is a plain transfer)."""
    return trade.status == "success" and trade.gas_used > 0


async def restore(
    model: GasModel, store: LedgerStore, venue: str, pools: Mapping[str, Pool]
) -> int:
    """Fold the newest successful trades of this venue back in, oldest first; returns how
    many. Trades through pools the market no longer lists are skipped."""
    trades = await store.list_trades(status="success", limit=RESTORE_TRADES)
    restored = 0
    for trade in reversed(trades):  # the store lists newest first
        if trade.venue != venue or not learns_from(trade):
            continue
        route = [
            Hop(h.get("pool", ""), h.get("token_in", ""), h.get("token_out", ""))
            for h in trade.route
        ]
        shape = route_shape(route, pools)
        if shape is not None:
            model.observe_receipt(shape, trade.gas_used)
            restored += 1
    return restored
