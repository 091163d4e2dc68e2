"""Uniswap V3 on the devnet: the real factory, position manager, router and QuoterV2.

Everything comes from the npm packages' own artifacts (`@uniswap/v3-core`,
`@uniswap/v3-periphery`), installed at set-up and never committed. The periphery finds
pools by CREATE2 with a hard-coded init code hash, so the installed pool bytecode is
checked against it before anything is deployed (`artifacts.check_v3_periphery`).

Fee tiers: the factory enables 500/3000/10000 at construction; 100 (spacing 1) is
enabled here as the owner would on a chain that has it, and any fork fee can be added
with `enable_fee`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from web3 import Web3
from web3.contract import Contract
from web3.types import TxReceipt

from engine.devnet import artifacts
from engine.devnet.chain import contract, deploy, transact

DEADLINE = 2**32 - 1
UINT256_MAX = 2**256 - 1
EXTRA_FEES = {100: 1}


@dataclass(frozen=True, slots=True)
class V3Deployment:
    factory: Contract
    positions: Contract  # NonfungiblePositionManager
    router: Contract  # SwapRouter
    quoter: Contract  # QuoterV2


def deploy_v3(w3: Web3, deployer: str, weth: str, root: Path | None = None) -> V3Deployment:
    """Factory, position manager, router and QuoterV2, wired to one factory and WETH."""
    artifacts.check_v3_periphery(root)
    factory = deploy(w3, artifacts.load(artifacts.V3_FACTORY, root), deployer)
    for fee, spacing in EXTRA_FEES.items():
        enable_fee(factory, deployer, fee, spacing)
    # The token descriptor only renders NFT metadata (tokenURI); no swap or mint reads it.
    positions = deploy(
        w3,
        artifacts.load(artifacts.V3_POSITION_MANAGER, root),
        deployer,
        factory.address,
        weth,
        weth,
    )
    router = deploy(
        w3, artifacts.load(artifacts.V3_SWAP_ROUTER, root), deployer, factory.address, weth
    )
    quoter = deploy(
        w3, artifacts.load(artifacts.V3_QUOTER_V2, root), deployer, factory.address, weth
    )
    return V3Deployment(factory, positions, router, quoter)


def enable_fee(factory: Contract, owner: str, fee: int, spacing: int) -> None:
    if factory.functions.feeAmountTickSpacing(fee).call() == 0:
        transact(factory.functions.enableFeeAmount(fee, spacing), owner)


def create_pool(
    dep: V3Deployment, sender: str, token_a: str, token_b: str, fee: int, sqrt_price_x96: int
) -> Contract:
    """Create and initialise the pool (price of token1 in token0, as sqrtPriceX96)."""
    token0, token1 = sorted((token_a, token_b), key=lambda a: int(a, 16))
    transact(
        dep.positions.functions.createAndInitializePoolIfNecessary(
            token0, token1, fee, sqrt_price_x96
        ),
        sender,
    )
    address = dep.factory.functions.getPool(token0, token1, fee).call()
    return contract(dep.factory.w3, address, artifacts.load(artifacts.V3_POOL))


def approve_all(w3: Web3, owner: str, tokens: list[str], spenders: list[str]) -> None:
    erc20 = artifacts.load(artifacts.ERC20)
    for token in tokens:
        for spender in spenders:
            transact(contract(w3, token, erc20).functions.approve(spender, UINT256_MAX), owner)


def mint_position(
    dep: V3Deployment,
    owner: str,
    pool: Contract,
    tick_lower: int,
    tick_upper: int,
    amount0: int,
    amount1: int,
) -> TxReceipt:
    """Add liquidity over [tick_lower, tick_upper) through the position manager (the
    owner must have approved it for both tokens)."""
    params = (
        pool.functions.token0().call(),
        pool.functions.token1().call(),
        pool.functions.fee().call(),
        tick_lower,
        tick_upper,
        amount0,
        amount1,
        0,
        0,
        owner,
        DEADLINE,
    )
    return transact(dep.positions.functions.mint(params), owner)


def swap_exact_input(
    dep: V3Deployment, sender: str, token_in: str, token_out: str, fee: int, amount_in: int
) -> TxReceipt:
    """A real swap through the SwapRouter (the sender must have approved the router)."""
    params = (token_in, token_out, fee, sender, DEADLINE, amount_in, 0, 0)
    return transact(dep.router.functions.exactInputSingle(params), sender)


def quote_exact_input(
    dep: V3Deployment, token_in: str, token_out: str, fee: int, amount_in: int, limit: int = 0
) -> tuple[int, int]:
    """QuoterV2: (amount out, ticks crossed) for an exact input."""
    params = (token_in, token_out, amount_in, fee, limit)
    out, _price, crossed, _gas = dep.quoter.functions.quoteExactInputSingle(params).call()
    return int(out), int(crossed)


def quote_exact_output(
    dep: V3Deployment, token_in: str, token_out: str, fee: int, amount_out: int, limit: int = 0
) -> tuple[int, int]:
    """QuoterV2: (amount in, ticks crossed) for an exact output."""
    params = (token_in, token_out, amount_out, fee, limit)
    amount_in, _price, crossed, _gas = dep.quoter.functions.quoteExactOutputSingle(params).call()
    return int(amount_in), int(crossed)
