"""The venue's V3 pools: found at start, kept current from logs, re-read after a reorg.

Start-up (`load_v3_pools`) reads everything at the one block the V2 pairs are read at:
the pools from each configured V3 factory's `PoolCreated` logs (or the explicit
`evm.v3_pools`, whose tokens, fee and spacing are read from the pools), then in batched
rounds `slot0`, `liquidity` and both token balances of every pool, the `tickBitmap` words
within `evm.v3_word_radius` of each price and `ticks()` of every initialised tick in
them. Each pool enters the market as `Pool(kind="v3", v3=state)` whose reserves are its
token balances (the most it could pay out) and whose `fee_bps` is the tier // 100.

After that (`V3Book`), per block, on the market's thread:
- the block's logs of our pools (fetched in the same `eth_getLogs` as the V2 Syncs)
  are applied in chain order: Swap sets price, tick and liquidity; Mint/Burn move the
  ticks inside the loaded window and the active liquidity; Swap, Mint, Collect and
  Flash move the balances by the amounts they carry;
- the invariant "every word within the radius of the price is loaded" is restored:
  the follower works out from the Swap logs where each price went, fetches the missing
  words at the block's head before the step is delivered (`words_to_load`), and they
  are installed after the logs (read at the head, they already include the block's
  Mints and Burns, which is why logs never touch ticks outside the window). A price
  that jumped far gets a fresh window; words farther out stay unloaded, and a swap
  that walks into one raises `TicksNotLoaded` (the search treats the range as a cap).
- on demand: a word such a walk reached (the table's `wanted`, noted by the search's
  exact re-check of a route whose optimum lies past the window) is fetched with the next
  step, logs of that pool or not, contiguously with the window (never wider than
  MAX_WINDOW_WORDS): the next block's re-check sizes the route on the chain's ticks. Not
  in the same block: the search runs on the market's thread after the step is
  delivered, and a fetch there would stall the block's decision on a round trip; until
  the word is in, the route is sized within the loaded ticks, a lower bound.
- a reorg or a long gap re-reads every pool (`reload`) at the new head, as V2 does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from eth_utils import to_checksum_address

from engine.config import EvmSection
from engine.market.evm import abi
from engine.market.evm import v3_pools as chain
from engine.market.evm.rpc import Call, RpcClient
from engine.market.model import Market, Pool
from engine.market.v3.pool import V3PoolState
from engine.market.v3.ticks import TickInfo, TickTable

log = logging.getLogger("arbctl.evm")

UNKNOWN_V3_DEX = "unknown-v3"
LOG_SPAN = 100_000  # blocks per PoolCreated query (providers cap a query's range)
MAX_WINDOW_WORDS = 64  # a window that would grow wider is re-centred instead


@dataclass(frozen=True, slots=True)
class V3Snapshot:
    """Every pool's state and balances read at one block (start-up, reorg, long gap)."""

    block: int
    states: dict[str, V3PoolState]
    balances: dict[str, tuple[int, int]]


@dataclass(frozen=True, slots=True)
class V3Words:
    """Tick words fetched for one pool at a block (contiguous, ascending)."""

    words: tuple[int, ...]
    ticks: dict[int, TickInfo]


@dataclass(slots=True)
class V3Changes:
    """What one chain step brings the V3 pools."""

    logs: list[dict[str, object]] = field(default_factory=list)
    words: dict[str, V3Words] = field(default_factory=dict)
    snapshot: V3Snapshot | None = None


# --- start-up ------------------------------------------------------------------------------
async def load_v3_pools(client: RpcClient, evm: EvmSection, market: Market, block: int) -> V3Book:
    """Add every V3 pool of configured tokens to `market`, read at `block`."""
    infos = await discover(client, evm, block)
    known = [i for i in infos if i.token0 in market.tokens and i.token1 in market.tokens]
    if len(known) < len(infos):
        skipped = len(infos) - len(known)
        log.info("%d of %d V3 pools skipped: a token not in evm.tokens", skipped, len(infos))
    book = V3Book(market, known, evm.v3_word_radius)
    snapshot = await book.read(client, block)
    for info in known:
        balance0, balance1 = snapshot.balances[info.address]
        market.add_pool(
            Pool(
                info.dex,
                info.address,
                info.token0,
                info.token1,
                balance0,
                balance1,
                info.fee_pips // 100,
                kind="v3",
                v3=snapshot.states[info.address],
            )
        )
    return book


