"""The ArbExecutor as an operator's object: deploy it, read it, empty it, on any chain.

One deploy path for every chain: `arbctl executor deploy` (a chain the operator names in a
config), `arbctl devnet up` and `arbctl wallet rotate` all call `deploy_executor`. The
operator's own key signs the creation (so the key is the owner the constructor records)
and then allows the V3 factories and lenders the plan names; nothing is trusted after
that until `verify` has read it back from the chain:

  - code: keccak of the code at the address equals keccak of what the node returns when
    it runs our creation code with the same constructor arguments in an `eth_call` (the
    runtime code with the owner immutable filled in), so "our build" is checked without
    re-implementing solc's immutable layout;
  - owner: `owner()` is the signing key's address;
  - allowlist: `factories()`, `v3Factories()` and `isLender()` are what the plan asked for.

Keys: transactions are signed by `engine.execution.signer.Signer` (the one object holding
the key); messages here name addresses, transaction hashes and endpoints, never a key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_abi import decode, encode
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.exceptions import ContractLogicError, TimeExhausted, Web3RPCError

from engine.config import redact_text
from engine.devnet import compile
from engine.devnet.artifacts import Artifact
from engine.devnet.errors import DevnetError
from engine.execution.operator_rpc import node_reason
from engine.execution.signer import Signer
from engine.market.evm.abi import calldata
from engine.market.evm.fees import FeeBid, FeePolicy, fee_history_call

Progress = Callable[[str], None]

# Chains whose tokens are real money: `arbctl executor` only rehearses there until --yes.
MAINNET_CHAIN_IDS = frozenset({1, 10, 56, 137, 8453, 42161})
# Uniswap V3's pool init code hash (the npm v3-core build hashes to it too).
UNISWAP_V3_INIT_CODE_HASH = bytes.fromhex(
    "e34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54"
)
GAS_MARGIN_PERCENT = 130  # admin calls: nothing in them depends on the block they land in


class ExecutorAdminError(DevnetError):
    """An executor operation refused or failed; the message says why (never a key)."""


class ChainUnreachable(ExecutorAdminError):
    """The endpoint stopped answering mid-operation (`node_failure`). Finding one that
    serves the configured chain is `engine.execution.operator_rpc.connect`'s."""


class NotOwner(ExecutorAdminError):
    """The signing key does not own the executor: its calls would revert."""


class VerifyFailed(ExecutorAdminError):
    """The contract on chain is not what was deployed (code, owner or allowlist)."""


@dataclass(frozen=True, slots=True)
class V3Factory:
    address: str
    init_code_hash: bytes = UNISWAP_V3_INIT_CODE_HASH


@dataclass(frozen=True, slots=True)
class ExecutorPlan:
    """What the new executor allows: V2 factories (constructor), V3 factories, lenders."""

    factories: tuple[str, ...]
    v3_factories: tuple[V3Factory, ...] = ()
    lenders: tuple[str, ...] = ()  # Balancer V2 Vaults, Aave V3 Pools

    def to_dict(self) -> dict[str, Any]:
        return {
            "factories": list(self.factories),
            "v3_factories": [
                {"address": f.address, "init_code_hash": "0x" + f.init_code_hash.hex()}
                for f in self.v3_factories
            ],
            "lenders": list(self.lenders),
        }


@dataclass(frozen=True, slots=True)
class Sent:
    what: str
    tx_hash: str
    gas_used: int
    cost_wei: int


@dataclass(slots=True)
class Deployed:
    address: str
    owner: str
    code_hash: str
    sent: list[Sent] = field(default_factory=list)

    @property
    def cost_wei(self) -> int:
        return sum(s.cost_wei for s in self.sent)

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "owner": self.owner,
            "code_hash": self.code_hash,
            "transactions": [
                {"what": s.what, "tx_hash": s.tx_hash, "gas_used": s.gas_used} for s in self.sent
            ],
            "gas_used": sum(s.gas_used for s in self.sent),
            "cost_wei": self.cost_wei,
        }


