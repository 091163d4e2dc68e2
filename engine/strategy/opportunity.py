"""The record the search hands to guards, executor, ledger and the event bus.

Frozen so nothing downstream can quietly edit a number after the exact re-check;
every amount is an int in base units, `detected_at` is the only float.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True, slots=True)
class Hop:
    pool: str  # pool address
    token_in: str
    token_out: str
    kind: str = "v2"  # the pool's kind (engine.market.model.PoolKind): "v2" or "v3"
    fee_pips: int = 3_000  # the pool's swap fee in millionths (V3 fee tier; V2 bps x 100)

    def to_dict(self) -> dict[str, str | int]:
        return {
            "pool": self.pool,
            "token_in": self.token_in,
            "token_out": self.token_out,
            "kind": self.kind,
            "fee_pips": self.fee_pips,
        }


@dataclass(frozen=True, slots=True)
class Opportunity:
    id: str  # unique and deterministic: f"{block_number}-{cycle_key}"
    block_number: int
    route: tuple[Hop, ...]
    token: str  # start/end token of the cycle (a base token; what is flash-borrowed)
    amount_in: int
    amount_out: int  # exact integer math along the route
    gross_profit: int  # amount_out - amount_in, token base units
    gas_units: int
    gas_price: int  # wei per gas used for the estimate
    gas_cost: int  # gas cost converted into `token` base units
    flash_fee: int  # token base units
    net_profit: int  # gross_profit - gas_cost - flash_fee; the search never returns <= 0
    net_profit_quote: int  # net profit in the quote token's base units
    detected_at: float  # time.time() at detection
    # wei per gas the order bids as priority fee (engine/guards/bidding.py); 0: not bid
    # yet, the venue's own tip (what `gas_price` was priced with)
    priority_fee: int = 0
    # Set by the block's plan (engine/strategy/plan.py): the exact output of every hop on
    # the reserves the orders before it leave (the executor's per-hop bounds come from
    # these, not from the live pools), and the id of the order it is planned after ("":
    # the first of its block, priced on live reserves).
    hop_outputs: tuple[int, ...] = ()
    follows: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Event/JSON form: ints stay ints (JSON has arbitrary precision integers)."""
        return {
            "id": self.id,
            "block_number": self.block_number,
            "route": [hop.to_dict() for hop in self.route],
            "token": self.token,
            "amount_in": self.amount_in,
            "amount_out": self.amount_out,
            "gross_profit": self.gross_profit,
            "gas_units": self.gas_units,
            "gas_price": self.gas_price,
            "gas_cost": self.gas_cost,
            "flash_fee": self.flash_fee,
            "net_profit": self.net_profit,
            "net_profit_quote": self.net_profit_quote,
            "detected_at": self.detected_at,
            "priority_fee": self.priority_fee,
            "follows": self.follows,
        }


# Opportunity's slots in field order, set directly by `new_opportunity`.
_FIELDS = (
    "id",
    "block_number",
    "route",
    "token",
    "amount_in",
    "amount_out",
    "gross_profit",
    "gas_units",
    "gas_price",
    "gas_cost",
    "flash_fee",
    "net_profit",
    "net_profit_quote",
    "detected_at",
    "priority_fee",
    "hop_outputs",
    "follows",
)
if tuple(f.name for f in fields(Opportunity)) != _FIELDS:  # a field added: list it here too
    raise RuntimeError("opportunity._FIELDS no longer lists Opportunity's fields")
_SLOTS = tuple(getattr(Opportunity, name).__set__ for name in _FIELDS)


def new_opportunity(
    id: str,
    block_number: int,
    route: tuple[Hop, ...],
    token: str,
    amount_in: int,
    amount_out: int,
    gas_units: int,
    gas_price: int,
    gas_cost: int,
    flash_fee: int,
    net_profit: int,
    net_profit_quote: int,
    detected_at: float,
) -> Opportunity:
    """`Opportunity(...)` as the search detects it (gross profit derived, the plan's and the
    bidder's fields at their defaults), the same frozen object built without its __init__.

    The frozen dataclass's __init__ goes through object.__setattr__ field by field; setting
    the slots directly costs less than half, and the search builds one per exact re-check
    (issue 19, point 3)."""
    found = Opportunity.__new__(Opportunity)
    (
        set_id,
        set_block_number,
        set_route,
        set_token,
        set_amount_in,
        set_amount_out,
        set_gross_profit,
        set_gas_units,
        set_gas_price,
        set_gas_cost,
        set_flash_fee,
        set_net_profit,
        set_net_profit_quote,
        set_detected_at,
        set_priority_fee,
        set_hop_outputs,
        set_follows,
    ) = _SLOTS
    set_id(found, id)
    set_block_number(found, block_number)
    set_route(found, route)
    set_token(found, token)
    set_amount_in(found, amount_in)
    set_amount_out(found, amount_out)
    set_gross_profit(found, amount_out - amount_in)
    set_gas_units(found, gas_units)
    set_gas_price(found, gas_price)
    set_gas_cost(found, gas_cost)
    set_flash_fee(found, flash_fee)
    set_net_profit(found, net_profit)
    set_net_profit_quote(found, net_profit_quote)
    set_detected_at(found, detected_at)
    set_priority_fee(found, 0)
    set_hop_outputs(found, ())
    set_follows(found, "")
    return found
