"""Small web3 helpers for talking to the devnet: connect, send, deploy, sign.

Deployment and noise trading send from anvil's unlocked accounts (`eth_sendTransaction`),
so they need no keys at all; only the operator's transactions are signed locally, the way
the engine will sign them. Failures raise `DevnetChainError` with the revert reason when the
node gives one, and never include key material.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from hexbytes import HexBytes
from web3 import HTTPProvider, Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.types import TxReceipt

from engine.devnet.artifacts import Artifact
from engine.devnet.errors import DevnetError

# eth_estimateGas under-estimates Uniswap V2 swaps: it simulates at the head block's
# timestamp, where a pair already updated in that block skips its price-oracle SSTOREs
# (`price{0,1}CumulativeLast`, 2 x 22,100 gas when still zero), but the real transaction
# lands in a later block and pays them (seen: 214,307 estimated, out of gas at 264,309).
# Margin: a quarter, plus room for those stores on up to two pairs.
GAS_MARGIN_PERCENT = 125
GAS_MARGIN_FIXED = 100_000


class DevnetChainError(DevnetError):
    """The devnet node did not answer, or a devnet transaction failed or was rejected."""


def connect(url: str, timeout: float = 30.0) -> Web3:
    w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": timeout}))
    if not w3.is_connected():
        raise DevnetChainError(f"no JSON-RPC node answers at {url}")
    return w3


def anvil_call(w3: Web3, method: str, *params: Any) -> Any:
    """An anvil_/evm_ method web3 has no wrapper for."""
    response = w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    if "error" in response:
        raise DevnetChainError(f"{method} failed: {response['error'].get('message')}")
    return response.get("result")


def transact(
    function: ContractFunction, sender: str, gas: int | None = None, value: int = 0
) -> TxReceipt:
    """Send from an unlocked account and wait for the (automined) receipt."""
    w3 = function.w3
    params: dict[str, Any] = {"from": sender, "value": value}
    if gas is not None:
        params["gas"] = gas
    try:
        tx_hash = function.transact(params)  # type: ignore[arg-type]
    except (ContractLogicError, Web3RPCError) as error:
        raise DevnetChainError(f"{function.fn_name} reverted: {_reason(error)}") from None
    return _checked_receipt(w3, tx_hash, function.fn_name)


def deploy(w3: Web3, artifact: Artifact, sender: str, *args: Any) -> Contract:
    if not artifact.bytecode:
        raise DevnetChainError(f"{artifact.name} has no bytecode (an interface?)")
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode_hex)
    try:
        tx_hash = factory.constructor(*args).transact({"from": sender})
    except (ContractLogicError, Web3RPCError) as error:
        raise DevnetChainError(f"deploying {artifact.name} failed: {_reason(error)}") from None
    receipt = _checked_receipt(w3, tx_hash, f"deploy {artifact.name}")
    address = receipt["contractAddress"]
    if address is None:
        raise DevnetChainError(f"deploy {artifact.name}: the receipt names no contract")
    return w3.eth.contract(address=address, abi=artifact.abi)


def send_signed(function: ContractFunction, key: bytes, gas: int | None = None) -> TxReceipt:
    """Sign locally with `key` and send, like the engine does; the key never leaves here."""
    w3 = function.w3
    account = Account.from_key(key)
    params: dict[str, Any] = {
        "from": account.address,
        "nonce": w3.eth.get_transaction_count(account.address, "pending"),
        "chainId": w3.eth.chain_id,
    }
    try:
        params["gas"] = gas or _gas_limit(function.estimate_gas(params))  # type: ignore[arg-type]
        transaction = function.build_transaction(params)  # type: ignore[arg-type]
    except (ContractLogicError, Web3RPCError) as error:
        raise DevnetChainError(f"{function.fn_name} reverted: {_reason(error)}") from None
    signed = account.sign_transaction(transaction)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    return _checked_receipt(w3, tx_hash, function.fn_name)


def contract(w3: Web3, address: str, artifact: Artifact) -> Contract:
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=artifact.abi)


def _gas_limit(estimate: int) -> int:
    return estimate * GAS_MARGIN_PERCENT // 100 + GAS_MARGIN_FIXED


def _checked_receipt(w3: Web3, tx_hash: HexBytes, what: str) -> TxReceipt:
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    if receipt["status"] != 1:
        raise DevnetChainError(f"{what} was mined but reverted (tx {tx_hash.hex()})")
    return receipt


def _reason(error: Exception) -> str:
    message = getattr(error, "message", None) or str(error)
    return str(message).removeprefix("execution reverted: ")