@dataclass(frozen=True, slots=True)
class Rehearsal:
    """A deploy that was not sent: what it would cost and whether the key can pay."""

    owner: str
    code_hash: str
    creation_gas: int
    follow_ups: int  # allowV3Factory and setLender transactions after the creation
    max_fee_wei: int
    balance_wei: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "code_hash": self.code_hash,
            "creation_gas": self.creation_gas,
            "follow_up_transactions": self.follow_ups,
            "max_fee_per_gas_wei": self.max_fee_wei,
            "creation_cost_max_wei": self.creation_gas * self.max_fee_wei,
            "balance_wei": self.balance_wei,
        }


# --- the chain (connected by engine.execution.operator_rpc) -----------------------------------
class Transactor:
    """Signed EIP-1559 transactions from one key, each waited for until mined."""

    def __init__(
        self, w3: Web3, signer: Signer, priority_fee_wei: int, timeout_s: float = 120.0
    ) -> None:
        self.w3 = w3
        self.signer = signer
        self.timeout_s = timeout_s
        self.priority_fee_wei = priority_fee_wei

    def send(self, what: str, to: str | None, data: str) -> tuple[Sent, dict[str, Any]]:
        sender = self.signer.address
        request: dict[str, Any] = {"from": sender, "data": data}
        if to is not None:
            request["to"] = to_checksum_address(to)
        gas = estimate(self.w3, request, what) * GAS_MARGIN_PERCENT // 100
        bid = fee_bid(self.w3, self.priority_fee_wei)
        balance = int(self.w3.eth.get_balance(to_checksum_address(sender)))
        if balance < gas * bid.max_fee:
            raise ExecutorAdminError(
                f"{what}: {sender} holds {balance} wei; the transaction may cost up to "
                f"{gas * bid.max_fee} wei ({gas} gas at {bid.max_fee} wei): fund the key"
            )
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": int(self.w3.eth.chain_id),
            "nonce": int(self.w3.eth.get_transaction_count(to_checksum_address(sender), "pending")),
            "value": 0,
            "gas": gas,
            "maxFeePerGas": bid.max_fee,
            "maxPriorityFeePerGas": bid.priority_fee,
            "data": data,
        }
        if to is not None:
            tx["to"] = request["to"]
        return self._send(what, tx)

    def _send(self, what: str, tx: dict[str, Any]) -> tuple[Sent, dict[str, Any]]:
        try:
            signed = self.signer.sign(tx)  # its errors name fields, never the key
        except ValueError as exc:
            raise ExecutorAdminError(f"{what}: {exc}") from None
        try:
            self.w3.eth.send_raw_transaction(signed.raw)  # type: ignore[arg-type]
            receipt = self.w3.eth.wait_for_transaction_receipt(
                signed.hash,  # type: ignore[arg-type]
                timeout=self.timeout_s,
            )
        except TimeExhausted:
            raise ExecutorAdminError(
                f"{what}: tx {signed.hash} not mined within {self.timeout_s:.0f} s"
            ) from None
        except Exception as exc:
            message = f"{what}: the node refused tx {signed.hash}: {node_reason(exc)}"
            raise ExecutorAdminError(message) from None
        if receipt["status"] != 1:
            raise ExecutorAdminError(f"{what}: tx {signed.hash} was mined but reverted")
        used = int(receipt["gasUsed"])
        sent = Sent(what, signed.hash, used, used * int(receipt["effectiveGasPrice"]))
        return sent, dict(receipt)


def fee_bid(w3: Web3, priority_fee_wei: int) -> FeeBid:
    """The engine's own EIP-1559 bid (tip from recent blocks, capped) for the next block."""
    method, params = fee_history_call("latest")
    answer = w3.provider.make_request(method, params)  # type: ignore[arg-type]
    return FeePolicy(priority_fee_wei).update(dict(answer.get("result") or {}))


