"""Uniswap V3 pools on a real chain: found from the factory's logs, state read at one block.

Discovery: `PoolCreated(token0, token1, fee, tickSpacing, pool)` logs of each V3 factory
(or an explicit list of pool addresses, whose fee and spacing are then read from the
pools). Start-up state is read at one pinned block so every pool is a consistent
snapshot: `slot0` and `liquidity`, then the `tickBitmap` words within `word_radius` of the
current tick, then `ticks()` of every initialised tick found in them — three rounds of
chunked batches whatever the number of pools. Words farther out are fetched on demand
(`load_words`) when a swap walks into them (`TicksNotLoaded`).

After start-up the state changes only through logs, applied in chain order:
`Swap` carries the new price, tick and active liquidity; `Mint`/`Burn` move the
liquidity net at their two ticks (and the active liquidity when the range holds the
current tick). A reorg is handled as for V2: the venue re-reads the state at the new head.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass

from eth_utils import keccak, to_checksum_address

from engine.market.errors import MarketError
from engine.market.evm import abi
from engine.market.evm.rpc import Call, NodeRpcError, RpcClient
from engine.market.v3 import pool as v3pool
from engine.market.v3.ticks import TickInfo, TickTable

DEFAULT_WORD_RADIUS = 2


def _topic(signature: str) -> str:
    return "0x" + keccak(text=signature).hex()


POOL_CREATED_TOPIC = _topic("PoolCreated(address,address,uint24,int24,address)")
SWAP_TOPIC = _topic("Swap(address,address,int256,int256,uint160,uint128,int24)")
MINT_TOPIC = _topic("Mint(address,address,int24,int24,uint128,uint256,uint256)")
BURN_TOPIC = _topic("Burn(address,int24,int24,uint128,uint256,uint256)")
COLLECT_TOPIC = _topic("Collect(address,address,int24,int24,uint128,uint128)")
COLLECT_PROTOCOL_TOPIC = _topic("CollectProtocol(address,address,uint128,uint128)")
FLASH_TOPIC = _topic("Flash(address,address,uint256,uint256,uint256,uint256)")
STATE_TOPICS = (SWAP_TOPIC, MINT_TOPIC, BURN_TOPIC)
# everything that moves a pool's state or its token balances
LOG_TOPICS = (*STATE_TOPICS, COLLECT_TOPIC, COLLECT_PROTOCOL_TOPIC, FLASH_TOPIC)

SLOT0 = abi.calldata("slot0()", ())
LIQUIDITY = abi.calldata("liquidity()", ())
FEE = abi.calldata("fee()", ())
TICK_SPACING = abi.calldata("tickSpacing()", ())


class V3LoadError(MarketError, RuntimeError):
    """V3 pool state could not be read consistently from the chain."""


@dataclass(frozen=True, slots=True)
class V3PoolInfo:
    address: str  # checksummed
    token0: str
    token1: str
    fee_pips: int
    spacing: int
    dex: str


def _signed(word: int, bits: int) -> int:
    word &= (1 << bits) - 1
    return word - (1 << bits) if word >> (bits - 1) else word


def _words(data: str) -> list[int]:
    raw = data.removeprefix("0x")
    return [int(raw[i : i + 64], 16) for i in range(0, len(raw), 64)]


def pool_created(entry: Mapping[str, object], dex: str) -> V3PoolInfo:
    """One `PoolCreated` log as a pool record."""
    topics = [str(t) for t in entry["topics"]]  # type: ignore[attr-defined]
    spacing_word, pool_word = _words(str(entry["data"]))[:2]
    return V3PoolInfo(
        address=to_checksum_address(pool_word.to_bytes(32, "big")[12:]),
        token0=to_checksum_address(abi.topic_address(topics[1])),
        token1=to_checksum_address(abi.topic_address(topics[2])),
        fee_pips=int(topics[3], 16),
        spacing=_signed(spacing_word, 24),
        dex=dex,
    )


async def discover_pools(
    client: RpcClient, factory: str, dex: str, to_block: int, from_block: int = 0
) -> list[V3PoolInfo]:
    """Every pool a V3 factory created up to `to_block`, from its `PoolCreated` logs."""
    logs = await client.call(
        "eth_getLogs",
        [
            {
                "address": to_checksum_address(factory),
                "topics": [POOL_CREATED_TOPIC],
                "fromBlock": hex(from_block),
                "toBlock": hex(to_block),
            }
        ],
    )
    return [pool_created(entry, dex) for entry in logs if not entry.get("removed")]


async def read_states(
    client: RpcClient,
    pools: Sequence[V3PoolInfo],
    block: int,
    word_radius: int = DEFAULT_WORD_RADIUS,
) -> dict[str, v3pool.V3PoolState]:
    """Each pool's price, tick, liquidity and the initialised ticks near its price."""
    heads = await _strict(
        client,
        [abi.eth_call(p.address, data, block) for p in pools for data in (SLOT0, LIQUIDITY)],
    )
    states: dict[str, v3pool.V3PoolState] = {}
    for i, info in enumerate(pools):
        slot0 = _words(heads[2 * i])
        sqrt_price, tick = slot0[0], _signed(slot0[1], 24)
        word = (tick // info.spacing) >> 8
        table = TickTable(info.spacing, words=(word - word_radius, word + word_radius))
        liquidity = _words(heads[2 * i + 1])[0]
        states[info.address] = v3pool.V3PoolState(sqrt_price, tick, liquidity, info.fee_pips, table)
    await load_words(client, {p.address: states[p.address].ticks for p in pools}, block)
    return states


async def load_words(
    client: RpcClient,
    tables: Mapping[str, TickTable],
    block: int | str,
    words: Mapping[str, Iterable[int]] | None = None,
) -> None:
    """Fill each table's ticks for `words` (default: its whole loaded window) at `block`."""
    wanted = {
        address: list(words[address]) if words else _window(table)
        for address, table in tables.items()
        if not words or address in words
    }
    found = await fetch_words(
        client, {a: (tables[a].spacing, ws) for a, ws in wanted.items()}, block
    )
    for address, ws in wanted.items():
        install_words(tables[address], ws, found[address])


async def fetch_words(
    client: RpcClient, wanted: Mapping[str, tuple[int, Sequence[int]]], block: int | str
) -> dict[str, dict[int, TickInfo]]:
    """The initialised ticks of the bitmap `words` of each pool (address -> (spacing,
    words)) at `block`: two rounds of batches, the bitmaps then `ticks()` of every set bit.
    Reads only: the tables are changed by `install_words`, on the market's thread."""
    calls: list[Call] = [
        abi.eth_call(address, _tick_bitmap(w), block)
        for address, (_spacing, ws) in wanted.items()
        for w in ws
    ]
    bitmaps = iter(await _strict(client, calls))
    found: list[tuple[str, int]] = []
    for address, (spacing, ws) in wanted.items():
        for w in ws:
            bits = int(next(bitmaps), 16)
            found.extend((address, (w * 256 + b) * spacing) for b in _set_bits(bits))
    infos = await _strict(client, [abi.eth_call(a, _ticks(t), block) for a, t in found])
    out: dict[str, dict[int, TickInfo]] = {address: {} for address in wanted}
    for (address, tick), raw in zip(found, infos, strict=True):
        gross, net = _words(raw)[:2]
        out[address][tick] = TickInfo(gross, _signed(net, 128))
    return out


def install_words(table: TickTable, words: Sequence[int], ticks: Mapping[int, TickInfo]) -> None:
    """The chain's ticks of `words` replace whatever the table held there; the loaded
    window grows to cover them (callers load contiguous words)."""
    if not words:
        return
    spacing = table.spacing
    lo, hi = min(words), max(words)
    for tick in [t for t in table.info if lo <= (t // spacing) >> 8 <= hi]:
        del table.info[tick]
    table.info.update(ticks)
    table.__post_init__()
    if table.words is not None:
        table.words = (min(table.words[0], lo), max(table.words[1], hi))


def _window(table: TickTable) -> list[int]:
    if table.words is None:
        raise V3LoadError("a table that claims every word cannot be loaded by window")
    return list(range(table.words[0], table.words[1] + 1))


def _set_bits(bits: int) -> list[int]:
    out = []
    while bits:
        low = bits & -bits
        out.append(low.bit_length() - 1)
        bits ^= low
    return out


def _tick_bitmap(word: int) -> str:
    return abi.calldata("tickBitmap(int16)", (word,))


def _ticks(tick: int) -> str:
    return abi.calldata("ticks(int24)", (tick,))


async def _strict(client: RpcClient, calls: Sequence[Call]) -> list[str]:
    out: list[str] = []
    for call, result in zip(calls, await client.batch_chunked(calls), strict=True):
        if isinstance(result, NodeRpcError) or not isinstance(result, str) or len(result) < 66:
            target = call[1][0]["to"]
            detail = result.message if isinstance(result, NodeRpcError) else "no data"
            raise V3LoadError(f"reading V3 pools: call to {target} failed: {detail}")
        out.append(result)
    return out


def apply_logs(
    states: Mapping[str, v3pool.V3PoolState],
    logs: Iterable[Mapping[str, object]],
    balances: MutableMapping[str, list[int]] | None = None,
) -> set[str]:
    """Apply our pools' logs in chain order; the pools that changed.

    Swap/Mint/Burn move the state; with `balances` (address -> [balance0, balance1]),
    Swap, Mint, Collect, CollectProtocol and Flash move the pool's token balances by the
    amounts they carry (a plain transfer to a pool emits nothing of the pool's and is
    seen at the next full read)."""
    by_lower = {address.lower(): address for address in states}
    changed: set[str] = set()
    for entry in sorted(logs, key=_position):
        topics = [str(t) for t in entry.get("topics") or []]  # type: ignore[attr-defined]
        address = by_lower.get(str(entry.get("address", "")).lower())
        if address is None or not topics or entry.get("removed") or topics[0] not in LOG_TOPICS:
            continue
        data = _words(str(entry["data"]))
        if topics[0] in STATE_TOPICS:
            _apply_one(states[address], topics, data)
        if balances is not None and address in balances:
            _move_balances(balances[address], topics[0], data)
        changed.add(address)
    return changed


def _apply_one(state: v3pool.V3PoolState, topics: list[str], data: list[int]) -> None:
    if topics[0] == SWAP_TOPIC:
        v3pool.apply_swap(state, data[2], _signed(data[4], 24), data[3])
        return
    lower, upper = _signed(int(topics[2], 16), 24), _signed(int(topics[3], 16), 24)
    amount = data[1] if topics[0] == MINT_TOPIC else -data[0]
    _modify_position(state, lower, upper, amount)


def _modify_position(state: v3pool.V3PoolState, lower: int, upper: int, delta: int) -> None:
    """A Mint (+) or Burn (-): the ends inside the loaded window move as the contract
    moves them; an end outside it is not known here (it is read, as the chain has it
    then, when its word is loaded), so only the active liquidity takes the change."""
    if delta == 0:
        return
    table = state.ticks
    for tick, upper_end in ((lower, False), (upper, True)):
        if _loaded(table, tick):
            table.update(tick, delta, upper=upper_end)
    if lower <= state.tick < upper:
        state.liquidity += delta
        if state.liquidity < 0:
            raise V3LoadError("a Burn took more liquidity than the pool had: state out of sync")


def _loaded(table: TickTable, tick: int) -> bool:
    word = (tick // table.spacing) >> 8
    return table.words is None or table.words[0] <= word <= table.words[1]


def _move_balances(balance: list[int], topic: str, data: list[int]) -> None:
    if topic == SWAP_TOPIC:
        deltas = (_signed(data[0], 256), _signed(data[1], 256))
    elif topic == MINT_TOPIC:
        deltas = (data[2], data[3])
    elif topic == COLLECT_TOPIC:
        deltas = (-data[1], -data[2])
    elif topic == COLLECT_PROTOCOL_TOPIC:
        deltas = (-data[0], -data[1])
    elif topic == FLASH_TOPIC:
        deltas = (data[2], data[3])
    else:
        return
    balance[0] = max(0, balance[0] + deltas[0])
    balance[1] = max(0, balance[1] + deltas[1])


def _position(entry: Mapping[str, object]) -> tuple[int, int]:
    return int(str(entry.get("blockNumber", "0x0")), 16), int(str(entry.get("logIndex", "0x0")), 16)


# the decoders the venue's V3 book shares
signed = _signed
words = _words
position = _position
strict = _strict
