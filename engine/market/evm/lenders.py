"""What each configured lender can lend of each token, read once per block.

A lender lends what it holds, so its capacity is a balance, read with the block's own
reads (the follower's per-head batch, pinned to that block: no extra round trip):

    balancer-v2  token.balanceOf(Vault)          all it holds (BAL#528 above it)
    aave-v3      token.balanceOf(aToken),        the reserve's available liquidity; nothing
                 Pool.getConfiguration(token)    while paused, inactive or flash loans off
                                                 (Aave's own checks: codes 29, 27, 91)
    uniswap-v3   token.balanceOf(pool),          nothing while the pool has no liquidity
                 liquidity()                     (its flash reverts 'L')
    inventory    token.balanceOf(executor)       no loan: the executor's own balance

A frozen Aave reserve still lends by flash loan (Aave V3 checks only paused, active and
the flash-loan flag), so frozen is not a zero here. `first-hop` (the route's first V2
pair) has no cap beyond its own curve, which the search already respects, so it is not
read. The aToken of each Aave reserve is read once, at start (it never changes).
A read that fails leaves the capacity unknown (None), never zero: a node's hiccup must
not fail a lender over.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address

from engine.market.evm import abi
from engine.market.evm.rpc import Call, NodeRpcError, RpcClient
from engine.market.venue import Loan

# Aave V3 ReserveConfiguration bits (ReserveConfiguration.sol)
AAVE_ACTIVE_BIT = 56
AAVE_FROZEN_BIT = 57
AAVE_PAUSED_BIT = 60
AAVE_FLASHLOAN_BIT = 63
ATOKEN_WORD = 8  # getReserveData: configuration, 7 words of rates/indexes/id, then aToken
READ_KINDS = ("balancer-v2", "aave-v3", "uniswap-v3", "inventory")
GET_LIQUIDITY = abi.calldata("liquidity()", ())
Key = tuple[str, str, str]  # (loan kind, lender address, token)


def get_reserve_data(asset: str) -> str:
    return abi.calldata("getReserveData(address)", (asset,))


def get_configuration(asset: str) -> str:
    return abi.calldata("getConfiguration(address)", (asset,))


def aave_lends(configuration: int) -> bool:
    """Does an Aave V3 reserve with this configuration word allow a flash loan?"""
    active = configuration >> AAVE_ACTIVE_BIT & 1
    paused = configuration >> AAVE_PAUSED_BIT & 1
    flash = configuration >> AAVE_FLASHLOAN_BIT & 1
    return bool(active and flash and not paused)


@dataclass(frozen=True, slots=True)
class _Read:
    """One (lender, token) pair's calls this block and how to turn them into a capacity."""

    key: Key
    calls: tuple[Call, ...]


class LenderCapacities:
    """The watched lenders' capacities at the last block read."""

    def __init__(self, executor: str, tokens: Iterable[str]) -> None:
        self._executor = to_checksum_address(executor)
        self._tokens = [to_checksum_address(t) for t in tokens]
        self._loans: list[Loan] = []
        self._atokens: dict[tuple[str, str], str] = {}  # (aave pool, token) -> aToken
        self._capacity: dict[Key, int] = {}
        self.block: int | None = None

    def watch(self, loans: Sequence[Loan], tokens: Sequence[str] = ()) -> None:
        """The lenders to read (the configured liquidity sources' paths), of `tokens`
        (the cycles' start tokens, what is borrowed; default every market token)."""
        self._loans = [loan for loan in loans if loan.kind in READ_KINDS]
        if tokens:
            self._tokens = [to_checksum_address(t) for t in tokens]

    def capacity(self, loan: Loan, token: str) -> int | None:
        """What `loan` can lend of `token` at `block`; None: not read (or no cap)."""
        return self._capacity.get((loan.kind, loan.lender.lower(), token.lower()))

    async def prepare(self, client: RpcClient, block: int) -> None:
        """Each Aave reserve's aToken, once (an unlisted reserve has none: it lends nothing)."""
        pairs = [
            (loan.lender, t) for loan in self._loans if loan.kind == "aave-v3" for t in self._tokens
        ]
        if not pairs:
            return
        calls = [abi.eth_call(pool, get_reserve_data(token), block) for pool, token in pairs]
        for (pool, token), raw in zip(pairs, await client.batch_chunked(calls), strict=True):
            if isinstance(raw, str) and len(raw) >= 2 + 64 * (ATOKEN_WORD + 1):
                self._atokens[(pool, token)] = to_checksum_address(
                    abi.address_word(raw, ATOKEN_WORD)
                )

    def calls(self, block: int) -> list[Call]:
        """This block's reads, to go in the follower's batch (in `apply`'s order)."""
        return [call for read in self._reads(block) for call in read.calls]

    def apply(self, block: int, results: Sequence[Any]) -> None:
        """The results of `calls(block)`, in order: the capacities at `block`."""
        at = 0
        capacity: dict[Key, int] = {}
        for read in self._reads(block):
            answers = results[at : at + len(read.calls)]
            at += len(read.calls)
            amount = _capacity(read.key[0], answers)
            if amount is not None:
                capacity[read.key] = amount
        self._capacity = capacity
        self.block = block

    def _reads(self, block: int) -> list[_Read]:
        reads: list[_Read] = []
        for loan in self._loans:
            for token in self._tokens:
                calls = self._calls_for(loan, token, block)
                key = (loan.kind, loan.lender.lower(), token.lower())
                reads.append(_Read(key, calls))
        return reads

    def _calls_for(self, loan: Loan, token: str, block: int) -> tuple[Call, ...]:
        if loan.kind == "inventory":
            return (abi.eth_call(token, abi.balance_of(self._executor), block),)
        if loan.kind == "balancer-v2":
            return (abi.eth_call(token, abi.balance_of(loan.lender), block),)
        if loan.kind == "uniswap-v3":
            return (
                abi.eth_call(token, abi.balance_of(loan.lender), block),
                abi.eth_call(loan.lender, GET_LIQUIDITY, block),
            )
        atoken = self._atokens.get((loan.lender, token))
        if atoken is None:
            return ()  # not a reserve of this pool: it lends nothing of the token
        return (
            abi.eth_call(token, abi.balance_of(atoken), block),
            abi.eth_call(loan.lender, get_configuration(token), block),
        )


def _capacity(kind: str, answers: Sequence[Any]) -> int | None:
    if not answers:
        return 0  # an Aave pool with no reserve of the token
    if any(isinstance(a, NodeRpcError) or not isinstance(a, str) for a in answers):
        return None
    balance = abi.word(answers[0])
    if kind == "uniswap-v3" and abi.word(answers[1]) == 0:
        return 0
    if kind == "aave-v3" and not aave_lends(abi.word(answers[1])):
        return 0
    return balance