async def discover(client: RpcClient, evm: EvmSection, block: int) -> list[chain.V3PoolInfo]:
    """The explicit `evm.v3_pools`, or every pool of `evm.v3_factories` up to `block`."""
    if evm.v3_pools:
        return await _listed(client, evm, [to_checksum_address(a) for a in evm.v3_pools], block)
    found: list[chain.V3PoolInfo] = []
    for factory in evm.v3_factories:
        calls: list[Call] = [
            (
                "eth_getLogs",
                [
                    {
                        "address": to_checksum_address(factory.address),
                        "topics": [chain.POOL_CREATED_TOPIC],
                        "fromBlock": hex(start),
                        "toBlock": hex(min(block, start + LOG_SPAN - 1)),
                    }
                ],
            )
            for start in range(factory.from_block, block + 1, LOG_SPAN)
        ]
        for logs in await client.batch_strict(calls):
            found.extend(chain.pool_created(e, factory.name) for e in logs if not e.get("removed"))
    return found


async def _listed(
    client: RpcClient, evm: EvmSection, addresses: list[str], block: int
) -> list[chain.V3PoolInfo]:
    datas = (abi.TOKEN0, abi.TOKEN1, chain.FEE, chain.TICK_SPACING, abi.FACTORY)
    raw = await chain.strict(client, [abi.eth_call(a, d, block) for a in addresses for d in datas])
    names = {to_checksum_address(f.address): f.name for f in evm.v3_factories}
    out = []
    for i, address in enumerate(addresses):
        token0, token1, fee, spacing, factory = raw[5 * i : 5 * i + 5]
        out.append(
            chain.V3PoolInfo(
                address=address,
                token0=to_checksum_address(abi.address_word(token0)),
                token1=to_checksum_address(abi.address_word(token1)),
                fee_pips=abi.word(fee),
                spacing=chain.signed(abi.word(spacing), 24),
                dex=names.get(to_checksum_address(abi.address_word(factory)), UNKNOWN_V3_DEX),
            )
        )
    return out


