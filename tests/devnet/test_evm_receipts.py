"""Receipt decoding (engine/market/evm/receipts.py) on receipts as a node returns them:
what a transaction moved for the wallet, and the profit the executor reported."""

from __future__ import annotations

from typing import Any

from engine.market.evm import abi
from engine.market.evm.receipts import executed_profit, transfer_delta

OWNER = "0x" + "aa" * 20
OTHER = "0x" + "bb" * 20
TOKEN = "0x" + "cc" * 20
EXECUTOR = "0x" + "dd" * 20


def topic(address: str) -> str:
    return "0x" + "00" * 12 + address[2:]


def words(*values: int) -> str:
    return "0x" + "".join(f"{v:064x}" for v in values)


def transfer(token: str, source: str, target: str, amount: int) -> dict[str, Any]:
    topics = [abi.TRANSFER_TOPIC, topic(source), topic(target)]
    return {"address": token, "topics": topics, "data": words(amount)}


def test_the_wallets_token_delta_is_what_its_transfer_logs_moved_in_and_out() -> None:
    receipt = {
        "logs": [
            transfer(TOKEN, OWNER, OTHER, 1_000),
            transfer(TOKEN, OTHER, OWNER, 1_250),
            transfer(TOKEN.upper(), OTHER, OWNER, 5),  # any case
            transfer("0x" + "ee" * 20, OTHER, OWNER, 99),  # another token
            transfer(TOKEN, OTHER, "0x" + "ff" * 20, 77),  # not ours
            {"address": TOKEN, "topics": [abi.TRANSFER_TOPIC], "data": words(3)},  # malformed
        ]
    }
    assert transfer_delta(receipt, TOKEN, OWNER.upper()) == 255


def test_a_receipt_without_logs_moved_nothing() -> None:
    assert transfer_delta({"logs": None}, TOKEN, OWNER) == 0
    assert transfer_delta({}, TOKEN, OWNER) == 0


def test_the_profit_is_the_second_word_of_our_executors_executed_event() -> None:
    executed = {"address": EXECUTOR, "topics": [abi.EXECUTED_TOPIC], "data": words(10, 42, 2)}
    elsewhere = {**executed, "address": OTHER, "data": words(10, 7, 2)}
    assert executed_profit({"logs": [elsewhere, executed]}, EXECUTOR.upper()) == 42
    assert executed_profit({"logs": [elsewhere]}, EXECUTOR) is None
    assert executed_profit({"logs": []}, EXECUTOR) is None
