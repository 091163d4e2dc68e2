"""A liquidity source's URL as the contract path its loans take.

`[[providers]] kind = "liquidity"` URLs name the lender by scheme and address:

    pair://first-hop                    the route's first V2 pair (flash swap), `execute`
    inventory://                        the executor's own balance, no loan
    uniswap-v3://0xPOOL?fee_bps=1       a Uniswap V3 pool's `flash` (its fee tier)
    balancer-v2://0xVAULT?fee_bps=0     the Balancer V2 Vault's `flashLoan`
    aave-v3://0xPOOL?fee_bps=5          the Aave V3 Pool's `flashLoanSimple`

The failover's active source is the path the transaction takes (`Loan` on the order;
engine/execution/evm.py turns it into `run`'s loan code and lender). The configuration
refuses a scheme we do not know, and on a chain a lender that is not an address
(engine/config.py): it could not be executed, and silently borrowing elsewhere would make
the failover a fiction.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from eth_utils import is_address, to_checksum_address

from engine.config import LENDER_SCHEMES
from engine.errors import ArbctlError
from engine.market.venue import FIRST_HOP, Loan

SCHEMES = {
    "pair": "first-hop",
    "inventory": "inventory",
    "uniswap-v3": "uniswap-v3",
    "balancer-v2": "balancer-v2",
    "aave-v3": "aave-v3",
}


class UnknownLender(ArbctlError, ValueError):
    """A liquidity URL that names no contract path the executor has."""


def lender_kind(url: str) -> str:
    """The contract path's kind a liquidity URL names (`first-hop`, `aave-v3`, ...), without
    requiring an address: on the simulated market a lender is named, not deployed. Never
    raises: an unknown scheme is reported as `first-hop`, the executor's default path."""
    return SCHEMES.get(urlsplit(url).scheme, FIRST_HOP.kind)


def loan_of(url: str) -> Loan:
    """The contract path a liquidity source's URL names."""
    parts = urlsplit(url)
    kind = SCHEMES.get(parts.scheme)
    if kind is None:
        known = ", ".join(f"{s}://" for s in SCHEMES)
        raise UnknownLender(f"liquidity URL scheme {parts.scheme!r}: not one of {known}")
    if kind == "first-hop":
        return FIRST_HOP
    if kind not in LENDER_SCHEMES:
        return Loan(kind)
    host = parts.hostname or ""
    if not is_address(host):
        raise UnknownLender(f"{parts.scheme}:// needs the lender's address, got {host!r}")
    return Loan(kind, to_checksum_address(host))