def node_failure(exc: BaseException) -> ChainUnreachable | None:
    """The endpoint went away mid-operation (refused, reset, timed out), as our error;
    None for anything else. The message masks credentials in the URL."""
    from requests.exceptions import RequestException

    if not isinstance(exc, RequestException | ConnectionError | TimeoutError):
        return None
    detail = redact_text(str(exc))[:200]
    return ChainUnreachable(f"the RPC endpoint stopped answering: {type(exc).__name__}: {detail}")


def estimate(w3: Web3, request: dict[str, Any], what: str) -> int:
    try:
        return int(w3.eth.estimate_gas(request))  # type: ignore[arg-type]
    except (ContractLogicError, Web3RPCError) as exc:
        raise ExecutorAdminError(f"{what} would revert: {node_reason(exc)}") from None


def read(w3: Web3, to: str, signature: str, args: tuple[Any, ...], types: list[str]) -> Any:
    """One `eth_call`, decoded; a revert or an empty answer raises ExecutorAdminError."""
    data = calldata(signature, args)
    try:
        raw = bytes(w3.eth.call({"to": to_checksum_address(to), "data": data}))  # type: ignore[typeddict-item]
    except (ContractLogicError, Web3RPCError) as exc:
        raise ExecutorAdminError(f"{signature} on {to}: {node_reason(exc)}") from None
    if not raw:
        raise ExecutorAdminError(f"{signature} on {to} returned nothing: not that contract?")
    values = decode(types, raw)
    return values[0] if len(values) == 1 else values


# --- deploy ---------------------------------------------------------------------------------
def artifact(root: Path | None = None) -> Artifact:
    return compile.compile_contracts(root)["ArbExecutor"]


def creation_code(code: Artifact, owner: str, factories: Sequence[str]) -> bytes:
    args = encode(["address", "address[]"], [owner, [to_checksum_address(f) for f in factories]])
    return code.bytecode + args


def expected_code_hash(w3: Web3, code: Artifact, owner: str, factories: Sequence[str]) -> str:
    """keccak of the runtime code our build has for this owner and these factories: the
    node runs the constructor in an `eth_call` and returns the code it would store."""
    creation = "0x" + creation_code(code, owner, factories).hex()
    try:
        runtime = bytes(w3.eth.call({"from": owner, "data": creation}))  # type: ignore[typeddict-item]
    except (ContractLogicError, Web3RPCError) as exc:
        raise ExecutorAdminError(f"the constructor would revert: {node_reason(exc)}") from None
    return "0x" + keccak(runtime).hex()


def rehearse(
    w3: Web3, owner: str, plan: ExecutorPlan, priority_fee_wei: int, root: Path | None = None
) -> Rehearsal:
    """Everything `deploy_executor` checks before sending, and the creation's gas."""
    _check_plan(w3, plan)
    code = artifact(root)
    creation = "0x" + creation_code(code, owner, plan.factories).hex()
    gas = estimate(w3, {"from": owner, "data": creation}, "deploying ArbExecutor")
    bid = fee_bid(w3, priority_fee_wei)
    return Rehearsal(
        owner=owner,
        code_hash=expected_code_hash(w3, code, owner, plan.factories),
        creation_gas=gas,
        follow_ups=len(plan.v3_factories) + len(plan.lenders),
        max_fee_wei=int(bid.max_fee),
        balance_wei=int(w3.eth.get_balance(to_checksum_address(owner))),
    )


