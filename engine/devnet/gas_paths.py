"""Gas of every executor path on the devnet: route kind × lender, from real receipts.

Each measurement starts from the same chain state (an anvil snapshot, reverted after),
makes the cycle profitable by donating 5 % of the last pool's reserve of the input token
to it (`sync()`: the last hop then pays more, whatever the devnet's prices did), moves
the clock 12 s (a new block after the pools' last update, as on a live chain), sends
the operator's signed `execute` (first-hop flash swap) or `run` (inventory, V3 flash,
Balancer, Aave) and reads `gasUsed` from the receipt. After every run the executor's
allowance of the input token to every contract involved is read back: none may be left.

Routes start and end at USDC, which every lender lends: the V3 flash lender is the
USDC/DAI 0.01 % pool, off every route (a pool lending is locked for swaps).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction

from engine.devnet import anvil, artifacts, compile
from engine.devnet.chain import contract, send_signed, transact
from engine.devnet.world import World

HOP_V2, HOP_V3 = 0, 1
LOANS = {"first-hop": -1, "inventory": 0, "uniswap-v3": 1, "balancer-v2": 2, "aave-v3": 3}
AMOUNT_USDC = 1_000 * 10**6
DONATION_BPS = 500

Hop = tuple[int, str, str, int]  # kind, pool, token out, fee bps (V2)


@dataclass(frozen=True, slots=True)
class Route:
    name: str  # "2-hop v2", "2-hop v3+v2", …
    hops: tuple[Hop, ...]

    @property
    def v2_only(self) -> bool:
        return all(hop[0] == HOP_V2 for hop in self.hops)


@dataclass(frozen=True, slots=True)
class Measured:
    route: str
    lender: str
    gas_used: int
    profit: int  # USDC base units paid to the owner
    allowance_left: int  # the executor's USDC allowance to the lender and every pool


def routes(world: World) -> list[Route]:
    usdc, weth, dai = world.token("USDC").address, world.weth, world.token("DAI").address
    uni = lambda a, b: world.pair("uniswap", a, b).address  # noqa: E731
    sushi = lambda a, b: world.pair("sushiswap", a, b).address  # noqa: E731
    v3 = next(p for p in world.v3_pools if set(p.symbols) == {"WETH", "USDC"} and p.fee_pips == 500)
    return [
        Route(
            "2-hop v2",
            ((HOP_V2, uni("WETH", "USDC"), weth, 30), (HOP_V2, sushi("WETH", "USDC"), usdc, 30)),
        ),
        Route(
            "3-hop v2",
            (
                (HOP_V2, uni("WETH", "USDC"), weth, 30),
                (HOP_V2, uni("WETH", "DAI"), dai, 30),
                (HOP_V2, sushi("USDC", "DAI"), usdc, 30),
            ),
        ),
        Route(
            "2-hop v3+v2", ((HOP_V3, v3.address, weth, 0), (HOP_V2, uni("WETH", "USDC"), usdc, 30))
        ),
        Route(
            "3-hop v3+v2",
            (
                (HOP_V3, v3.address, weth, 0),
                (HOP_V2, uni("WETH", "DAI"), dai, 30),
                (HOP_V2, sushi("USDC", "DAI"), usdc, 30),
            ),
        ),
    ]


def lender_address(world: World, lender: str) -> str:
    if lender == "uniswap-v3":
        return next(p.address for p in world.v3_pools if set(p.symbols) == {"USDC", "DAI"})
    if lender in ("balancer-v2", "aave-v3"):
        return world.lender(lender).address
    return world.deployer  # ignored by `run` without a loan


def measure(
    w3: Web3, world: World, operator_key: bytes, route: Route, lender: str, root: Path | None = None
) -> Measured | None:
    """One run from a snapshot (reverted after); None when the path does not exist (the
    first-hop flash swap is V2's `execute`, V2 routes only)."""
    if lender == "first-hop" and not route.v2_only:
        return None
    executor = contract(w3, world.executor, compile.compile_contracts(root)["ArbExecutor"])
    usdc = _erc20(w3, world.token("USDC").address, root)
    snapshot = anvil.snapshot(world.rpc_url)
    try:
        _donate(w3, world, route, usdc, root)
        if lender == "inventory":
            transact(usdc.functions.transfer(world.executor, AMOUNT_USDC), world.deployer)
        # a block later than the pools' last update, as on a live chain: every V2 pair
        # on the route pays its price-oracle writes (same-second blocks would skip them)
        anvil.rpc(world.rpc_url, "evm_increaseTime", [12])
        before = usdc.functions.balanceOf(world.operator).call()
        receipt = send_signed(_call(executor, world, route, lender, usdc.address), operator_key)
        profit = usdc.functions.balanceOf(world.operator).call() - before
        spenders = {lender_address(world, lender), *(hop[1] for hop in route.hops)}
        left = sum(usdc.functions.allowance(world.executor, s).call() for s in spenders)
        return Measured(route.name, lender, int(receipt["gasUsed"]), profit, left)
    finally:
        anvil.revert(world.rpc_url, snapshot)


def measure_all(
    w3: Web3, world: World, operator_key: bytes, progress: Callable[[str], None] = lambda _l: None
) -> list[Measured]:
    found = []
    for route in routes(world):
        for lender in LOANS:
            result = measure(w3, world, operator_key, route, lender)
            if result is not None:
                progress(f"{route.name:12} {lender:12} {result.gas_used:>9,}")
                found.append(result)
    return found


def _call(
    executor: Contract, world: World, route: Route, lender: str, usdc: str
) -> ContractFunction:
    if lender == "first-hop":
        pairs = [hop[1] for hop in route.hops]
        return executor.functions.execute(pairs, usdc, AMOUNT_USDC, 1)
    hops = [list(hop) for hop in route.hops]
    return executor.functions.run(
        hops, usdc, AMOUNT_USDC, 1, LOANS[lender], lender_address(world, lender)
    )


def _donate(w3: Web3, world: World, route: Route, usdc: Contract, root: Path | None) -> None:
    """5 % more USDC in the last pair: the cycle pays whatever the devnet's prices are."""
    last = route.hops[-1][1]
    reserve = usdc.functions.balanceOf(last).call()
    transact(usdc.functions.transfer(last, reserve * DONATION_BPS // 10_000), world.deployer)
    pair = contract(w3, last, artifacts.load(artifacts.PAIR, root))
    transact(pair.functions.sync(), world.deployer)


def _erc20(w3: Web3, address: str, root: Path | None) -> Contract:
    return contract(w3, address, artifacts.load(artifacts.ERC20, root))
