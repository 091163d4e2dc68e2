"""Deploy the devnet world to a running anvil.

WETH9, four of our TestTokens (one a 6-decimal stable coin), two Uniswap V2 deployments
from the npm bytecode ("uniswap" and "sushiswap": same code, different addresses), pairs
seeded with liquidity at slightly different prices on the two dexes so arbitrage exists
from the first block, Uniswap V3 (factory, position manager, router, QuoterV2 from the
npm artifacts) with pools in several fee tiers priced apart from V2 and liquidity over
several tick ranges each, and our ArbExecutor owned by a fresh operator key.

Prices and depths are fixed (not random) so a fresh devnet always offers the same
opportunities; the noise trader is what makes them move.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from web3 import Web3
from web3.contract import Contract

from engine.devnet import artifacts, compile, lenders, operator_files, v3
from engine.devnet import executor as executor_admin
from engine.devnet.anvil import CHAIN_ID
from engine.devnet.chain import anvil_call, connect, deploy, transact
from engine.devnet.errors import DevnetError
from engine.devnet.market_spec import (
    AAVE_TOKENS,
    BALANCER_TOKENS,
    DEADLINE,
    DEX_NAMES,
    FEE_BPS,
    LENDER_FUNDS_USD,
    PAIRS,
    TEST_TOKENS,
    V3_DEX,
    V3_POOLS,
    V3_POSITIONS,
    WETH,
    PairSpec,
    TokenSpec,
    V3PoolSpec,
    base_units,
    token_spec,
)
from engine.devnet.npm import ensure_installed
from engine.devnet.world import (
    DexRecord,
    LenderRecord,
    PairRecord,
    TokenRecord,
    V3DexRecord,
    V3PoolRecord,
    World,
)
from engine.execution.signer import Signer

Progress = Callable[[str], None]


DEPLOYER_ETH = 10**6 * 10**18  # plenty for WETH liquidity, whatever anvil's default
OPERATOR_ETH = 1_000 * 10**18  # gas money
OPERATOR_TIP_WEI = 10**9  # the operator deploys its executor itself, like on any chain
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
    progress("arbctl: deploying uniswap v3 and its positions…")
    v3_dex, v3_pools = _deploy_v3_market(w3, deployer, tokens, root)

    progress("arbctl: deploying the lenders (balancer v2 vault, aave v3 pool)…")
    lender_records = _deploy_lenders(w3, deployer, tokens, root)

    key_file, operator = operator_files.create_key_file(state)
    anvil_call(w3, "anvil_setBalance", operator, hex(OPERATOR_ETH))
    signer = Signer(operator_files.read_key(key_file))
    plan = executor_plan(dexes, v3_dex, lender_records, root)
    transactor = executor_admin.Transactor(w3, signer, OPERATOR_TIP_WEI)
    executor = executor_admin.deploy_executor(transactor, plan, progress, root)
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
        v3=v3_dex,
        v3_pools=v3_pools,
        lenders=lender_records,
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
    ) + sum(base_units(WETH, p.depth_usd) for p in V3_POOLS if "WETH" in (p.base, p.quote))
    weth_needed += base_units(WETH, LENDER_FUNDS_USD) * 2  # the Vault and the Aave pool
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


def _deploy_v3_market(
    w3: Web3, deployer: str, tokens: dict[str, Contract], root: Path
) -> tuple[V3DexRecord, list[V3PoolRecord]]:
    """The V3 factory and periphery, and the V3_POOLS with their positions."""
    dep = v3.deploy_v3(w3, deployer, tokens["WETH"].address, root)
    v3.approve_all(w3, deployer, [t.address for t in tokens.values()], [dep.positions.address])
    records = []
    for spec in V3_POOLS:
        base, quote = tokens[spec.base].address, tokens[spec.quote].address
        token0, token1 = sorted((base, quote), key=lambda a: int(a, 16))
        pool = v3.create_pool(
            dep, deployer, base, quote, spec.fee_pips, _v3_sqrt_price(spec, base == token0)
        )
        spacing = pool.functions.tickSpacing().call()
        tick = pool.functions.slot0().call()[1]
        for share, half_width in V3_POSITIONS:
            lower, upper = _v3_range(tick, spacing, half_width)
            amount_base = base_units(token_spec(spec.base), spec.depth_usd * share // 100)
            amount_quote = base_units(token_spec(spec.quote), spec.depth_usd * share // 100)
            amounts = (amount_base, amount_quote) if base == token0 else (amount_quote, amount_base)
            v3.mint_position(dep, deployer, pool, lower, upper, *amounts)
        symbols = (spec.base, spec.quote) if base == token0 else (spec.quote, spec.base)
        records.append(
            V3PoolRecord(V3_DEX, pool.address, token0, token1, symbols, spec.fee_pips, spacing)
        )
    dex = V3DexRecord(
        V3_DEX, dep.factory.address, dep.positions.address, dep.router.address, dep.quoter.address
    )
    return dex, records


def _v3_sqrt_price(spec: V3PoolSpec, base_is_token0: bool) -> int:
    """sqrtPriceX96 of token1 in token0 base units, from the specs' whole-dollar prices."""
    base, quote = token_spec(spec.base), token_spec(spec.quote)
    num = base.usd_price * 10**quote.decimals * (10_000 + spec.skew_bps)
    den = quote.usd_price * 10**base.decimals * 10_000
    if not base_is_token0:
        num, den = den, num
    return math.isqrt((num << 192) // den)


def _v3_range(tick: int, spacing: int, half_width: int | None) -> tuple[int, int]:
    if half_width is None:
        return -(887272 // spacing) * spacing, (887272 // spacing) * spacing
    lower = (tick - half_width) // spacing * spacing
    upper = -((-(tick + half_width)) // spacing) * spacing
    return lower, max(upper, lower + spacing)


def _deploy_lenders(
    w3: Web3, deployer: str, tokens: dict[str, Contract], root: Path
) -> list[LenderRecord]:
    """The Balancer V2 Vault and an Aave V3 market, funded to lend LENDER_FUNDS_USD of
    each of their tokens."""
    balancer = lenders.deploy_balancer(w3, deployer, tokens["WETH"].address, root)
    for symbol in BALANCER_TOKENS:
        amount = base_units(token_spec(symbol), LENDER_FUNDS_USD)
        transact(tokens[symbol].functions.transfer(balancer.vault.address, amount), deployer)
    aave = lenders.deploy_aave(w3, deployer, root)
    for symbol in AAVE_TOKENS:
        amount = base_units(token_spec(symbol), LENDER_FUNDS_USD)
        lenders.list_aave_reserve(w3, aave, deployer, tokens[symbol], amount, root)
    return [
        LenderRecord("balancer-v2", balancer.vault.address, BALANCER_TOKENS),
        LenderRecord("aave-v3", aave.pool.address, AAVE_TOKENS),
    ]


def executor_plan(
    dexes: list[DexRecord], v3_dex: V3DexRecord, lender_records: list[LenderRecord], root: Path
) -> executor_admin.ExecutorPlan:
    """The devnet's executor allows both V2 dexes, its V3 factory and both lenders."""
    init_hash = bytes.fromhex(artifacts.v3_pool_init_code_hash(root))
    return executor_admin.ExecutorPlan(
        factories=tuple(d.factory for d in dexes),
        v3_factories=(executor_admin.V3Factory(v3_dex.factory, init_hash),),
        lenders=tuple(lender.address for lender in lender_records),
    )
