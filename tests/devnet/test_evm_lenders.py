"""The lender the approval chose is the path the transaction takes, on the real contracts.

The EVM executor is given each opportunity's loan the way the daemon wires it
(`LiquiditySources.loan_for`); an order borrowing from the Balancer V2 Vault or the
Aave V3 Pool is sent as `ArbExecutor.run` with that lender, the lender's own events are
in the receipt, and the ledger matches the chain to the wei. The route's first pair
(`pair://first-hop`) stays `execute`. A drained lender (the Vault's balance taken, the
Aave reserve paused, a V3 pool's liquidity pulled) fails over to the next one within the
block; one left with part of the input gets the input resized to it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from web3.contract import Contract

from engine import protocol
from engine.approval import ApprovalChain, LenderChoice, Review, Sizing
from engine.bus import EventBus
from engine.devnet import anvil, artifacts
from engine.devnet.chain import connect, contract, transact
from engine.devnet.v3 import DEADLINE
from engine.devnet.world import World
from engine.execution.evm import EvmExecutor, SimulationFailed
from engine.guards.approver import Guards
from engine.guards.triggers import Occurrence
from engine.ledger.sqlite import SqliteLedger
from engine.ledger.writer import LedgerWriter
from engine.lenders.loans import loan_of
from engine.lenders.sources import LiquiditySources, Source
from engine.market.evm import abi
from engine.market.evm.abi import calldata
from engine.market.venue import Loan
from tests.devnet.test_evm_trading import (
    Rig,
    booked,
    chain_balances,
    change,
    first_opportunities,
    make_rig,
    v2_config,
)

pytestmark = pytest.mark.devnet
U128_MAX = 2**128 - 1  # collect everything a position is owed


@pytest.fixture
async def rig(world: World, clean_chain: None, tmp_path: Path) -> AsyncIterator[Rig]:
    made = await make_rig(v2_config(world), tmp_path)
    yield made
    await made.venue.stop()


def _with_loan(rig: Rig, loan: Loan | None) -> EvmExecutor:
    return EvmExecutor(rig.gate, rig.venue, loans=lambda _opportunity_id: loan)


def _sent(world: World, block: int) -> list[dict[str, Any]]:
    found = anvil.rpc(world.rpc_url, "eth_getBlockByNumber", [hex(block), True])
    return [tx for tx in found["transactions"] if tx["from"].lower() == world.operator.lower()]


def _logs_from(world: World, tx_hash: str, address: str) -> int:
    receipt = anvil.rpc(world.rpc_url, "eth_getTransactionReceipt", [tx_hash])
    return sum(1 for log in receipt["logs"] if log["address"].lower() == address.lower())


@pytest.mark.parametrize("kind", ["balancer-v2", "aave-v3"])
async def test_an_order_borrows_from_the_lender_the_approval_chose_and_books_to_the_wei(
    world: World, rig: Rig, kind: str
) -> None:
    lender = world.lender(kind)
    lendable = {world.token(symbol).address for symbol in lender.tokens}
    opportunities = [o for o in await first_opportunities(rig) if o.token in lendable]
    assert opportunities, f"the devnet should offer an opportunity {kind} can fund"
    executor = _with_loan(rig, loan_of(f"{kind}://{lender.address}?fee_bps=9"))
    start = chain_balances(world, world.operator)
    trade = await executor.execute(opportunities[0])
    assert trade.status == "success", trade.revert_reason
    (tx,) = _sent(world, trade.block_number)
    assert tx["input"].startswith(abi.RUN_SELECTOR)
    assert _logs_from(world, tx["hash"], lender.address) > 0, "the lender took part"
    assert change(start, chain_balances(world, world.operator)) == booked([trade])


async def test_the_first_pair_lends_through_execute_when_no_lender_is_chosen(
    world: World, rig: Rig
) -> None:
    opportunity = (await first_opportunities(rig))[0]
    trade = await _with_loan(rig, None).execute(opportunity)
    assert trade.status == "success", trade.revert_reason
    (tx,) = _sent(world, trade.block_number)
    assert tx["input"].startswith(abi.EXECUTE_SELECTOR)


async def test_a_drained_vault_fails_over_to_aave_within_the_block(
    world: World, rig: Rig, erc20: Callable[[str], Contract]
) -> None:
    """The Vault loses its USDC (impersonated transfer out); the next USDC opportunity's
    dry run reverts with Balancer's BAL#528, the lender is marked down at once with a
    failover trigger, and the following order borrows from Aave and is booked."""
    vault, aave = world.lender("balancer-v2"), world.lender("aave-v3")
    usdc = world.token("USDC").address
    _drain(world, erc20, usdc, vault.address)
    sources = LiquiditySources(
        [
            Source("vault", f"balancer-v2://{vault.address}?fee_bps=0", 0, 0),
            Source("aave", f"aave-v3://{aave.address}?fee_bps=9", 1, 9),
        ]
    )
    triggers: list[Occurrence] = []
    seat = LenderChoice(sources, _Recorder(triggers))
    executor = EvmExecutor(rig.gate, rig.venue, loans=sources.loan_for)
    opportunity = next(o for o in await first_opportunities(rig) if o.token == usdc)
    assert seat.review(Review(opportunity)) is None
    with pytest.raises(SimulationFailed) as refused:
        await executor.execute(opportunity)
    seat.observe_not_sent(opportunity.id, refused.value.reason)
    assert sources.active.name == "aave"
    assert [t.action for t in triggers] == ["failover"]
    assert seat.review(Review(opportunity)) is None
    trade = await executor.execute(opportunity)
    assert trade.status == "success", trade.revert_reason


@pytest.mark.parametrize(
    ("first", "fault", "then"),
    [
        ("balancer-v2", "drain", "aave-v3"),  # the Vault's USDC taken away
        ("aave-v3", "pause", "balancer-v2"),  # the pool admin pauses the USDC reserve
        ("balancer-v2", "halve", "balancer-v2"),  # the Vault keeps a fraction: resized
        ("uniswap-v3", "pull", "balancer-v2"),  # every position in the V3 pool withdrawn
        ("uniswap-v3", "thin", "uniswap-v3"),  # the V3 pool keeps a fraction: resized
    ],
)
async def test_a_lender_short_of_the_input_is_sized_around_or_failed_over_within_a_block(
    world: World,
    clean_chain: None,
    tmp_path: Path,
    erc20: Callable[[str], Contract],
    first: str,
    fault: str,
    then: str,
) -> None:
    """The venue reads each lender's capacity with every block. After the fault's block,
    the next USDC opportunity is sized on it before any dry run: a lender with too little
    (drained Vault, paused Aave reserve, V3 pool with its liquidity pulled) is failed over
    at once with a `flash_liquidity` trigger, one with part of the input gets the input
    clamped to what it holds (a `resized` trigger, limit `lender_liquidity`); the trade
    is mined in the very next block, through the lender the approval chose, and booked
    to the wei. The opportunity does not trade through the lender (a V3 pool cannot lend
    and swap in one transaction: its lock)."""
    usdc = world.token("USDC").address
    lenders = [_lender(world, kind, usdc) for kind in dict.fromkeys((first, then))]
    rig = await make_rig(v2_config(world), tmp_path, lenders)
    try:
        opportunity = next(
            o
            for o in await first_opportunities(rig)
            if o.token == usdc and not {hop.pool for hop in o.route} & {x.lender for x in lenders}
        )
        head = anvil.rpc(world.rpc_url, "eth_blockNumber", [])
        lender = lenders[0]
        _FAULTS[fault](world, erc20, usdc, lender.lender, opportunity.amount_in)
        update = await anext(rig.venue.blocks())  # the fault's block, capacities read at it
        assert update.block.number == int(head, 16) + 1
        sources = LiquiditySources(
            [
                Source(x.kind, f"{x.kind}://{x.lender}?fee_bps=9", i, 9)
                for i, x in enumerate(lenders)
            ]
        )
        sources.read_capacity_from(rig.venue.lender_capacity)
        bus = EventBus()
        store = SqliteLedger(tmp_path / "ledger.sqlite3")
        await store.open()
        guards = Guards.from_config(rig.config, bus, LedgerWriter(store), rig.venue)
        chain = ApprovalChain(
            [Sizing(guards, sources, guards.triggers), LenderChoice(sources, guards.triggers)]
        )

        verdict = chain.decide(opportunity)

        assert verdict.refusal is None
        assert sources.active.name == then
        events = [e.data for e in bus.recent([protocol.TOPIC_GUARD])]
        if first != then:
            assert [(e["guard"], e["action"]) for e in events] == [("flash_liquidity", "failover")]
        else:
            (resized,) = events
            assert (resized["guard"], resized["action"]) == ("lender_liquidity", "resized")
            held = _balance(erc20, usdc, lender.lender)
            assert verdict.opportunity.amount_in <= held < opportunity.amount_in
            assert resized["new_size"] == verdict.opportunity.amount_in
        start = chain_balances(world, world.operator)
        executor = EvmExecutor(rig.gate, rig.venue, loans=sources.loan_for)
        trade = await executor.execute(verdict.opportunity)
        assert trade.status == "success", trade.revert_reason
        assert trade.block_number == update.block.number + 1, "within the next block"
        (tx,) = _sent(world, trade.block_number)
        assert _logs_from(world, tx["hash"], lenders[-1].lender) > 0
        assert change(start, chain_balances(world, world.operator)) == booked([trade])
        await store.close()
    finally:
        await rig.venue.stop()


async def test_the_executors_inventory_is_read_with_the_block_it_changed_in(
    world: World, clean_chain: None, tmp_path: Path, erc20: Callable[[str], Contract]
) -> None:
    """`inventory://` lends the executor's own balance: read pinned to each block, so a
    deposit in one block is the capacity sizing sees from that block on. A V3 pool lends
    its balance of the token (it has liquidity)."""
    usdc = world.token("USDC").address
    pool = next(p for p in world.v3_pools if usdc in (p.token0, p.token1))
    v3 = Loan("uniswap-v3", pool.address)
    rig = await make_rig(v2_config(world), tmp_path, [Loan("inventory"), v3])
    try:
        await anext(rig.venue.blocks())
        inventory = Loan("inventory")
        before = _balance(erc20, usdc, rig.venue.executor)
        assert rig.venue.lender_capacity(inventory, usdc) == before
        assert rig.venue.lender_capacity(v3, usdc) == _balance(erc20, usdc, pool.address) > 0
        deposit = calldata("transfer(address,uint256)", (rig.venue.executor, 1234))
        _send_as(world, world.deployer, usdc, deposit)
        await anext(rig.venue.blocks())
        assert rig.venue.lender_capacity(inventory, usdc) == before + 1234
    finally:
        await rig.venue.stop()


def _lender(world: World, kind: str, token: str) -> Loan:
    """The devnet's lender of `kind` for `token`: the Vault, the Aave Pool, or the first
    V3 pool of the token (the 0.05% tier: the sources' assumed 9 bps covers its fee)."""
    if kind == "uniswap-v3":
        pool = next(p for p in world.v3_pools if token in (p.token0, p.token1))
        return Loan(kind, pool.address)
    return Loan(kind, world.lender(kind).address)


def _balance(erc20: Callable[[str], Contract], token: str, holder: str) -> int:
    return int(erc20(token).functions.balanceOf(holder).call())


def _pause_reserve(world: World, token: str, pool: str) -> None:
    """The Aave pool admin (the devnet's deployer) pauses `token`'s reserve."""
    provider = abi.address_word(
        anvil.rpc(
            world.rpc_url,
            "eth_call",
            [{"to": pool, "data": calldata("ADDRESSES_PROVIDER()", ())}, "latest"],
        )
    )
    configurator = abi.address_word(
        anvil.rpc(
            world.rpc_url,
            "eth_call",
            [{"to": provider, "data": calldata("getPoolConfigurator()", ())}, "latest"],
        )
    )
    _send_as(
        world,
        world.deployer,
        configurator,
        calldata("setReservePause(address,bool)", (token, True)),
    )


_FAULTS: dict[str, Callable[[World, Callable[[str], Contract], str, str, int], None]] = {
    "drain": lambda world, erc20, token, holder, _need: _drain(world, erc20, token, holder),
    "pause": lambda world, _erc20, token, pool, _need: _pause_reserve(world, token, pool),
    "halve": lambda world, erc20, token, holder, need: _drain(
        world, erc20, token, holder, keep=need // 2
    ),
    "pull": lambda world, erc20, token, pool, _need: _pull_liquidity(world, erc20, token, pool),
    "thin": lambda world, erc20, token, pool, need: _pull_liquidity(
        world, erc20, token, pool, keep=need // 2
    ),
}


def _pull_liquidity(
    world: World, erc20: Callable[[str], Contract], token: str, pool: str, keep: int = 0
) -> None:
    """The owner of every position in the V3 `pool` (the devnet's deployer) withdraws it
    through the position manager, `decreaseLiquidity` then `collect` (fees too), all in
    one `multicall` (one block): all of it, or the share that leaves the pool about
    `keep` of `token` (a position's amounts are linear in its liquidity)."""
    assert world.v3 is not None
    w3 = connect(world.rpc_url)
    manager = contract(w3, world.v3.positions, artifacts.load(artifacts.V3_POSITION_MANAGER))
    v3_pool = contract(w3, pool, artifacts.load(artifacts.V3_POOL))
    held = _balance(erc20, token, pool)
    ours = (v3_pool.functions.token0().call(), v3_pool.functions.token1().call())
    fee = v3_pool.functions.fee().call()
    owner = world.deployer
    steps: list[str] = []
    for index in range(manager.functions.balanceOf(owner).call()):
        position_id = manager.functions.tokenOfOwnerByIndex(owner, index).call()
        position = manager.functions.positions(position_id).call()
        if (position[2], position[3]) != ours or position[4] != fee or position[7] == 0:
            continue
        liquidity = position[7] - position[7] * keep // held
        steps.append(
            manager.encode_abi("decreaseLiquidity", [(position_id, liquidity, 0, 0, DEADLINE)])
        )
        steps.append(manager.encode_abi("collect", [(position_id, owner, U128_MAX, U128_MAX)]))
    assert steps, f"the devnet should hold positions in {pool}"
    transact(manager.functions.multicall(steps), owner)
    assert (v3_pool.functions.liquidity().call() == 0) == (keep == 0)


class _Recorder:
    def __init__(self, into: list[Occurrence]) -> None:
        self._into = into

    def record(self, occurrence: Occurrence) -> None:
        self._into.append(occurrence)


def _drain(
    world: World, erc20: Callable[[str], Contract], token: str, holder: str, keep: int = 0
) -> None:
    """Everything `holder` has of `token` but `keep`, sent away (one block)."""
    held = erc20(token).functions.balanceOf(holder).call()
    anvil.rpc(world.rpc_url, "anvil_impersonateAccount", [holder])
    anvil.rpc(world.rpc_url, "anvil_setBalance", [holder, hex(10**18)])
    data = calldata("transfer(address,uint256)", (world.deployer, held - keep))
    _send_as(world, holder, token, data)
    anvil.rpc(world.rpc_url, "anvil_stopImpersonatingAccount", [holder])


def _send_as(world: World, sender: str, to: str, data: str) -> None:
    """One transaction from an unlocked (or impersonated) account, mined and succeeded."""
    tx = {"from": sender, "to": to, "data": data, "gas": hex(500_000)}
    tx_hash = anvil.rpc(world.rpc_url, "eth_sendTransaction", [tx])
    receipt = None
    for _ in range(200):  # automined, but the receipt may be indexed a moment later
        receipt = anvil.rpc(world.rpc_url, "eth_getTransactionReceipt", [tx_hash])
        if receipt is not None:
            break
        time.sleep(0.01)
    assert receipt is not None and receipt["status"] == "0x1"
