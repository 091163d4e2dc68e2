"""`arbctl executor deploy|status|withdraw`: the ArbExecutor contract as an operator's object.

Works on whatever chain the config names (`evm.chain_id`, the `[[providers]]` RPC
endpoints), without an engine: `deploy` compiles our contract offline, creates it with
the operator's key as owner, allows the configured V3 factories and lenders, checks code
hash, owner and allowlist, and writes `evm.executor` into the config (the old file kept
as a backup). On a mainnet chain id every state change is a dry run until --yes.

Audit: a deploy or withdraw is recorded in the config's ledger (the `audit` table
`arbctl audit` reads) before anything is sent (outcome `started`: if that record cannot
be written nothing is sent) and again with its outcome. Keys: the key file is read by
the engine's signer; no private key is printed, logged or put in an error.

Only typer and the output helpers are imported here; web3, the compiler and the ledger
load inside the command that needs them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from arbctl import exitcodes, options, output

if TYPE_CHECKING:
    from engine.config import Config
    from engine.execution.signer import Signer

app = options.key_handling_app(
    "executor", "The ArbExecutor contract: deploy it for your key, read it, withdraw from it."
)

CLIENT_NAME = "arbctl executor"
EXIT_HELP = (
    "Exit codes: 0 done (or dry run shown) · 1 refused or failed (not the owner, a "
    "transaction reverted, a check failed, the audit log unwritable) · 2 usage or config "
    "(bad address, unknown token, no key) · 3 no RPC endpoint answers for the chain."
)

RequiredConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="ARBCTL_CONFIG",
        show_default=False,
        help="Engine config (TOML) naming the chain, key, factories, lenders and tokens.",
    ),
]
YesOpt = Annotated[
    bool, typer.Option("--yes", "-y", help="Really send on a mainnet chain id (else a dry run).")
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Check and estimate; send nothing.")]


@app.command("deploy")
def deploy(
    config: RequiredConfigOpt = None,
    reason: Annotated[
        str, typer.Option("--reason", "-r", help="Recorded in the audit log.")
    ] = "deploy the executor (arbctl executor deploy)",
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    rpc_url: options.RpcUrlOpt = None,
    timeout: options.TimeoutOpt = 120.0,
    state_dir: options.StateDirOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Deploy a new ArbExecutor owned by the config's key; write its address into the config.

    Allows the V2 factories of evm.factories (constructor), the V3 factory of every
    `uniswap-v3://POOL` liquidity source, and every `balancer-v2://` and `aave-v3://`
    lender; waits for each receipt; checks code hash, owner and allowlist on chain; then
    sets evm.executor in the config file (previous file kept as FILE.bak or FILE.bak.N).
    Chain ids 1, 10, 56, 137, 8453, 42161: a dry run unless --yes.

    --json: {dry_run, chain_id, rpc, plan, executor: {address, owner, code_hash,
    transactions, gas_used, cost_wei}, config, config_backup, previous_executor} or, dry
    run, {dry_run: true, chain_id, rpc, plan, rehearsal}.
    """
    loaded = _config_or_exit(config, as_json, deploying=True)
    from engine.devnet import executor as admin

    w3, label = _connect_or_exit(loaded, rpc_url, as_json)
    signer = _signer_or_exit(loaded, as_json)
    plan = _plan_or_exit(w3, loaded, as_json)
    chain_id = loaded.evm.chain_id
    base = {"chain_id": chain_id, "rpc": label, "plan": plan.to_dict()}
    if dry_run or (chain_id in admin.MAINNET_CHAIN_IDS and not yes):
        _deploy_rehearsal(w3, signer.address, plan, loaded, base, as_json)
        return
    _note(f"deploying on chain {chain_id} via {label} as {signer.address}", as_json)
    where = _audit_start(loaded, config, state_dir, "executor.deploy", reason, base, as_json)
    try:
        transactor = admin.Transactor(w3, signer, _tip_wei(loaded), timeout)
        deployed = admin.deploy_executor(transactor, plan, lambda line: _note(line, as_json))
    except Exception as exc:
        message, code = _failure(exc)
        _audit_end(where, "executor.deploy", reason, {**base, "error": message}, "failed")
        output.fail(message, code, as_json)
    document = {**base, "dry_run": False, "executor": deployed.to_dict()}
    document.update(_write_address(config, loaded, deployed.address, as_json))
    _audit_end(where, "executor.deploy", reason, {**base, "executor": deployed.address}, "ok")
    _print_deployed(document, as_json)