def deploy_executor(
    transactor: Transactor,
    plan: ExecutorPlan,
    progress: Progress = lambda _line: None,
    root: Path | None = None,
) -> Deployed:
    """Create the executor owned by the transactor's key, allow the plan, verify it all."""
    w3, owner = transactor.w3, transactor.signer.address
    _check_plan(w3, plan)
    code = artifact(root)
    expected = expected_code_hash(w3, code, owner, plan.factories)
    progress(f"deploying ArbExecutor owned by {owner}…")
    creation = "0x" + creation_code(code, owner, plan.factories).hex()
    sent, receipt = transactor.send("deploy ArbExecutor", None, creation)
    address = receipt.get("contractAddress")
    if not address:
        raise ExecutorAdminError(f"tx {sent.tx_hash}: the receipt names no contract")
    deployed = Deployed(to_checksum_address(address), owner, expected, [sent])
    progress(f"ArbExecutor at {deployed.address} (tx {sent.tx_hash}); allowing the plan…")
    for factory in plan.v3_factories:
        data = calldata(
            "allowV3Factory(address,bytes32)", (factory.address, factory.init_code_hash)
        )
        deployed.sent.append(transactor.send(f"allowV3Factory {factory.address}", address, data)[0])
    for lender in plan.lenders:
        data = calldata("setLender(address,bool)", (lender, True))
        deployed.sent.append(transactor.send(f"setLender {lender}", address, data)[0])
    progress("verifying code hash, owner and allowlist…")
    verify(w3, deployed.address, owner, expected, plan)
    return deployed


def verify(w3: Web3, address: str, owner: str, code_hash: str, plan: ExecutorPlan) -> None:
    """Raise VerifyFailed unless the chain holds exactly what was deployed."""
    found = "0x" + keccak(bytes(w3.eth.get_code(to_checksum_address(address)))).hex()
    if found != code_hash:
        raise VerifyFailed(f"code at {address} hashes to {found}, expected {code_hash}")
    state = read_allowlist(w3, address)
    if state["owner"] != to_checksum_address(owner):
        raise VerifyFailed(f"{address} is owned by {state['owner']}, not {owner}")
    wanted = [to_checksum_address(f) for f in plan.factories]
    if state["factories"] != wanted:
        raise VerifyFailed(f"{address} allows factories {state['factories']}, not {wanted}")
    v3_wanted = [to_checksum_address(f.address) for f in plan.v3_factories]
    v3_found = [f["address"] for f in state["v3_factories"]]
    if v3_found != v3_wanted:
        raise VerifyFailed(f"{address} allows V3 factories {v3_found}, not {v3_wanted}")
    refused = [lender for lender in plan.lenders if not is_lender(w3, address, lender)]
    if refused:
        raise VerifyFailed(f"{address} does not allow the lenders {refused}")


def _check_plan(w3: Web3, plan: ExecutorPlan) -> None:
    """Every address in the plan holds code: a typo would deploy an executor that can't trade."""
    if not plan.factories:
        raise ExecutorAdminError("no V2 factory to allow: the constructor needs at least one")
    named = [("factory", f) for f in plan.factories]
    named += [("V3 factory", f.address) for f in plan.v3_factories]
    named += [("lender", lender) for lender in plan.lenders]
    for role, address in named:
        if not bytes(w3.eth.get_code(to_checksum_address(address))):
            raise ExecutorAdminError(f"the {role} {address} has no code on this chain")


def v3_factory_of_pool(w3: Web3, pool: str) -> V3Factory:
    """The factory that created a Uniswap V3 pool, checked by its CREATE2 address (a pool
    from a fork with another init code hash is refused: the executor would not trust it)."""
    factory = to_checksum_address(read(w3, pool, "factory()", (), ["address"]))
    token0 = read(w3, pool, "token0()", (), ["address"])
    token1 = read(w3, pool, "token1()", (), ["address"])
    fee = read(w3, pool, "fee()", (), ["uint24"])
    salt = keccak(encode(["address", "address", "uint24"], [token0, token1, fee]))
    digest = keccak(b"\xff" + bytes.fromhex(factory[2:]) + salt + UNISWAP_V3_INIT_CODE_HASH)
    if to_checksum_address(digest[12:]) != to_checksum_address(pool):
        raise ExecutorAdminError(
            f"{pool} is not at the address Uniswap V3's init code hash gives its factory "
            f"{factory}: a fork with another pool code? the executor could not trust it"
        )
    return V3Factory(factory)


