"""The few contract calls and events the evm venue speaks, encoded with eth_abi.

`calldata` (selector + eth_abi) is the one encoder of contract calls: the venue, the
wallet commands and the devnet tooling all use it, and it lives here, in the product,
so nothing the engine ships depends on the devnet. The hot paths (Sync logs, reserves,
balances) decode fixed-layout words by hand, which is all they are.
"""

from __future__ import annotations

from typing import Any

from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector, keccak

# keccak256 of the event signatures
SYNC_TOPIC = (
    "0x1c411e9a96e071241c2f21f7726b17ae89e3cab4c78be50e062b03a9fffbbad1"  # Sync(uint112,uint112)
)
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
EXECUTED_TOPIC = "0x9d3143df72a22f3dea2e5172436c8d5eed763f17bef7a640c55666bdf8a8ad92"
# Ran(address indexed tokenIn, uint256 amountIn, uint256 profit, uint256 hops, uint8 loan,
# address lender): the general `run` entry; profit is the second data word, as in Executed.
RAN_TOPIC = "0x" + keccak(text="Ran(address,uint256,uint256,uint256,uint8,address)").hex()
PROFIT_TOPICS = (EXECUTED_TOPIC, RAN_TOPIC)


def calldata(signature: str, args: tuple[Any, ...]) -> str:
    """0x-hex selector and ABI-encoded arguments for a canonical signature."""
    types = _split_types(signature[signature.index("(") + 1 : -1])
    selector = function_signature_to_4byte_selector(signature)
    return "0x" + (selector + encode(types, list(args))).hex()


def _split_types(inputs: str) -> list[str]:
    """Top-level comma split; a parenthesised tuple (a struct argument) stays one type."""
    types: list[str] = []
    depth, start = 0, 0
    for index, char in enumerate(inputs):
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            types.append(inputs[start:index])
            start = index + 1
    types.append(inputs[start:])
    return [part for part in types if part]


GET_RESERVES = calldata("getReserves()", ())
TOKEN0 = calldata("token0()", ())
TOKEN1 = calldata("token1()", ())
FACTORY = calldata("factory()", ())
ALL_PAIRS_LENGTH = calldata("allPairsLength()", ())
OWNER = calldata("owner()", ())

_ERROR_SELECTOR = "08c379a0"  # Error(string)
_PANIC_SELECTOR = "4e487b71"  # Panic(uint256)


def eth_call(to: str, data: str, block: str | int = "latest") -> tuple[str, list[Any]]:
    """An `eth_call` request for a batch; `block` is a tag or a number."""
    tag = hex(block) if isinstance(block, int) else block
    return "eth_call", [{"to": to, "data": data}, tag]


def all_pairs(index: int) -> str:
    return calldata("allPairs(uint256)", (index,))


def balance_of(holder: str) -> str:
    return calldata("balanceOf(address)", (holder,))


def execute(pairs: list[str], token_in: str, amount_in: int, min_profit: int) -> str:
    """Calldata of `ArbExecutor.execute(pairs, tokenIn, amountIn, minProfit)`."""
    return calldata(
        "execute(address[],address,uint256,uint256)", (pairs, token_in, amount_in, min_profit)
    )


RUN = "run((uint8,address,address,uint16)[],address,uint256,uint256,uint8,address)"
RUN_SELECTOR = calldata(RUN, ([], "0x" + "0" * 40, 0, 0, 0, "0x" + "0" * 40))[:10]
HOP_V2 = 0
HOP_V3 = 1
HOP_KINDS = {"v2": HOP_V2, "v3": HOP_V3}
LOAN_CODES = {"inventory": 0, "uniswap-v3": 1, "balancer-v2": 2, "aave-v3": 3}


