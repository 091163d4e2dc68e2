"""The "Key Compromise Response", end to end: halt, new key, sweep, switch the config.

Order matters and is the runbook's: first nothing more is signed by the engine (kill),
then a new key exists, then every asset the old key controls moves to the operator's
backup address — the executor's tokens (`withdraw`, owner-only, so signed by the old
key), the wallet's tokens, and last the native balance minus exactly that transfer's
gas (every earlier transaction is paid from it) — and only then does the config name
the new key. A failing step is reported and the rest still run: a partial sweep is
better than none while an attacker holds the same key.

The executor's owner is fixed at construction (`immutable`, no transfer function), so
it cannot follow the key: it is emptied, and a new executor must be deployed for the
new key (the engine refuses to start with an executor it does not own).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import is_checksum_address, is_hex_address, to_checksum_address

from arbctl.evm_config import EvmConfigRefused, load_evm_config
from arbctl.wallet import keys
from arbctl.wallet.chain import Chain, ChainError
from arbctl.wallet.config_edit import ConfigEditError, switch_key_file
from arbctl.wallet.errors import WalletError
from engine.config import Config
from engine.execution.signer import KeyLoadError, Signer, load_signer
from engine.market.evm.abi import calldata

KILL_TIMEOUT_S = 90.0
ZERO_ADDRESS = "0x" + "0" * 40
NATIVE = "native"


class RotateRefused(WalletError):
    """Nothing was done: the inputs or the chain do not allow a rotation. `code` is the
    exit code (2 usage or config, 1 otherwise)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class RotateRequest:
    config: Path
    sweep_to: str
    reason: str
    new_key: Path | None = None
    rpc_url: str | None = None
    socket: Path | None = None
    state_dir: Path | None = None
    shutdown: bool = False
    timeout_s: float = 120.0
    redeploy: bool = False  # deploy a new executor for the new key (arbctl executor deploy)


@dataclass(slots=True)
class Holdings:
    """What the old key controls, in base units, by token symbol (`native` for ETH)."""

    wallet: dict[str, int] = field(default_factory=dict)
    executor: dict[str, int] = field(default_factory=dict)

    def total(self) -> int:
        return sum(self.wallet.values()) + sum(self.executor.values())


@dataclass(slots=True)
class RotateReport:
    """Every step and its outcome: the operator must know exactly what moved where."""

    config: str
    backup_address: str
    old_address: str = ""
    executor: str = ""
    new_executor: str | None = None
    new_address: str | None = None
    new_key_file: str | None = None
    config_backup: str | None = None
    halted: bool = False
    before: Holdings | None = None
    swept: dict[str, dict[str, int]] = field(default_factory=lambda: {"wallet": {}, "executor": {}})
    gas_wei: int = 0
    steps: list[dict[str, Any]] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)

    def step(self, name: str, ok: bool, detail: str) -> bool:
        self.steps.append({"step": name, "ok": ok, "detail": detail})
        return ok

    @property
    def ok(self) -> bool:
        return all(step["ok"] for step in self.steps)

    def to_dict(self) -> dict[str, Any]:
        before = self.before or Holdings()
        return {
            "ok": self.ok,
            "halted": self.halted,
            "old_address": self.old_address,
            "new_address": self.new_address,
            "new_key_file": self.new_key_file,
            "backup_address": self.backup_address,
            "executor": self.executor or None,
            "new_executor": self.new_executor,
            "config": self.config,
            "config_backup": self.config_backup,
            "before": {"wallet": before.wallet, "executor": before.executor},
            "swept": self.swept,
            "gas_wei": self.gas_wei,
            "steps": self.steps,
            "next_steps": self.next_steps,
        }


@dataclass(slots=True)
class Rotation:
    """Checked inputs: the loaded config, the old key's signer and a live chain."""

    request: RotateRequest
    config: Config
    signer: Signer
    chain: Chain
    backup: str
    report: RotateReport


Confirm = Callable[[RotateReport], bool]


