"""`arbctl gas`: what gas costs right now and what the max-gas guard would do about it.

The runbook's morning checklist asks a gas oracle by hand; the venue already knows the
base fee and the priority fee it is bidding, so this reads them, prices a trade's gas in
quote at the pools' mid price for every route shape the gas model has learnt (and the
prior per hop count, what an unobserved shape is charged), and states the guard's
verdict at this moment.
"""

from __future__ import annotations

from typing import Any

from engine.guards.rules import MaxGasPrice
from engine.guards.thresholds import Thresholds
from engine.market.venue import BlockUpdate, Venue
from engine.strategy.gas_model import GasModel
from engine.strategy.pricing import PriceGraph


def current_fees(venue: Venue, head: BlockUpdate | None) -> tuple[int, int]:
    """(base fee, priority fee) in wei. The venue's own status when it reports a base fee
    (the sim does), else the last delivered block's; the priority fee is the rest of the
    price the venue says a sender must bid."""
    price = venue.gas_price()
    status = getattr(venue, "status", None)
    base = status().get("base_fee") if callable(status) else None
    if not isinstance(base, int):
        base = head.block.base_fee if head is not None else price
    return base, max(0, price - base)


def verdict(rule: MaxGasPrice, price: int, enabled: bool) -> tuple[str, str]:
    """The guard's decision at `price`, as a code and a sentence."""
    if not enabled:
        return "off", "the max_gas_price rule is disabled in [guards]"
    if price <= rule.threshold:
        return "allow", "gas is under the cap: the guard lets opportunities through"
    return "block_unless_profitable", (
        f"gas is over the cap: only opportunities whose net profit survives "
        f"{rule.headroom_pct}% dearer gas go ahead"
    )


def gas_report(
    venue: Venue,
    head: BlockUpdate | None,
    rule: MaxGasPrice,
    enabled: bool,
    prices: PriceGraph,
    gas: GasModel,
    thresholds: Thresholds,
) -> dict[str, Any]:
    base, priority = current_fees(venue, head)
    price = base + priority
    code, sentence = verdict(rule, price, enabled)
    over_cap = price > rule.threshold
    return {
        "block": head.block.number if head is not None else None,
        "base_fee": base,
        "priority_fee": priority,
        "gas_price": price,
        "gwei": {
            "base_fee": thresholds.show("wei", base),
            "priority_fee": thresholds.show("wei", priority),
            "gas_price": thresholds.show("wei", price),
        },
        "guard": {
            "name": rule.name,
            "enabled": enabled,
            "threshold": rule.threshold,
            "threshold_text": thresholds.show("wei", rule.threshold),
            "headroom_pct": rule.headroom_pct,
            "over_cap": over_cap,
            "verdict": code,
            "explain": sentence,
        },
        "routes": [
            {
                **row,
                **_route_cost(row["gas_units"], price, over_cap, rule, prices, venue, thresholds),
            }
            for row in _shape_rows(gas)
        ],
    }


def _shape_rows(gas: GasModel) -> list[dict[str, Any]]:
    """The prior per hop count (what a shape never observed is charged), then every
    learnt shape with its estimate, prior and observations."""
    lender = gas.lender  # the prior is the active lender's path
    priors: list[dict[str, Any]] = [
        {
            "shape": f"{hops}-hop (prior)",
            "hops": hops,
            "kinds": [],
            "dexes": [],
            "lender": lender,
            "gas_units": gas.prior_for(hops, lender),
            "prior": gas.prior_for(hops, lender),
            "source": "prior",
            "observations": 0,
            "receipts": 0,
            "estimates": 0,
            "last_used": None,
        }
        for hops in sorted(gas.prior)
    ]
    return priors + [row.to_dict() for row in gas.table()]


def _route_cost(
    units: int,
    price: int,
    over_cap: bool,
    rule: MaxGasPrice,
    prices: PriceGraph,
    venue: Venue,
    thresholds: Thresholds,
) -> dict[str, Any]:
    """Gas of one route shape now, in wei and quote; above the cap, the extra net profit
    an opportunity needs on top of paying it (the headroom)."""
    market = venue.market
    wei = units * price
    rate = prices.rate(market.native, market.quote) if market.native and market.quote else None
    cost = rate.up(wei) if rate is not None else None
    extra = -(-cost * rule.headroom_pct // 100) if cost is not None and over_cap else 0
    return {
        "cost_wei": wei,
        "cost_quote": cost,
        "cost_text": thresholds.show("quote", cost),
        "extra_margin_quote": extra,
        "extra_margin_text": thresholds.show("quote", extra),
    }
