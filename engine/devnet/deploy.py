"""Deploy the devnet world to a running anvil.

WETH9, four of our TestTokens (one a 6-decimal stable coin), two Uniswap V2 deployments
from the npm bytecode ("uniswap" and "sushiswap": same code, different addresses), pairs
seeded with liquidity at slightly different prices on the two dexes so arbitrage exists
from the first block, and our ArbExecutor owned by a fresh operator key.

Prices and depths are fixed (not random) so a fresh devnet always offers the same
opportunities; the noise trader is what makes them move.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from web3 import Web3
from web3.contract import Contract

from engine.devnet import artifacts, compile, operator_files
from engine.devnet.anvil import CHAIN_ID
from engine.devnet.chain import anvil_call, connect, deploy, transact
from engine.devnet.errors import DevnetError
from engine.devnet.market_spec import (
    DEADLINE,
    DEX_NAMES,
    FEE_BPS,
    PAIRS,
    TEST_TOKENS,
    WETH,
    PairSpec,
    TokenSpec,
    base_units,
    token_spec,
)
from engine.devnet.npm import ensure_installed
from engine.devnet.world import DexRecord, PairRecord, TokenRecord, World

Progress = Callable[[str], None]


DEPLOYER_ETH = 10**6 * 10**18  # plenty for WETH liquidity, whatever anvil's default
OPERATOR_ETH = 1_000 * 10**18  # gas money
TEST_TOKEN_SUPPLY_USD = 10**9  # minted to the deployer per token


class DeployError(DevnetError):
    """The world could not be deployed consistently."""


def deploy_world(
    rpc_url: str,
    state: Path,
    progress: Progress = lambda _line: None,
    root: Path | None = None,
) -> World:
    """Deploy everything, write the config and key file into `state`, return the record."""
    root = ensure_installed(root, progress)
    w3 = connect(rpc_url)
    if w3.eth.chain_id != CHAIN_ID:
        raise DeployError(f"{rpc_url} is chain {w3.eth.chain_id}, not the devnet ({CHAIN_ID})")
    deployer = w3.eth.accounts[0]
    anvil_call(w3, "anvil_setBalance", deployer, hex(DEPLOYER_ETH))

    router_artifact, router_bytecode = artifacts.router_for_pair_code(root)
    if router_bytecode == "patched":
        progress("arbctl: Router02's pair init code hash differs from the pair bytecode; patched")
    ours = compile.compile_contracts(root)

    progress("arbctl: deploying tokens…")
    tokens = _deploy_tokens(w3, deployer, ours["TestToken"], root)
    progress("arbctl: deploying uniswap and sushiswap…")
    dexes = [
        _deploy_dex(w3, deployer, name, tokens["WETH"], router_artifact, root) for name in DEX_NAMES
    ]
    progress("arbctl: adding liquidity…")
    pairs = _seed_pairs(w3, deployer, tokens, dexes, root)

    key_file, operator = operator_files.create_key_file(state)
    anvil_call(w3, "anvil_setBalance", operator, hex(OPERATOR_ETH))
    executor = deploy(w3, ours["ArbExecutor"], deployer, operator, [d.factory for d in dexes])
    world = World(
        chain_id=CHAIN_ID,
        rpc_url=rpc_url,
        deployer=deployer,
        operator=operator,
        executor=executor.address,
        weth=tokens["WETH"].address,
        tokens=[_token_record(spec, tokens[spec.symbol]) for spec in (WETH, *TEST_TOKENS)],
        dexes=dexes,
        pairs=pairs,
        pair_init_code_hash=artifacts.pair_init_code_hash(root),
        router_bytecode=router_bytecode,
        key_file=str(key_file),
    )
    world.config_file = str(operator_files.write_config(state, world))
    return world


def _token_record(spec: TokenSpec, token: Contract) -> TokenRecord:
    return TokenRecord(symbol=spec.symbol, address=token.address, decimals=spec.decimals)


def _deploy_tokens(
    w3: Web3, deployer: str, test_token: artifacts.Artifact, root: Path
) -> dict[str, Contract]:
    tokens = {"WETH": deploy(w3, artifacts.load(artifacts.WETH9, root), deployer)}
    for spec in TEST_TOKENS:
        supply = base_units(spec, TEST_TOKEN_SUPPLY_USD)
        tokens[spec.symbol] = deploy(
            w3, test_token, deployer, spec.name, spec.symbol, spec.decimals, supply
        )
    weth_needed = sum(
        base_units(WETH, pair.depth_usd) * 2 for pair in PAIRS if "WETH" in (pair.base, pair.quote)
    )
    # This WETH9 build has no payable fallback: plain ETH transfers to it revert.
    transact(tokens["WETH"].functions.deposit(), deployer, value=weth_needed)
    return tokens


def _deploy_dex(
    w3: Web3, deployer: str, name: str, weth: Contract, router: artifacts.Artifact, root: Path
) -> DexRecord:
    factory = deploy(w3, artifacts.load(artifacts.FACTORY, root), deployer, deployer)
    router_contract = deploy(w3, router, deployer, factory.address, weth.address)
    return DexRecord(
        name=name, factory=factory.address, router=router_contract.address, fee_bps=FEE_BPS
    )


def _seed_pairs(
    w3: Web3, deployer: str, tokens: dict[str, Contract], dexes: list[DexRecord], root: Path
) -> list[PairRecord]:
    router_abi = artifacts.load(artifacts.ROUTER02, root).abi
    factory_abi = artifacts.load(artifacts.FACTORY, root).abi
    for dex in dexes:
        for token in tokens.values():
            transact(token.functions.approve(dex.router, 2**256 - 1), deployer)
    records = []
    for dex in dexes:
        router = w3.eth.contract(address=Web3.to_checksum_address(dex.router), abi=router_abi)
        factory = w3.eth.contract(address=Web3.to_checksum_address(dex.factory), abi=factory_abi)
        for spec in PAIRS:
            amount_base, amount_quote = _pool_amounts(spec, dex.name)
            base, quote = tokens[spec.base].address, tokens[spec.quote].address
            call = router.functions.addLiquidity(
                base, quote, amount_base, amount_quote, 0, 0, deployer, DEADLINE
            )
            transact(call, deployer)
            records.append(_pair_record(dex, factory, spec, base, quote, root))
    return records


def _pool_amounts(spec: PairSpec, dex: str) -> tuple[int, int]:
    depth = spec.depth_usd if dex == "uniswap" else spec.depth_usd // 2
    amount_base = base_units(token_spec(spec.base), depth)
    amount_quote = base_units(token_spec(spec.quote), depth)
    if dex != "uniswap":
        amount_quote = amount_quote * (10_000 + spec.sushi_skew_bps) // 10_000
    return amount_base, amount_quote


def _pair_record(
    dex: DexRecord, factory: Contract, spec: PairSpec, base: str, quote: str, root: Path
) -> PairRecord:
    """Record the pair, after checking the factory put it where Router02 will look for it."""
    address = factory.functions.getPair(base, quote).call()
    # The factory CREATE2s the pair code embedded in its own bytecode, which need not be
    # byte-identical to UniswapV2Pair.json; the router (patched or not) uses the latter's hash.
    expected = _create2_pair_address(dex.factory, base, quote, artifacts.pair_init_code_hash(root))
    if address != expected:
        raise DeployError(
            f"{dex.name} created the {spec.base}/{spec.quote} pair at {address} but Router02 "
            f"computes {expected}: the factory's pair code differs from UniswapV2Pair.json"
        )
    token0, token1 = sorted((base, quote), key=lambda a: int(a, 16))
    symbols = (spec.base, spec.quote) if token0 == base else (spec.quote, spec.base)
    return PairRecord(dex=dex.name, address=address, token0=token0, token1=token1, symbols=symbols)


def _create2_pair_address(factory: str, token_a: str, token_b: str, init_code_hash: str) -> str:
    """UniswapV2Library.pairFor, in Python."""
    token0, token1 = sorted((token_a, token_b), key=lambda a: int(a, 16))
    salt = Web3.solidity_keccak(["address", "address"], [token0, token1])
    digest = Web3.keccak(
        b"\xff" + bytes.fromhex(factory[2:]) + salt + bytes.fromhex(init_code_hash)
    )
    return Web3.to_checksum_address(digest[12:])
