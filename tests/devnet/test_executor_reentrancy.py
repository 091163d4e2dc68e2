"""Re-entrancy through a malicious token: the attacker's ERC-20 calls back into the executor
from inside every transfer of our own run, and every call is refused.

The token (tests/devnet/contracts/ReentrantToken.sol, compiled with the project's offline
solc) is a working ERC-20 an attacker lists on the devnet's real Uniswap V2 factories —
anyone may create a pair there, so the executor trusts those pairs — priced so that a
WETH → EVIL → WETH cycle pays. When the owner runs it, each transfer of EVIL (the pair
paying the executor, the executor paying the next pair) calls the executor with
`run`, `withdraw`, and every callback, while the executor's lock is held and the
lender's address recorded as the expected caller. None may succeed, and the run must
still pay the owner what it predicts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from eth_abi import decode
from web3 import Web3
from web3.contract import Contract

from engine.devnet import artifacts, compile
from engine.devnet.chain import send_signed, transact
from engine.devnet.market_spec import DEADLINE
from engine.devnet.world import World

pytestmark = [pytest.mark.devnet, pytest.mark.usefixtures("clean_chain")]

E18 = 10**18
HOP_V2 = 0
LOANS = {"inventory": 0, "balancer-v2": 2, "aave-v3": 3}
CONTRACTS = Path(__file__).parent / "contracts"


def evil_token(w3: Web3, world: World, npm_root: Path) -> Contract:
    built = compile.compile_files(CONTRACTS, ("ReentrantToken.sol",), npm_root)["ReentrantToken"]
    factory = w3.eth.contract(abi=built.abi, bytecode=built.bytecode_hex)
    receipt = w3.eth.wait_for_transaction_receipt(
        factory.constructor(10**9 * E18).transact({"from": world.deployer})
    )
    return w3.eth.contract(address=receipt["contractAddress"], abi=built.abi)


def list_evil(w3: Web3, world: World, evil: Contract) -> tuple[str, str]:
    """EVIL/WETH on both dexes: 1,100 EVIL per WETH on uniswap, 1,000 on sushiswap."""
    router_abi = artifacts.load(artifacts.ROUTER02).abi
    pairs = []
    weth = world.weth
    weth_token = w3.eth.contract(address=weth, abi=artifacts.load(artifacts.WETH9).abi)
    transact(weth_token.functions.deposit(), world.deployer, value=200 * E18)
    for dex, evil_amount in (("uniswap", 110_000 * E18), ("sushiswap", 100_000 * E18)):
        router = w3.eth.contract(address=world.dex(dex).router, abi=router_abi)
        transact(evil.functions.approve(router.address, 2**256 - 1), world.deployer)
        transact(weth_token.functions.approve(router.address, 2**256 - 1), world.deployer)
        add = router.functions.addLiquidity(
            evil.address, weth, evil_amount, 100 * E18, 0, 0, world.deployer, DEADLINE
        )
        transact(add, world.deployer)
        factory = w3.eth.contract(
            address=world.dex(dex).factory, abi=artifacts.load(artifacts.FACTORY).abi
        )
        pairs.append(factory.functions.getPair(evil.address, weth).call())
    return pairs[0], pairs[1]


def attacks(executor: Contract, world: World, hops: list[list[object]], thief: str) -> list[bytes]:
    weth = world.weth
    payload = Web3.to_bytes(hexstr=executor.encode_abi("withdraw", args=[weth, thief]))
    calls = [
        ("run", [hops, weth, E18, 0, 0, world.deployer]),
        ("withdraw", [weth, thief]),
        ("uniswapV2Call", [executor.address, E18, 0, payload]),
        ("uniswapV3SwapCallback", [E18, 0, Web3.to_bytes(hexstr="0x" + weth[2:].rjust(64, "0"))]),
        ("uniswapV3FlashCallback", [0, 0, payload]),
        ("receiveFlashLoan", [[weth], [E18], [0], payload]),
        ("executeOperation", [weth, E18, 0, executor.address, payload]),
        ("setPaused", [True]),
    ]
    return [Web3.to_bytes(hexstr=executor.encode_abi(name, args=args)) for name, args in calls]


def reason(answer: bytes) -> str:
    if answer[:4] == bytes.fromhex("08c379a0"):
        return str(decode(["string"], answer[4:])[0])
    return answer.hex() or "(empty revert)"


@pytest.mark.parametrize("loan", list(LOANS))
def test_a_malicious_tokens_callbacks_from_inside_our_run_are_all_refused(
    w3: Web3,
    world: World,
    executor: Contract,
    operator_key: bytes,
    npm_root: Path,
    traders: list[str],
    erc20: Callable[[str], Contract],
    loan: str,
) -> None:
    evil = evil_token(w3, world, npm_root)
    uni, sushi = list_evil(w3, world, evil)
    weth = world.weth
    hops: list[list[object]] = [[HOP_V2, uni, evil.address, 30], [HOP_V2, sushi, weth, 30]]
    lender = world.lender(loan).address if loan != "inventory" else world.deployer
    if loan == "inventory":
        transact(erc20(weth).functions.transfer(executor.address, E18), world.deployer)
    transact(
        evil.functions.arm(executor.address, attacks(executor, world, hops, traders[0])), traders[0]
    )
    call = executor.functions.run(hops, weth, E18, 1, LOANS[loan], lender)
    before = erc20(weth).functions.balanceOf(world.operator).call()

    send_signed(call, operator_key)

    assert evil.functions.attempts().call() >= 2 * 8, "both EVIL transfers attacked"
    assert evil.functions.successes().call() == 0
    answers = [reason(bytes(r)) for r in evil.functions.reverts().call()]
    assert set(answers) == {
        "ArbExecutor: caller is not the owner",
        "ArbExecutor: caller is not a known pair",
        "ArbExecutor: unexpected callback",
    }, answers
    assert erc20(weth).functions.balanceOf(world.operator).call() > before, "the run still paid"
    assert not executor.functions.paused().call()
    assert erc20(weth).functions.balanceOf(traders[0]).call() == 0
    assert evil.functions.balanceOf(executor.address).call() == 0
    held = erc20(weth).functions.balanceOf(executor.address).call()
    assert held == (E18 if loan == "inventory" else 0), "the inventory is back, whole"
    assert erc20(weth).functions.allowance(executor.address, lender).call() == 0
