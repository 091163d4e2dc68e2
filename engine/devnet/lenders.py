"""Flash-loan lenders on the devnet, from the registries' own artifacts.

The Balancer V2 Vault and its Authorizer come from `@balancer-labs/v2-deployments`
(the bytecode Balancer deployed on mainnet, task 20210418), installed at set-up and
never committed. A Vault lends whatever token balance it holds, so funding it is a plain
transfer; its flash-loan fee is the ProtocolFeesCollector's percentage (zero at
deployment), which `set_balancer_flash_fee` sets through the Authorizer as governance would.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract

from engine.devnet import artifacts
from engine.devnet.chain import deploy, transact

ONE = 10**18  # Balancer's fixed-point one: fees are fractions of 1e18
_COLLECTOR_ABI = [
    {
        "name": name,
        "type": "function",
        "stateMutability": mutability,
        "inputs": inputs,
        "outputs": outputs,
    }
    for name, mutability, inputs, outputs in (
        ("getActionId", "view", [{"name": "selector", "type": "bytes4"}], [{"type": "bytes32"}]),
        ("getFlashLoanFeePercentage", "view", [], [{"type": "uint256"}]),
        ("setFlashLoanFeePercentage", "nonpayable", [{"name": "fee", "type": "uint256"}], []),
    )
]


@dataclass(frozen=True, slots=True)
class Balancer:
    vault: Contract
    authorizer: Contract
    collector: Contract  # ProtocolFeesCollector, created by the Vault


def deploy_balancer(w3: Web3, admin: str, weth: str, root: Path | None = None) -> Balancer:
    authorizer = deploy(w3, artifacts.load(artifacts.BALANCER_AUTHORIZER, root), admin, admin)
    vault = deploy(
        w3, artifacts.load(artifacts.BALANCER_VAULT, root), admin, authorizer.address, weth, 0, 0
    )
    collector_address = vault.functions.getProtocolFeesCollector().call()
    collector = w3.eth.contract(address=collector_address, abi=_COLLECTOR_ABI)
    return Balancer(vault, authorizer, collector)


def set_balancer_flash_fee(balancer: Balancer, admin: str, fee_fraction_1e18: int) -> None:
    """Grant `admin` the collector's fee action, then set the flash-loan fee (≤ 1 %)."""
    selector = keccak(text="setFlashLoanFeePercentage(uint256)")[:4]
    action = balancer.collector.functions.getActionId(selector).call()
    transact(balancer.authorizer.functions.grantRole(action, admin), admin)
    transact(balancer.collector.functions.setFlashLoanFeePercentage(fee_fraction_1e18), admin)


def balancer_fee(amount: int, fee_fraction_1e18: int) -> int:
    """What the Vault charges: `FixedPoint.mulUp(amount, percentage)`."""
    product = amount * fee_fraction_1e18
    return 0 if product == 0 else (product - 1) // ONE + 1


AAVE_PREMIUM_BPS = 9  # Aave V3's usual flash-loan premium: 0.09 %
_RAY = 10**27
_AAVE_LIBRARIES = (
    "BorrowLogic",
    "BridgeLogic",
    "EModeLogic",
    "LiquidationLogic",
    "PoolLogic",
    "SupplyLogic",
    "ConfiguratorLogic",
)


@dataclass(frozen=True, slots=True)
class Aave:
    pool: Contract  # the Pool proxy: flashLoanSimple, supply
    configurator: Contract  # the PoolConfigurator proxy: pause, freeze, premium
    provider: Contract