@app.command("status")
def status(
    config: RequiredConfigOpt = None,
    rpc_url: options.RpcUrlOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Owner, code hash (is it this build?), token balances, allowlist, paused.

    --json: {address, chain_id, owner, key_is_owner, paused, code_hash,
    expected_code_hash, code_matches_build, factories, v3_factories, lenders: {address:
    allowed}, balances: {symbol: base units}, native_wei}.
    """
    loaded = _config_or_exit(config, as_json)
    from engine.devnet import executor as admin

    w3, _label = _connect_or_exit(loaded, rpc_url, as_json)
    # a V3 pool lends through its factory's place on the allowlist, not through isLender
    lenders = [address for kind, address in _lender_urls(loaded) if kind != "uniswap-v3"]
    tokens = [(t.symbol, t.address) for t in loaded.evm.tokens]
    try:
        document = admin.status(w3, loaded.evm.executor, tokens, lenders)
    except Exception as exc:
        output.fail(*_failure(exc), as_json)
    document["key_is_owner"] = _key_address(loaded) == document["owner"]
    if as_json:
        output.emit_json(document)
        return
    _print_status(document, loaded)


@app.command("withdraw")
def withdraw(
    token: Annotated[
        str | None,
        typer.Argument(show_default=False, help="Token symbol (from evm.tokens) or address."),
    ] = None,
    withdraw_all: Annotated[
        bool, typer.Option("--all", help="Every evm.tokens token the executor holds.")
    ] = False,
    to: Annotated[
        str | None, typer.Option("--to", show_default=False, help="Receiving address.")
    ] = None,
    reason: options.ReasonOpt = None,
    config: RequiredConfigOpt = None,
    yes: YesOpt = False,
    rpc_url: options.RpcUrlOpt = None,
    timeout: options.TimeoutOpt = 120.0,
    state_dir: options.StateDirOpt = None,
    as_json: options.JsonOpt = False,
) -> None:
    """Move the executor's balance of TOKEN (or of every configured token) to --to.

    Only the owner can: the config's key must own the executor (checked first). Amounts
    moved are read from the chain. Mainnet chain ids: a dry run unless --yes.

    --json: {dry_run, executor, to, withdrawn: [{symbol, token, amount, tx_hash,
    gas_used}]} or, dry run, {dry_run: true, executor, to, would_withdraw: {symbol: amount}}.
    """
    why = options.require_reason(reason, "executor withdraw", as_json)
    if (token is None) == (not withdraw_all):
        output.fail("give one TOKEN or --all", exitcodes.USAGE, as_json)
    target = _address_or_exit(to, "--to", as_json)
    loaded = _config_or_exit(config, as_json)
    from engine.devnet import executor as admin

    tokens = _tokens_or_exit(loaded, token, as_json)
    w3, _label = _connect_or_exit(loaded, rpc_url, as_json)
    signer = _signer_or_exit(loaded, as_json)
    address = loaded.evm.executor
    base = {"executor": address, "to": target}
    try:
        admin.require_owner(w3, address, signer.address)
        held = {s: admin.token_balance(w3, t, address) for s, t in tokens}
    except Exception as exc:
        output.fail(*_failure(exc), as_json)
    if loaded.evm.chain_id in admin.MAINNET_CHAIN_IDS and not yes:
        rehearsal = {
            **base,
            "dry_run": True,
            "would_withdraw": {s: a for s, a in held.items() if a},
        }
        _print_withdraw_rehearsal(rehearsal, loaded.evm.chain_id, as_json)
        return
    params = {**base, "tokens": [s for s, _ in tokens]}
    where = _audit_start(loaded, config, state_dir, "executor.withdraw", why, params, as_json)
    try:
        transactor = admin.Transactor(w3, signer, _tip_wei(loaded), timeout)
        done = admin.withdraw(
            transactor, address, tokens, target, lambda line: _note(line, as_json)
        )
    except Exception as exc:
        message, code = _failure(exc)
        _audit_end(where, "executor.withdraw", why, {**params, "error": message}, "failed")
        output.fail(message, code, as_json)
    moved = [
        {
            "symbol": d.symbol,
            "token": d.token,
            "amount": d.amount,
            "tx_hash": d.tx_hash,
            "gas_used": d.gas_used,
        }
        for d in done
    ]
    _audit_end(where, "executor.withdraw", why, {**params, "withdrawn": moved}, "ok")
    document = {**base, "dry_run": False, "withdrawn": moved}
    if as_json:
        output.emit_json(document)
        return
    if not moved:
        output.say(f"executor {address} holds none of {', '.join(s for s, _ in tokens)}")
    for row in moved:
        output.say(f"withdrew {row['amount']} {row['symbol']} to {target} (tx {row['tx_hash']})")


for _command in (deploy, status, withdraw):
    _command.__doc__ = f"{_command.__doc__}\n\n    {EXIT_HELP}\n"


# --- inputs -----------------------------------------------------------------------------------
def _config_or_exit(path: Path | None, as_json: bool, deploying: bool = False) -> Config:
    from arbctl.evm_config import EvmConfigRefused, load_evm_config

    given = options.require_config(path, as_json)
    try:
        return load_evm_config(given.expanduser(), ("evm.executor",) if deploying else ())
    except EvmConfigRefused as exc:
        output.fail(str(exc), exitcodes.USAGE, as_json)


def _connect_or_exit(loaded: Config, rpc_url: str | None, as_json: bool) -> tuple[Any, str]:
    from engine.execution.operator_rpc import NoUsableEndpoint, connect, endpoint_urls

    try:
        return connect(endpoint_urls(loaded, rpc_url), loaded.evm.chain_id)
    except NoUsableEndpoint as exc:
        output.fail(str(exc), exitcodes.UNREACHABLE, as_json)


def _signer_or_exit(loaded: Config, as_json: bool) -> Signer:
    from engine.execution.signer import KeyLoadError, load_signer

    try:
        return load_signer(loaded.evm)
    except KeyLoadError as exc:  # names the file or variable, never the key
        output.fail(f"cannot load the signing key: {exc}", exitcodes.USAGE, as_json)


def _key_address(loaded: Config) -> str | None:
    from engine.execution.signer import KeyLoadError, load_signer

    try:
        return load_signer(loaded.evm).address
    except KeyLoadError:
        return None


def _lender_urls(loaded: Config) -> list[tuple[str, str]]:
    """(scheme, checksummed address) of every liquidity source that names a contract."""
    from urllib.parse import urlsplit

    from eth_utils import is_address, to_checksum_address

    found: list[tuple[str, str]] = []
    for provider in loaded.providers:
        if provider.kind != "liquidity":
            continue
        parts = urlsplit(provider.url)
        host = parts.hostname or ""
        if parts.scheme in ("uniswap-v3", "balancer-v2", "aave-v3") and is_address(host):
            found.append((parts.scheme, to_checksum_address(host)))
    return found


def _plan_or_exit(w3: Any, loaded: Config, as_json: bool) -> Any:
    from eth_utils import to_checksum_address

    from engine.devnet import executor as admin

    factories = tuple(f.address for f in loaded.evm.factories)
    # every V3 factory the engine trades on or borrows from: a V3 hop's callback is paid
    # only to a pool at the address its factory and Uniswap's init code hash give
    v3 = [admin.V3Factory(to_checksum_address(f.address)) for f in loaded.evm.v3_factories]
    lenders: list[str] = []
    try:
        for pool in loaded.evm.v3_pools:
            if (factory := admin.v3_factory_of_pool(w3, pool)) not in v3:
                v3.append(factory)
        for scheme, address in _lender_urls(loaded):
            if scheme == "uniswap-v3":
                factory = admin.v3_factory_of_pool(w3, address)
                if factory not in v3:
                    v3.append(factory)
            elif address not in lenders:
                lenders.append(address)
    except Exception as exc:
        output.fail(*_failure(exc), as_json)
    return admin.ExecutorPlan(factories, tuple(v3), tuple(lenders))


def _tokens_or_exit(loaded: Config, token: str | None, as_json: bool) -> list[tuple[str, str]]:
    known = [(t.symbol, t.address) for t in loaded.evm.tokens]
    if token is None:
        return known
    for symbol, address in known:
        if token == symbol or token.lower() == address.lower():
            return [(symbol, address)]
    if token.startswith("0x"):
        return [(token, _address_or_exit(token, "TOKEN", as_json))]
    symbols = ", ".join(s for s, _ in known)
    output.fail(f"unknown token {token!r}: not in evm.tokens ({symbols})", exitcodes.USAGE, as_json)


def _address_or_exit(text: str | None, what: str, as_json: bool) -> str:
    from eth_utils import is_checksum_address, is_hex_address, to_checksum_address

    candidate = (text or "").strip()
    if not candidate.startswith("0x") or not is_hex_address(candidate):
        output.fail(f"{what} {candidate!r} is not an address", exitcodes.USAGE, as_json)
    digits = candidate[2:]
    mixed = digits not in (digits.lower(), digits.upper())
    if mixed and not is_checksum_address(candidate):
        output.fail(
            f"{what} {candidate} fails its EIP-55 checksum: a typo?", exitcodes.USAGE, as_json
        )
    if int(candidate, 16) == 0:
        output.fail(f"{what} is the zero address", exitcodes.USAGE, as_json)
    return to_checksum_address(candidate)


def _failure(exc: Exception) -> tuple[str, int]:
    """(message, exit code) for what an executor operation raised: 3 when the node went
    away, 1 when it answered no; anything else is a bug and keeps its traceback."""
    from engine.devnet import executor as admin

    down = exc if isinstance(exc, admin.ChainUnreachable) else admin.node_failure(exc)
    if down is not None:
        return str(down), exitcodes.UNREACHABLE
    if isinstance(exc, admin.ExecutorAdminError):
        return str(exc), exitcodes.FAILED
    raise exc


def _tip_wei(loaded: Config) -> int:
    return max(1, round(loaded.evm.max_priority_fee_gwei * 10**9))


# --- audit --------------------------------------------------------------------------------------
def _state_dir(loaded: Config, option: Path | None) -> Path:
    from engine import protocol

    if option is not None:
        return option
    return (
        Path(loaded.engine.state_dir) if loaded.engine.state_dir else protocol.default_state_dir()
    )


def _audit_start(
    loaded: Config,
    config: Path | None,
    state_dir: Path | None,
    action: str,
    reason: str,
    params: dict[str, Any],
    as_json: bool,
) -> tuple[Config, Path]:
    """Record the intent; refuse (exit 1, nothing sent) if the audit log cannot take it."""
    where = (loaded, _state_dir(loaded, state_dir))
    problem = _append_audit(where, action, reason, params, "started")
    if problem is not None:
        output.fail(
            f"not sent: cannot write the audit log ({problem}); nothing was changed",
            exitcodes.FAILED,
            as_json,
        )
    return where


def _audit_end(
    where: tuple[Config, Path], action: str, reason: str, params: dict[str, Any], outcome: str
) -> None:
    problem = _append_audit(where, action, reason, params, outcome)
    if problem is not None:
        output.note(f"arbctl: WARNING: the {outcome} outcome was not audited: {problem}")


def _append_audit(
    where: tuple[Config, Path], action: str, reason: str, params: dict[str, Any], outcome: str
) -> str | None:
    import asyncio
    import time

    from engine.ledger.errors import LedgerError
    from engine.ledger.factory import open_store
    from engine.ledger.records import AuditEntry

    loaded, state = where
    entry = AuditEntry(time.time(), os.getuid(), CLIENT_NAME, action, reason, params, outcome)

    async def append() -> None:
        state.mkdir(parents=True, exist_ok=True, mode=0o700)
        store = await open_store(loaded.ledger, state)
        try:
            await store.append_audit(entry)
        finally:
            await store.close()

    try:
        asyncio.run(append())
    except (LedgerError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


# --- results --------------------------------------------------------------------------------------
def _write_address(
    config: Path | None, loaded: Config, address: str, as_json: bool
) -> dict[str, Any]:
    from arbctl.wallet.config_edit import ConfigEditError, set_evm_string

    assert config is not None
    previous = loaded.evm.executor or None
    try:
        backup = set_evm_string(config.expanduser(), "executor", address)
    except (ConfigEditError, OSError) as exc:
        _note(f"deployed at {address}, but the config was not changed: {exc}", as_json)
        return {"config": str(config), "config_backup": None, "previous_executor": previous}
    return {"config": str(config), "config_backup": str(backup), "previous_executor": previous}


def _deploy_rehearsal(
    w3: Any, owner: str, plan: Any, loaded: Config, base: dict[str, Any], as_json: bool
) -> None:
    from engine.devnet import executor as admin

    try:
        rehearsal = admin.rehearse(w3, owner, plan, _tip_wei(loaded))
    except Exception as exc:
        output.fail(*_failure(exc), as_json)
    document = {**base, "dry_run": True, "rehearsal": rehearsal.to_dict()}
    if as_json:
        output.emit_json(document)
        return
    r = rehearsal.to_dict()
    output.say(f"DRY RUN on chain {base['chain_id']}: nothing sent (--yes to deploy)")
    _field("owner", owner)
    _field("code hash", r["code_hash"])
    _field("gas", f"{r['creation_gas']:,} + {r['follow_up_transactions']} allow transactions")
    _field("max cost", f"{r['creation_cost_max_wei']:,} wei")
    _field("balance", f"{r['balance_wei']:,} wei")
    _print_plan(base["plan"])


def _print_withdraw_rehearsal(document: dict[str, Any], chain_id: int, as_json: bool) -> None:
    if as_json:
        output.emit_json(document)
        return
    output.say(f"DRY RUN on chain {chain_id}: nothing sent (--yes to withdraw)")
    for symbol, amount in document["would_withdraw"].items():
        output.say(f"  would withdraw {amount} {symbol} to {document['to']}")


def _print_deployed(document: dict[str, Any], as_json: bool) -> None:
    if as_json:
        output.emit_json(document)
        return
    executor = document["executor"]
    output.say(f"[bold green]ArbExecutor deployed[/] at {executor['address']}")
    _field("owner", executor["owner"])
    _field("code hash", executor["code_hash"])
    _field("verified", "code hash, owner and allowlist read back from the chain")
    _field("gas", f"{executor['gas_used']:,} in {len(executor['transactions'])} transactions")
    _print_plan(document["plan"])
    if document.get("config_backup"):
        _field("config", f"evm.executor set in {document['config']}")
        _field("backup", document["config_backup"])


def _print_plan(plan: dict[str, Any]) -> None:
    for factory in plan["factories"]:
        _field("factory", factory)
    for factory in plan["v3_factories"]:
        _field("v3 factory", factory["address"])
    for lender in plan["lenders"]:
        _field("lender", lender)


def _print_status(document: dict[str, Any], loaded: Config) -> None:
    from engine import units

    decimals = {t.symbol: t.decimals for t in loaded.evm.tokens}
    build = {True: "this build", False: "NOT this build", None: "unknown (no compiler)"}
    output.say(f"executor {document['address']} on chain {document['chain_id']}")
    _field("owner", document["owner"])
    if not document["key_is_owner"]:
        _field("", "[red]not the configured key: withdraw and trading would revert[/]", True)
    _field("code hash", document["code_hash"])
    _field("build", build[document["code_matches_build"]])
    _field("paused", "[red]yes[/]" if document["paused"] else "no", True)
    for factory in document["factories"]:
        _field("factory", factory)
    for factory in document["v3_factories"]:
        _field("v3 factory", factory["address"])
    for lender, allowed in document["lenders"].items():
        _field("lender", f"{lender} {'allowed' if allowed else '[red]NOT allowed[/]'}", True)
    for symbol, amount in document["balances"].items():
        _field("balance", f"{units.human(amount, decimals.get(symbol, 0))} {symbol}")


def _field(label: str, value: str, markup: bool = False) -> None:
    """One `  label       value` line: an address or a hash stays whole in 80 columns."""
    output.say(f"  {label:<11}{value if markup else output.esc(value)}")


def _note(line: str, as_json: bool) -> None:
    """Progress on stderr whatever `as_json` (stdout stays one document)."""
    output.note(f"arbctl: {line}")
