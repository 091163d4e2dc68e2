"""The venue's pools: found through the factories (or listed), reserves kept current.

Start-up reads everything at one pinned block so the market is a consistent snapshot:
every factory's `allPairs`, each pair's tokens, and its reserves, all in chunked
concurrent JSON-RPC batches. After that the reserves change only through the `Sync`
events of blocks the follower fetches (a Uniswap V2 pair emits Sync with its new
reserves on every change), or through a full re-read after a reorg.

Pairs whose two tokens are not both in `evm.tokens` are left out: the market knows only
configured tokens (decimals and symbols come from the config, not from the chain).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from eth_utils import to_checksum_address

from engine.config import EvmSection, FactoryEntry
from engine.market.errors import MarketError
from engine.market.evm import abi
from engine.market.evm.rpc import Call, NodeRpcError, RpcClient
from engine.market.model import Market, Pool, Token

log = logging.getLogger("arbctl.evm")

UNKNOWN_DEX = "unknown"
DEFAULT_FEE_BPS = 30


class PoolLoadError(MarketError, RuntimeError):
    """The pools could not be read consistently from the chain."""


@dataclass(frozen=True, slots=True)
class PairInfo:
    address: str  # checksummed
    token0: str
    token1: str
    dex: str
    fee_bps: int


class PoolBook:
    """The market's V2 pairs by the lower-case address logs carry, and applying Syncs
    (V3 pools are the V3 book's: engine/market/evm/v3_book.py)."""

    def __init__(self, market: Market) -> None:
        self._market = market
        self._by_lower = {
            address.lower(): address for address, pool in market.pools.items() if pool.kind == "v2"
        }

    @property
    def addresses(self) -> list[str]:
        return list(self._by_lower.values())

    def address_of(self, lower: str) -> str | None:
        return self._by_lower.get(lower)

    def apply(self, updates: Mapping[str, tuple[int, int]]) -> set[str]:
        """Set reserves (pool address -> (reserve0, reserve1)); the pools that changed.

        Written through the market's reserve log, so the search takes them from there."""
        changed = set()
        pools = self._market.pools
        for address, (reserve0, reserve1) in updates.items():
            pool = pools.get(address)
            if pool is None or pool.kind != "v2":
                continue
            if (pool.reserve0, pool.reserve1) == (reserve0, reserve1):
                continue
            pool.set_reserves(reserve0, reserve1)
            changed.add(address)
        return changed

    def sync_updates(self, logs: Iterable[dict[str, object]]) -> dict[str, tuple[int, int]]:
        """The last Sync of each of our pools among `logs` (in chain order), by address."""
        ordered = sorted(logs, key=_log_position)
        updates: dict[str, tuple[int, int]] = {}
        for entry in ordered:
            topics = entry.get("topics") or []
            if not topics or topics[0] != abi.SYNC_TOPIC or entry.get("removed"):  # type: ignore[index]
                continue
            address = self.address_of(str(entry.get("address", "")).lower())
            if address is not None:
                updates[address] = abi.reserves(str(entry["data"]))
        return updates


def configured_market(evm: EvmSection, native: str, quote: str) -> Market:
    """The market before the chain is read: the configured tokens, no pools yet.

    Known at construction so parts built before the venue starts (guards, pricing of
    the quote token) see the tokens; `load_pools` fills the same instance in place.
    """
    market = Market()
    for token in tokens_of(evm):
        market.add_token(token)
    by_symbol = {t.symbol: t.address for t in market.tokens.values()}
    market.native = by_symbol.get(native, "")
    market.quote = by_symbol.get(quote, "")
    return market


async def load_pools(client: RpcClient, evm: EvmSection, market: Market, block: int) -> None:
    """Add every pair of configured tokens to `market`, with its reserves at `block`."""
    pairs = await discover_pairs(client, evm, block)
    known = [p for p in pairs if p.token0 in market.tokens and p.token1 in market.tokens]
    reserves = await read_reserves(client, [p.address for p in known], block)
    for pair in known:
        reserve0, reserve1 = reserves[pair.address]
        market.add_pool(
            Pool(pair.dex, pair.address, pair.token0, pair.token1, reserve0, reserve1, pair.fee_bps)
        )
    if len(known) < len(pairs):
        skipped = len(pairs) - len(known)
        log.info("%d of %d pairs skipped: a token not in evm.tokens", skipped, len(pairs))


def tokens_of(evm: EvmSection) -> list[Token]:
    return [Token(to_checksum_address(t.address), t.symbol, t.decimals) for t in evm.tokens]


async def discover_pairs(client: RpcClient, evm: EvmSection, block: int) -> list[PairInfo]:
    """Every pair of the configured factories, or the explicit `evm.pairs` list."""
    factories: dict[str, FactoryEntry] = {to_checksum_address(f.address): f for f in evm.factories}
    if evm.pairs:
        addresses: list[str] = [to_checksum_address(a) for a in evm.pairs]
        owners = await _strict_calls(
            client, [abi.eth_call(a, abi.FACTORY, block) for a in addresses]
        )
        makers: list[str] = [to_checksum_address(abi.address_word(raw)) for raw in owners]
    else:
        addresses, makers = await _factory_pairs(client, list(factories.values()), block)
    tokens = await _strict_calls(
        client,
        [abi.eth_call(a, data, block) for a in addresses for data in (abi.TOKEN0, abi.TOKEN1)],
    )
    return [
        _pair_info(address, tokens[2 * i], tokens[2 * i + 1], factories.get(makers[i]))
        for i, address in enumerate(addresses)
    ]


async def read_reserves(
    client: RpcClient, addresses: Sequence[str], block: int | str
) -> dict[str, tuple[int, int]]:
    """getReserves() of every pair at `block`, in chunked concurrent batches."""
    raw = await _strict_calls(client, [abi.eth_call(a, abi.GET_RESERVES, block) for a in addresses])
    return {address: abi.reserves(data) for address, data in zip(addresses, raw, strict=True)}


async def _factory_pairs(
    client: RpcClient, factories: list[FactoryEntry], block: int
) -> tuple[list[str], list[str]]:
    lengths = await _strict_calls(
        client, [abi.eth_call(f.address, abi.ALL_PAIRS_LENGTH, block) for f in factories]
    )
    calls: list[Call] = []
    makers: list[str] = []
    for factory, length in zip(factories, lengths, strict=True):
        count = abi.word(length)
        calls.extend(abi.eth_call(factory.address, abi.all_pairs(i), block) for i in range(count))
        makers.extend([to_checksum_address(factory.address)] * count)
    raw = await _strict_calls(client, calls)
    return [to_checksum_address(abi.address_word(r)) for r in raw], makers


async def _strict_calls(client: RpcClient, calls: list[Call]) -> list[str]:
    words: list[str] = []
    for call, result in zip(calls, await client.batch_chunked(calls), strict=True):
        if isinstance(result, NodeRpcError):
            target = call[1][0]["to"]
            raise PoolLoadError(f"reading pools: call to {target} failed: {result.message}")
        if not isinstance(result, str) or len(result) < 66:
            target = call[1][0]["to"]
            raise PoolLoadError(f"reading pools: {target} returned no data (not a contract?)")
        words.append(result)
    return words


def _pair_info(address: str, raw0: str, raw1: str, factory: FactoryEntry | None) -> PairInfo:
    return PairInfo(
        address=address,
        token0=to_checksum_address(abi.address_word(raw0)),
        token1=to_checksum_address(abi.address_word(raw1)),
        dex=factory.name if factory else UNKNOWN_DEX,
        fee_bps=factory.fee_bps if factory else DEFAULT_FEE_BPS,
    )


def _log_position(entry: dict[str, object]) -> tuple[int, int]:
    return int(str(entry.get("blockNumber", "0x0")), 16), int(str(entry.get("logIndex", "0x0")), 16)
