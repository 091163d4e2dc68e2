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
