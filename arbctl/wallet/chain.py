"""The chain, as the key-compromise sweep needs it: balances, and signed sends that wait.

Synchronous web3 over HTTP: a sweep is a handful of transactions sent one after the
other, each waiting for its receipt, because the last one (the native balance) must
know exactly what the others cost. Transactions are signed by the engine's own
`Signer`, the only object that holds the old key; nothing here ever sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_typing import HexStr
from web3 import Web3
from web3.exceptions import ContractLogicError, TimeExhausted, Web3RPCError

from arbctl.wallet.errors import WalletError
from engine.config import Config
from engine.execution import operator_rpc
from engine.execution.operator_rpc import endpoint_urls, node_reason
from engine.execution.signer import Signer
from engine.market.evm.abi import calldata
from engine.market.evm.fees import FeeBid, FeePolicy, fee_history_call

# A token transfer's gas is what eth_estimateGas says plus this much: unlike a flash
# swap (engine.market.evm.fees) nothing in it depends on the block it lands in.
GAS_MARGIN_PERCENT = 130


class ChainError(WalletError):
    """The node refused or failed; the message names the endpoint (credentials masked)."""


@dataclass(frozen=True, slots=True)
class Sent:
    tx_hash: str
    gas_used: int
    cost_wei: int  # what the sender paid for gas


class Chain:
    """One endpoint of the configured chain, checked to be the configured chain id."""

    def __init__(self, w3: Web3, label: str, config: Config) -> None:
        self.w3 = w3
        self.label = label
        self.chain_id = config.evm.chain_id
        self._fees = FeePolicy.from_gwei(config.evm.max_priority_fee_gwei)

    @classmethod
    def connect(cls, config: Config, rpc_url: str | None) -> Chain:
        """`rpc_url`, else the first configured RPC provider (by priority), that answers
        with our chain (engine.execution.operator_rpc)."""
        urls = endpoint_urls(config, rpc_url)
        try:
            w3, label = operator_rpc.connect(urls, config.evm.chain_id)
        except operator_rpc.NoUsableEndpoint as exc:
            raise ChainError(str(exc)) from None
        return cls(w3, label, config)

    # --- reads ------------------------------------------------------------------------
    def native_balance(self, holder: str) -> int:
        return int(self._read(self.w3.eth.get_balance, Web3.to_checksum_address(holder)))

    def token_balance(self, token: str, holder: str) -> int:
        data = calldata("balanceOf(address)", (Web3.to_checksum_address(holder),))
        request = {"to": Web3.to_checksum_address(token), "data": data}
        result = self._read(self.w3.eth.call, request)
        return int.from_bytes(bytes(result)[:32] or b"\0", "big")

    def fee_bid(self) -> FeeBid:
        method, params = fee_history_call("latest")
        answer = self._read(self.w3.provider.make_request, method, params)
        return self._fees.update(dict(answer.get("result") or {}))

    def _read(self, function: Any, *args: Any) -> Any:
        """A read that fails as ChainError naming the endpoint, never as a web3 traceback."""
        try:
            return function(*args)
        except Exception as exc:
            raise ChainError(f"{self.label}: {type(exc).__name__}: {node_reason(exc)}") from None

    # --- sends ------------------------------------------------------------------------
    def call_contract(self, signer: Signer, to: str, data: str, timeout: float) -> Sent:
        """An EIP-1559 contract call, gas estimated with a margin; waits for success."""
        sender, to = signer.address, Web3.to_checksum_address(to)
        try:
            estimate = self.w3.eth.estimate_gas({"from": sender, "to": to, "data": HexStr(data)})
        except (ContractLogicError, Web3RPCError) as exc:
            raise ChainError(f"would revert: {node_reason(exc)}") from None
        except Exception as exc:
            raise ChainError(f"{self.label}: {type(exc).__name__}: {node_reason(exc)}") from None
        bid = self.fee_bid()
        tx = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": self._nonce(sender),
            "to": to,
            "value": 0,
            "gas": estimate * GAS_MARGIN_PERCENT // 100,
            "maxFeePerGas": bid.max_fee,
            "maxPriorityFeePerGas": bid.priority_fee,
            "data": data,
        }
        return self._send(signer, tx, timeout)

    def send_all_native(self, signer: Signer, to: str, timeout: float) -> tuple[Sent, int]:
        """Everything but the gas of this very transaction; returns (sent, value).

        A legacy (type 0) transaction: it pays exactly gas_used × gasPrice, so with the
        gas limit at the exact estimate nothing is left behind. The price is the 1559
        policy's max fee (2 × base fee + tip), so it still lands if the base fee rises.
        """
        sender = signer.address
        balance = self.native_balance(sender)
        target = Web3.to_checksum_address(to)
        gas = int(self._read(self.w3.eth.estimate_gas, {"from": sender, "to": target, "value": 1}))
        price = self.fee_bid().max_fee
        value = balance - gas * price
        if value <= 0:
            raise ChainError(
                f"balance {balance} wei does not cover the transfer's own gas ({gas * price} wei)"
            )
        tx = {
            "chainId": self.chain_id,
            "nonce": self._nonce(sender),
            "to": target,
            "value": value,
            "gas": gas,
            "gasPrice": price,
            "data": "0x",
        }
        return self._send(signer, tx, timeout), value

    def send_native(self, signer: Signer, to: str, value: int, timeout: float) -> Sent:
        """A plain transfer of `value` wei (EIP-1559, 21,000 gas)."""
        bid = self.fee_bid()
        tx = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": self._nonce(signer.address),
            "to": Web3.to_checksum_address(to),
            "value": value,
            "gas": 21_000,
            "maxFeePerGas": bid.max_fee,
            "maxPriorityFeePerGas": bid.priority_fee,
            "data": "0x",
        }
        return self._send(signer, tx, timeout)

    def _nonce(self, sender: str) -> int:
        """Pending, not latest: the halted engine may still be cancelling in-flight sends."""
        address = Web3.to_checksum_address(sender)
        return int(self._read(self.w3.eth.get_transaction_count, address, "pending"))

    def _send(self, signer: Signer, tx: dict[str, Any], timeout: float) -> Sent:
        try:
            signed = signer.sign(tx)  # its errors name fields, never the key
        except ValueError as exc:
            raise ChainError(str(exc)) from None
        try:
            self.w3.eth.send_raw_transaction(HexStr(signed.raw))
            receipt = self.w3.eth.wait_for_transaction_receipt(HexStr(signed.hash), timeout=timeout)
        except TimeExhausted:
            raise ChainError(f"tx {signed.hash} not mined within {timeout:.0f}s") from None
        except Exception as exc:  # refused, or the endpoint went away
            raise ChainError(f"{self.label} refused tx {signed.hash}: {node_reason(exc)}") from None
        if receipt["status"] != 1:
            raise ChainError(f"tx {signed.hash} was mined but reverted")
        used = int(receipt["gasUsed"])
        return Sent(signed.hash, used, used * int(receipt["effectiveGasPrice"]))