def deploy_aave(w3: Web3, admin: str, root: Path | None = None) -> Aave:
    """An Aave V3 market from `@aave/core-v3`: addresses provider, ACL, the Pool and the
    PoolConfigurator behind the provider's proxies, with their logic libraries linked."""
    load = artifacts.load_linked
    a = artifacts.AAVE
    provider = deploy(
        w3,
        load(
            f"{a}/protocol/configuration/PoolAddressesProvider.sol/PoolAddressesProvider.json",
            {},
            root,
        ),
        admin,
        "arbctl-devnet",
        admin,
    )
    transact(provider.functions.setACLAdmin(admin), admin)
    acl = deploy(
        w3,
        load(f"{a}/protocol/configuration/ACLManager.sol/ACLManager.json", {}, root),
        admin,
        provider.address,
    )
    transact(provider.functions.setACLManager(acl.address), admin)
    for role in ("addPoolAdmin", "addEmergencyAdmin", "addRiskAdmin"):
        transact(getattr(acl.functions, role)(admin), admin)
    libraries: dict[str, str] = {}
    for name in _AAVE_LIBRARIES:
        libraries[name] = deploy(
            w3, load(f"{artifacts.AAVE_LOGIC}/{name}.sol/{name}.json", libraries, root), admin
        ).address
    flash = load(f"{artifacts.AAVE_LOGIC}/FlashLoanLogic.sol/FlashLoanLogic.json", libraries, root)
    libraries["FlashLoanLogic"] = deploy(w3, flash, admin).address
    pool_impl = deploy(
        w3, load(f"{a}/protocol/pool/Pool.sol/Pool.json", libraries, root), admin, provider.address
    )
    transact(provider.functions.setPoolImpl(pool_impl.address), admin)
    configurator_impl = deploy(
        w3,
        load(f"{a}/protocol/pool/PoolConfigurator.sol/PoolConfigurator.json", libraries, root),
        admin,
    )
    transact(provider.functions.setPoolConfiguratorImpl(configurator_impl.address), admin)
    pool = w3.eth.contract(address=provider.functions.getPool().call(), abi=pool_impl.abi)
    configurator = w3.eth.contract(
        address=provider.functions.getPoolConfigurator().call(), abi=configurator_impl.abi
    )
    transact(configurator.functions.updateFlashloanPremiumTotal(AAVE_PREMIUM_BPS), admin)
    return Aave(pool, configurator, provider)


def list_aave_reserve(
    w3: Web3, aave: Aave, admin: str, token: Contract, supply: int, root: Path | None = None
) -> None:
    """Initialise `token` as a reserve with flash loans on, and supply `supply` of it."""
    a = artifacts.AAVE
    pool = aave.pool.address
    strategy = deploy(
        w3,
        artifacts.load_linked(
            f"{a}/protocol/pool/DefaultReserveInterestRateStrategy.sol/DefaultReserveInterestRateStrategy.json",
            {},
            root,
        ),
        admin,
        aave.provider.address,
        _RAY * 8 // 10,
        0,
        _RAY * 4 // 100,
        _RAY * 75 // 100,
        _RAY * 2 // 100,
        _RAY * 75 // 100,
        _RAY * 2 // 100,
        _RAY * 5 // 100,
        _RAY * 2 // 10,
    )
    impls = [
        deploy(
            w3,
            artifacts.load_linked(f"{a}/protocol/tokenization/{n}.sol/{n}.json", {}, root),
            admin,
            pool,
        ).address
        for n in ("AToken", "StableDebtToken", "VariableDebtToken")
    ]
    symbol = token.functions.symbol().call()
    reserve = (
        *impls[:3],
        token.functions.decimals().call(),
        strategy.address,
        token.address,
        admin,  # treasury
        "0x0000000000000000000000000000000000000000",  # no incentives controller
        f"Aave {symbol}",
        f"a{symbol}",
        f"Aave variable debt {symbol}",
        f"variableDebt{symbol}",
        f"Aave stable debt {symbol}",
        f"stableDebt{symbol}",
        b"",
    )
    transact(aave.configurator.functions.initReserves([reserve]), admin)
    transact(aave.configurator.functions.setReserveFlashLoaning(token.address, True), admin)
    transact(token.functions.approve(pool, supply), admin)
    transact(aave.pool.functions.supply(token.address, supply, admin, 0), admin)


def aave_premium(amount: int, premium_bps: int = AAVE_PREMIUM_BPS) -> int:
    """Aave's `percentMul`: amount × bps / 10,000, rounded half up."""
    return (amount * premium_bps + 5_000) // 10_000