def run(
    hops: list[tuple[str, str, str, int]],
    token_in: str,
    amount_in: int,
    min_profit: int,
    loan: str,
    lender: str,
) -> str:
    """Calldata of `ArbExecutor.run`: hops as (kind "v2"/"v3", pool, token out, fee bps;
    the fee is a V2 pair's, a V3 hop's is 0: the pool charges its own tier), the input
    from `loan` ("inventory", "uniswap-v3", "balancer-v2", "aave-v3") at `lender`, and
    `min_profit` over the input plus the lender's fee (the contract adds the fee). A V3
    hop swaps exact input with the loosest price limit (the contract's own; the floor on
    the route's output is the slippage bound)."""
    encoded = [
        (HOP_KINDS[kind], pool, token_out, fee if kind == "v2" else 0)
        for kind, pool, token_out, fee in hops
    ]
    empty = "0x" + "0" * 40
    return calldata(
        RUN, (encoded, token_in, amount_in, min_profit, LOAN_CODES[loan], lender or empty)
    )


def decode_run(data: str) -> tuple[list[str], str, int, int] | None:
    """(pools, tokenIn, amountIn, minProfit) of `run` calldata; None if it is not one."""
    decoded = decode_run_hops(data)
    if decoded is None:
        return None
    hops, token_in, amount_in, min_profit = decoded
    return [pool for _kind, pool in hops], token_in, amount_in, min_profit


def decode_run_hops(data: str) -> tuple[list[tuple[str, str]], str, int, int] | None:
    """([(kind, pool)], tokenIn, amountIn, minProfit) of `run` calldata; None if it is
    not one (or names a hop kind the engine does not make)."""
    if not data.startswith(RUN_SELECTOR):
        return None
    try:
        hops, token_in, amount_in, min_profit, _loan, _lender = decode(
            [
                "(uint8,address,address,uint16)[]",
                "address",
                "uint256",
                "uint256",
                "uint8",
                "address",
            ],
            bytes.fromhex(data[10:]),
        )
    except Exception:  # not well-formed: not a call the engine made
        return None
    kinds = {code: kind for kind, code in HOP_KINDS.items()}
    if any(hop[0] not in kinds for hop in hops):
        return None
    return [(kinds[hop[0]], str(hop[1])) for hop in hops], str(token_in), amount_in, min_profit


_EXECUTE_EMPTY = calldata("execute(address[],address,uint256,uint256)", ([], "0x" + "0" * 40, 0, 0))
EXECUTE_SELECTOR = _EXECUTE_EMPTY[:10]


def decode_execute(data: str) -> tuple[list[str], str, int, int] | None:
    """(pairs, tokenIn, amountIn, minProfit) of `execute` calldata; None if it is not one."""
    if not data.startswith(EXECUTE_SELECTOR):
        return None
    try:
        body = bytes.fromhex(data[10:])
        pairs, token_in, amount_in, min_profit = decode(
            ["address[]", "address", "uint256", "uint256"], body
        )
    except Exception:  # not well-formed: not a call the engine made
        return None
    return [str(p) for p in pairs], str(token_in), int(amount_in), int(min_profit)


def word(data: str, index: int = 0) -> int:
    """The `index`-th 32-byte word of 0x-hex return data, as an int."""
    start = 2 + 64 * index
    return int(data[start : start + 64] or "0", 16)


def address_word(data: str, index: int = 0) -> str:
    """An address returned in a word (lower case)."""
    start = 2 + 64 * index
    return "0x" + data[start + 24 : start + 64]


def reserves(data: str) -> tuple[int, int]:
    """getReserves() return data, or a Sync log's data: (reserve0, reserve1)."""
    return word(data, 0), word(data, 1)


def topic_address(topic: str) -> str:
    return "0x" + topic[-40:].lower()


def revert_reason(data: Any, message: str = "") -> str:
    """What a revert said: Error(string), Panic(code), or the node's own message."""
    if isinstance(data, dict):  # some nodes nest it: {"data": "0x..."}
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
        selector, body = data[2:10], bytes.fromhex(data[10:])
        try:
            if selector == _ERROR_SELECTOR:
                return str(decode(["string"], body)[0])
            if selector == _PANIC_SELECTOR:
                return f"panic 0x{decode(['uint256'], body)[0]:02x}"
        except Exception:  # malformed revert data: fall back on the node's message
            pass
    text = message.removeprefix("execution reverted: ").removeprefix("execution reverted")
    return text.strip() or "reverted without a reason"