# --- preflight: nothing is done unless all of this holds ---------------------------------
def prepare(request: RotateRequest) -> Rotation:
    """Load and check everything; raises RotateRefused before any action is taken."""
    config = _load_config(request.config)
    backup = _backup_address(request.sweep_to)
    try:
        signer = load_signer(config.evm)
    except KeyLoadError as exc:
        raise RotateRefused(f"cannot load the current key: {exc}", 1) from None
    if backup == signer.address:
        raise RotateRefused("--sweep-to is the compromised wallet itself", 2)
    executor = to_checksum_address(config.evm.executor) if config.evm.executor else ""
    if backup == executor:
        raise RotateRefused("--sweep-to is the executor contract", 2)
    try:
        chain = Chain.connect(config, request.rpc_url)
    except ChainError as exc:
        raise RotateRefused(
            f"{exc} (halt the engine meanwhile: arbctl kill --reason ...)", 1
        ) from None
    report = RotateReport(str(request.config), backup, signer.address, executor)
    return Rotation(request, config, signer, chain, backup, report)


def _load_config(path: Path) -> Config:
    try:
        return load_evm_config(path)
    except EvmConfigRefused as exc:
        raise RotateRefused(str(exc), 2) from None


def _backup_address(text: str) -> str:
    """A hex address; in mixed case its EIP-55 checksum must hold (a typo moves funds
    to an address nobody controls)."""
    candidate = text.strip()
    if not candidate.startswith("0x") or not is_hex_address(candidate):
        raise RotateRefused(f"--sweep-to {candidate!r} is not a valid address", 2)
    digits = candidate[2:]
    if digits != digits.lower() and digits != digits.upper() and not is_checksum_address(candidate):
        raise RotateRefused(
            f"--sweep-to {candidate} fails its checksum: a typo? (expected mixed case: "
            "EIP-55; or give it all lower case)",
            2,
        )
    if candidate.lower() == ZERO_ADDRESS:
        raise RotateRefused("--sweep-to is the zero address", 2)
    return to_checksum_address(candidate)


# --- the procedure --------------------------------------------------------------------------
def run(rotation: Rotation, confirm: Confirm) -> RotateReport:
    """Halt, read balances, confirm, new key, sweep, switch config; every step reported."""
    report = rotation.report
    halt(rotation)
    try:
        report.before = holdings(rotation)
        report.step("balances", True, _describe_holdings(report.before))
    except ChainError as exc:
        report.step("balances", False, f"cannot read balances: {exc}")
    if not confirm(report):
        report.step("confirm", False, "not confirmed: nothing swept, key and config unchanged")
        report.next_steps.append("the engine stays halted; rerun when ready")
        return report
    report.step("confirm", True, f"sweep to {rotation.backup} confirmed")
    new_key(rotation)
    sweep(rotation)
    verify(rotation)
    switch_config(rotation)
    if rotation.request.redeploy:
        redeploy(rotation)
    report.next_steps.extend(_next_steps(rotation))
    return report