# --- status ---------------------------------------------------------------------------------
def read_allowlist(w3: Web3, address: str) -> dict[str, Any]:
    owner = to_checksum_address(read(w3, address, "owner()", (), ["address"]))
    factories = read(w3, address, "factories()", (), ["address[]"])
    v3 = read(w3, address, "v3Factories()", (), ["(address,bytes32)[]"])
    paused = bool(read(w3, address, "paused()", (), ["bool"]))
    return {
        "owner": owner,
        "paused": paused,
        "factories": [to_checksum_address(f) for f in factories],
        "v3_factories": [
            {"address": to_checksum_address(f), "init_code_hash": "0x" + bytes(h).hex()}
            for f, h in v3
        ],
    }


def is_lender(w3: Web3, address: str, lender: str) -> bool:
    return bool(read(w3, address, "isLender(address)", (to_checksum_address(lender),), ["bool"]))


def token_balance(w3: Web3, token: str, holder: str) -> int:
    args = (to_checksum_address(holder),)
    return int(read(w3, token, "balanceOf(address)", args, ["uint256"]))


def status(
    w3: Web3,
    address: str,
    tokens: Sequence[tuple[str, str]],
    lenders: Sequence[str],
    root: Path | None = None,
) -> dict[str, Any]:
    """Owner, code hash (and whether it is our build), balances, allowlist, paused."""
    address = to_checksum_address(address)
    code = bytes(w3.eth.get_code(address))
    if not code:
        raise ExecutorAdminError(f"{address} has no contract code on chain {w3.eth.chain_id}")
    try:
        state = read_allowlist(w3, address)
    except ExecutorAdminError as exc:
        raise ExecutorAdminError(f"{address} does not answer as an ArbExecutor: {exc}") from None
    code_hash = "0x" + keccak(code).hex()
    try:
        expected: str | None = expected_code_hash(
            w3, artifact(root), state["owner"], state["factories"]
        )
    except DevnetError:
        expected = None  # no compiler here: the hash is shown, not judged
    return {
        "address": address,
        "chain_id": int(w3.eth.chain_id),
        **state,
        "code_hash": code_hash,
        "expected_code_hash": expected,
        "code_matches_build": None if expected is None else expected == code_hash,
        "lenders": {lender: is_lender(w3, address, lender) for lender in lenders},
        "balances": {symbol: token_balance(w3, token, address) for symbol, token in tokens},
        "native_wei": int(w3.eth.get_balance(address)),
    }


# --- withdraw -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Withdrawn:
    symbol: str
    token: str
    amount: int
    tx_hash: str
    gas_used: int


def require_owner(w3: Web3, address: str, signer_address: str) -> None:
    owner = to_checksum_address(read(w3, address, "owner()", (), ["address"]))
    if owner != to_checksum_address(signer_address):
        raise NotOwner(
            f"executor {address} is owned by {owner}, not by the configured key's address "
            f"{signer_address}: only the owner may withdraw (check evm.key_file)"
        )


def withdraw(
    transactor: Transactor,
    address: str,
    tokens: Sequence[tuple[str, str]],
    to: str,
    progress: Progress = lambda _line: None,
) -> list[Withdrawn]:
    """`withdraw(token, to)` for each token the executor holds; the amounts moved are
    read from the chain (balance before minus after), not assumed."""
    w3 = transactor.w3
    require_owner(w3, address, transactor.signer.address)
    done = []
    for symbol, token in tokens:
        before = token_balance(w3, token, address)
        if before == 0:
            continue
        progress(f"withdrawing {before} {symbol} to {to}…")
        data = calldata("withdraw(address,address)", (to_checksum_address(token), to))
        sent, _ = transactor.send(f"withdraw {symbol}", address, data)
        moved = before - token_balance(w3, token, address)
        done.append(
            Withdrawn(symbol, to_checksum_address(token), moved, sent.tx_hash, sent.gas_used)
        )
    return done