# --- following -----------------------------------------------------------------------------
class V3Book:
    """The market's V3 pools by the lower-case address logs carry."""

    def __init__(self, market: Market, infos: Sequence[chain.V3PoolInfo], word_radius: int) -> None:
        self._market = market
        self.infos = {info.address: info for info in infos}
        self._by_lower = {address.lower(): address for address in self.infos}
        self.radius = word_radius

    def __len__(self) -> int:
        return len(self.infos)

    def ours(self, logs: Iterable[dict[str, object]]) -> list[dict[str, object]]:
        """The logs of our pools that move a state or a balance."""
        return [
            entry
            for entry in logs
            if str(entry.get("address", "")).lower() in self._by_lower
            and (entry.get("topics") or [None])[0] in chain.LOG_TOPICS  # type: ignore[index]
        ]

    def words_to_load(self, logs: Sequence[dict[str, object]]) -> dict[str, tuple[int, ...]]:
        """The words each pool lacks within the radius of the price its logs end at
        (contiguous with its window, or a fresh window when the price went far), and
        for pools whose price stayed, the words a walk asked for (`asked`)."""
        wanted = self.asked()
        wanted.update(self._near_prices(logs))
        return wanted

    def asked(self) -> dict[str, tuple[int, ...]]:
        """The words walks reached outside each window, with those between (a window is
        contiguous); a word that would make it wider than MAX_WINDOW_WORDS is dropped."""
        found: dict[str, tuple[int, ...]] = {}
        for address in self.infos:
            table = self._state(address).ticks
            if not table.wanted or table.words is None:
                continue
            low, high = table.words
            asked = set(table.wanted)  # one copy: the search's thread may add meanwhile
            kept = {w for w in asked if max(high, w) - min(low, w) < MAX_WINDOW_WORDS}
            table.wanted.difference_update(asked - kept)
            if kept:
                new_low, new_high = min(low, *kept), max(high, *kept)
                found[address] = tuple(
                    w for w in range(new_low, new_high + 1) if not low <= w <= high
                )
        return found

    def _near_prices(self, logs: Sequence[dict[str, object]]) -> dict[str, tuple[int, ...]]:
        if not logs:
            return {}
        ticks = {address: self._state(address).tick for address in self.infos}
        for entry in sorted(logs, key=chain.position):
            topics = entry.get("topics") or []
            if topics and topics[0] == chain.SWAP_TOPIC:  # type: ignore[index]
                address = self._by_lower[str(entry["address"]).lower()]
                ticks[address] = chain.signed(chain.words(str(entry["data"]))[4], 24)
        wanted: dict[str, tuple[int, ...]] = {}
        for address in {self._by_lower[str(e["address"]).lower()] for e in logs}:
            table = self._state(address).ticks
            missing = _missing(table, ticks[address], self.radius)
            if missing:
                wanted[address] = missing
        return wanted

    async def fetch(
        self, client: RpcClient, wanted: Mapping[str, tuple[int, ...]], block: int
    ) -> dict[str, V3Words]:
        """The `wanted` words at `block`; read on the loop, installed by `apply`."""
        spacing = {a: self.infos[a].spacing for a in wanted}
        found = await chain.fetch_words(
            client, {a: (spacing[a], list(ws)) for a, ws in wanted.items()}, block
        )
        return {address: V3Words(ws, found[address]) for address, ws in wanted.items()}

    async def read(self, client: RpcClient, block: int) -> V3Snapshot:
        """Every pool's state and token balances at `block`, in batched rounds (the
        balances concurrently with the states)."""
        infos = list(self.infos.values())
        balance_calls: list[Call] = [
            abi.eth_call(token, abi.balance_of(i.address), block)
            for i in infos
            for token in (i.token0, i.token1)
        ]
        states, raw = await asyncio.gather(
            chain.read_states(client, infos, block, self.radius),
            chain.strict(client, balance_calls),
        )
        balances = {
            info.address: (abi.word(raw[2 * i]), abi.word(raw[2 * i + 1]))
            for i, info in enumerate(infos)
        }
        return V3Snapshot(block, states, balances)

    # --- on the market's thread ------------------------------------------------------------
    def apply(self, changes: V3Changes) -> set[str]:
        """A step's logs, then its fetched words (or a whole snapshot); the pools changed."""
        pools = self._market.pools
        if changes.snapshot is not None:
            return self._install(changes.snapshot)
        states = {a: self._state(a) for a in self.infos}
        balances = {a: [pools[a].reserve0, pools[a].reserve1] for a in self.infos}
        changed = chain.apply_logs(states, changes.logs, balances)
        for address in changed:
            pools[address].reserve0, pools[address].reserve1 = balances[address]
        for address, loaded in changes.words.items():
            table = states[address].ticks
            if _is_fresh(table, loaded.words):  # not next to the window: start a new one
                table.info.clear()
                table.words = (loaded.words[0], loaded.words[0])
            chain.install_words(table, loaded.words, loaded.ticks)
            table.wanted.difference_update(loaded.words)
            changed.add(address)
        return changed

    def _install(self, snapshot: V3Snapshot) -> set[str]:
        """A full re-read replaces each pool's state in place (the search keeps the Pool)."""
        pools = self._market.pools
        for address, fresh in snapshot.states.items():
            state = self._state(address)
            state.sqrt_price_x96, state.tick, state.liquidity = (
                fresh.sqrt_price_x96,
                fresh.tick,
                fresh.liquidity,
            )
            state.fee_pips, state.ticks = fresh.fee_pips, fresh.ticks
            pools[address].reserve0, pools[address].reserve1 = snapshot.balances[address]
        return set(snapshot.states)

    def _state(self, address: str) -> V3PoolState:
        state = self._market.pools[address].v3
        assert state is not None, f"{address} is a V3 pool without state"
        return state


def _missing(table: TickTable, tick: int, radius: int) -> tuple[int, ...]:
    """The words to load so [word - radius, word + radius] is loaded, contiguously."""
    word = (tick // table.spacing) >> 8
    low, high = word - radius, word + radius
    if table.words is None:
        return ()
    loaded_low, loaded_high = table.words
    if loaded_low <= low and high <= loaded_high:
        return ()
    new_low, new_high = min(loaded_low, low), max(loaded_high, high)
    if new_high - new_low + 1 > MAX_WINDOW_WORDS:
        return tuple(range(low, high + 1))  # far away: a fresh window
    return tuple(w for w in range(new_low, new_high + 1) if not loaded_low <= w <= loaded_high)


def _is_fresh(table: TickTable, words: tuple[int, ...]) -> bool:
    if table.words is None or not words:
        return False
    return words[0] > table.words[1] + 1 or words[-1] < table.words[0] - 1