def halt(rotation: Rotation) -> None:
    """`arbctl kill` itself, with its fallback: the one tested way to stop the engine."""
    request, report = rotation.request, rotation.report
    argv = [sys.executable, "-m", "arbctl", "kill", "--reason", request.reason, "--json"]
    argv += ["--shutdown"] if request.shutdown else []
    argv += ["--socket", str(request.socket)] if request.socket else []
    argv += ["--state-dir", str(request.state_dir)] if request.state_dir else []
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=KILL_TIMEOUT_S, check=False
        )
        answer = json.loads(done.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        report.step("halt", False, f"arbctl kill gave no answer: {type(exc).__name__}")
        return
    report.halted = bool(answer.get("halted"))
    if answer.get("acknowledged"):
        detail = "engine acknowledged the halt (arbctl kill)"
    elif report.halted:
        detail = f"engine did not answer; halt persisted in {answer.get('marker')} (kill fallback)"
    else:
        failed = [s["detail"] for s in answer.get("steps", []) if not s.get("ok")]
        error = (answer.get("error") or {}).get("message")
        detail = "HALT NOT PERSISTED: " + "; ".join(failed or [error or "see arbctl kill"])
    if report.halted and request.shutdown:
        steps = answer.get("steps", [])
        stopped = any(s.get("step") == "wait_exit" and s.get("ok") for s in steps)
        detail += "; engine stopped" if stopped else "; engine process not confirmed gone"
    report.step("halt", report.halted, detail)


def holdings(rotation: Rotation) -> Holdings:
    chain, owner = rotation.chain, rotation.signer.address
    found = Holdings()
    found.wallet[NATIVE] = chain.native_balance(owner)
    for token in rotation.config.evm.tokens:
        found.wallet[token.symbol] = chain.token_balance(token.address, owner)
        if rotation.report.executor:
            found.executor[token.symbol] = chain.token_balance(
                token.address, rotation.report.executor
            )
    return found


def new_key(rotation: Rotation) -> None:
    """The replacement key, beside the old key file (else in <state dir>/keys)."""
    request, report = rotation.request, rotation.report
    old = rotation.config.evm.key_file
    directory = Path(old).expanduser().absolute().parent if old else _state_dir(request) / "keys"
    try:
        path, address = keys.create_key_file(request.new_key, directory)
    except (keys.KeyFileExists, OSError) as exc:
        report.step("new_key", False, f"cannot create the new key: {exc}")
        return
    report.new_address, report.new_key_file = address, str(path)
    report.step("new_key", True, f"new wallet {address}, key in {path} (0600)")


def sweep(rotation: Rotation) -> None:
    """Executor tokens, then wallet tokens, then the native balance (it pays for all)."""
    report = rotation.report
    for token in rotation.config.evm.tokens if report.executor else []:
        amount = _balance(rotation, token.address, report.executor, f"withdraw {token.symbol}")
        if amount:
            data = calldata("withdraw(address,address)", (token.address, rotation.backup))
            _send(rotation, "executor", token.symbol, amount, report.executor, data)
    for token in rotation.config.evm.tokens:
        amount = _balance(rotation, token.address, report.old_address, f"transfer {token.symbol}")
        if amount:
            data = calldata("transfer(address,uint256)", (rotation.backup, amount))
            _send(rotation, "wallet", token.symbol, amount, token.address, data)
    if rotation.request.redeploy:
        fund_new_key(rotation)
    _sweep_native(rotation)


# Deploy gas sent to the new key: twice the rehearsed creation plus this per allow call.
ALLOW_CALL_GAS = 100_000


def fund_new_key(rotation: Rotation) -> None:
    """Gas for `redeploy`, from the old wallet (whose rest goes to the backup next)."""
    report = rotation.report
    if report.new_address is None:
        report.step("fund_new_key", False, "skipped: no new key was created")
        return
    answer = _arbctl(rotation, "executor", "deploy", "--dry-run")
    rehearsal = answer.get("rehearsal")
    if not rehearsal:
        report.step("fund_new_key", False, f"cannot price the deploy: {_error_of(answer)}")
        return
    gas = rehearsal["creation_gas"] + ALLOW_CALL_GAS * rehearsal["follow_up_transactions"]
    value = 2 * gas * rehearsal["max_fee_per_gas_wei"]
    try:
        sent = rotation.chain.send_native(
            rotation.signer, report.new_address, value, rotation.request.timeout_s
        )
    except ChainError as exc:
        report.step("fund_new_key", False, str(exc))
        return
    report.gas_wei += sent.cost_wei
    report.swept["wallet"]["deploy_gas"] = value
    report.step("fund_new_key", True, f"{value} wei to {report.new_address} (tx {sent.tx_hash})")


def redeploy(rotation: Rotation) -> None:
    """`arbctl executor deploy --yes` on the switched config: owned by the new key."""
    report = rotation.report
    if report.config_backup is None:
        report.step("redeploy", False, "skipped: the config does not name the new key")
        return
    answer = _arbctl(rotation, "executor", "deploy", "--yes", "--reason", rotation.request.reason)
    address = (answer.get("executor") or {}).get("address")
    if not address:
        report.step("redeploy", False, f"arbctl executor deploy failed: {_error_of(answer)}")
        return
    report.new_executor = address
    report.step("redeploy", True, f"executor {address} owned by {report.new_address}")


def _arbctl(rotation: Rotation, *args: str) -> dict[str, Any]:
    """`arbctl ARGS --config CONFIG --json` as a process; its JSON answer (or {})."""
    request = rotation.request
    argv = [sys.executable, "-m", "arbctl", *args, "--config", str(request.config), "--json"]
    argv += ["--rpc-url", request.rpc_url] if request.rpc_url else []
    argv += ["--state-dir", str(request.state_dir)] if request.state_dir else []
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=request.timeout_s * 8, check=False
        )
        answer = json.loads(done.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        return {"error": {"message": f"no answer: {type(exc).__name__}"}}
    return answer if isinstance(answer, dict) else {}


def _error_of(answer: dict[str, Any]) -> str:
    return str((answer.get("error") or {}).get("message") or "no answer")


def _balance(rotation: Rotation, token: str, holder: str, step: str) -> int:
    """The live balance; an unreadable one is a failed step, and the sweep goes on."""
    try:
        return rotation.chain.token_balance(token, holder)
    except ChainError as exc:
        rotation.report.step(step, False, f"cannot read the balance: {exc}")
        return 0


def _send(rotation: Rotation, holder: str, symbol: str, amount: int, to: str, data: str) -> None:
    """One signed call by the old key; `holder` is where the tokens were."""
    report = rotation.report
    step = f"{'withdraw' if holder == 'executor' else 'transfer'} {symbol}"
    try:
        sent = rotation.chain.call_contract(rotation.signer, to, data, rotation.request.timeout_s)
    except ChainError as exc:
        report.step(step, False, str(exc))
        return
    report.gas_wei += sent.cost_wei
    report.swept[holder][symbol] = amount
    report.step(step, True, f"{amount} from the {holder} to {rotation.backup} (tx {sent.tx_hash})")


def _sweep_native(rotation: Rotation) -> None:
    report = rotation.report
    try:
        sent, value = rotation.chain.send_all_native(
            rotation.signer, rotation.backup, rotation.request.timeout_s
        )
    except ChainError as exc:
        report.step("sweep native", False, str(exc))
        return
    report.gas_wei += sent.cost_wei
    report.swept["wallet"][NATIVE] = value
    report.step(
        "sweep native",
        True,
        f"{value} wei to {rotation.backup}, {sent.cost_wei} wei gas (tx {sent.tx_hash})",
    )


def verify(rotation: Rotation) -> None:
    """Read the chain again: what is still held by the old key is named, not guessed."""
    report = rotation.report
    try:
        after = holdings(rotation)
    except ChainError as exc:
        report.step("verify", False, f"cannot read balances: {exc}")
        return
    left = {f"wallet {s}": a for s, a in after.wallet.items() if a and s != NATIVE}
    left.update({f"executor {s}": a for s, a in after.executor.items() if a})
    native = after.wallet.get(NATIVE, 0)
    if left:
        report.step(
            "verify", False, "still held: " + ", ".join(f"{k} {v}" for k, v in left.items())
        )
        return
    report.step("verify", True, f"old wallet holds {native} wei and no tokens; executor empty")


def switch_config(rotation: Rotation) -> None:
    report = rotation.report
    if report.new_key_file is None:
        report.step("switch_config", False, "skipped: no new key was created")
        return
    try:
        backup = switch_key_file(rotation.request.config, Path(report.new_key_file))
    except (ConfigEditError, OSError) as exc:
        report.step("switch_config", False, str(exc))
        return
    report.config_backup = str(backup)
    report.step(
        "switch_config",
        True,
        f"evm.key_file = {report.new_key_file} in {report.config} (previous: {backup})",
    )


def _next_steps(rotation: Rotation) -> list[str]:
    report = rotation.report
    new = report.new_address or "the new wallet"
    steps = []
    if report.new_executor:
        steps.append(f"the new executor {report.new_executor} is in evm.executor")
    elif report.executor:
        steps.append(
            f"deploy a new ArbExecutor owned by {new} (arbctl executor deploy --config "
            f"{report.config}): the owner of "
            f"{report.executor} is fixed at deployment, and the engine refuses to start "
            "with an executor it does not own"
        )
    steps += [
        f"fund {new} with gas (and inventory) from {report.backup_address}",
        "revoke every token approval granted by the old wallet, if any",
        "test the new key on a devnet or staging first, then "
        "`arbctl up` and `arbctl resume --reason ...`",
        "conduct the post-incident review",
    ]
    return steps


def _describe_holdings(found: Holdings) -> str:
    wallet = ", ".join(f"{s} {a}" for s, a in found.wallet.items() if a) or "nothing"
    executor = ", ".join(f"{s} {a}" for s, a in found.executor.items() if a) or "nothing"
    return f"old wallet holds {wallet}; executor holds {executor}"


def _state_dir(request: RotateRequest) -> Path:
    from arbctl import options

    return options.state_dir(request.state_dir)
