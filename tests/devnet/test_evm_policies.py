"""The evm venue's policies: nonces (local allocation, refusals reused, the node's count
wins) and EIP-1559 fees (what we bid, how a replacement outbids).

Pure logic (no chain needed); kept with the evm tests it specifies.
"""

from __future__ import annotations

import pytest

from engine.market.evm.fees import GWEI, FeePolicy
from engine.market.evm.nonces import NonceBook

pytestmark = pytest.mark.devnet


def test_nonces_are_handed_out_in_order_without_asking_the_node() -> None:
    book = NonceBook(7)

    assert [book.take(), book.take(), book.take()] == [7, 8, 9]


def test_a_refused_nonce_is_reused_first_so_no_gap_stalls_later_ones() -> None:
    book = NonceBook(0)
    taken = [book.take() for _ in range(3)]  # 0, 1, 2 in flight

    book.release(taken[1])

    assert book.take() == 1
    assert book.take() == 3


def test_the_last_nonce_refused_simply_rolls_back() -> None:
    book = NonceBook(5)
    book.take()

    book.release(5)

    assert book.next == 5


def test_with_nothing_in_flight_the_nodes_count_is_authoritative() -> None:
    book = NonceBook(10)
    book.take()

    book.resync(chain_next=4, in_flight=set())

    assert book.take() == 4


def test_with_transactions_in_flight_a_resync_only_moves_forward() -> None:
    book = NonceBook(10)
    in_flight = {book.take(), book.take()}  # 10, 11

    book.resync(chain_next=12 + 3, in_flight=in_flight)  # "nonce too low": used elsewhere
    assert book.take() == 15

    book.resync(chain_next=10, in_flight=in_flight | {15})
    assert book.take() == 16


def history(
    base_fees_gwei: list[int], tips_gwei: list[int], used: list[float]
) -> dict[str, object]:
    """An eth_feeHistory answer: one more base fee than blocks (the next block's)."""
    return {
        "baseFeePerGas": [hex(b * GWEI) for b in base_fees_gwei],
        "reward": [[hex(t * GWEI)] for t in tips_gwei],
        "gasUsedRatio": used,
    }


def test_the_bid_is_the_next_base_fee_and_the_median_recent_tip() -> None:
    policy = FeePolicy.from_gwei(5)

    bid = policy.update(history([10, 11, 12, 13], [1, 3, 2], [0.5, 0.5, 0.5]))

    assert (bid.base_fee, bid.priority_fee) == (13 * GWEI, 2 * GWEI)
    assert bid.max_fee == 2 * 13 * GWEI + 2 * GWEI
    assert bid.expected_price == 15 * GWEI


def test_the_tip_ignores_empty_blocks_and_never_exceeds_the_cap() -> None:
    policy = FeePolicy.from_gwei(2)

    bid = policy.update(history([10, 10, 10, 10], [0, 9, 9], [0.0, 0.9, 0.9]))

    assert bid.priority_fee == 2 * GWEI


def test_a_replacement_outbids_both_caps_by_at_least_an_eighth() -> None:
    policy = FeePolicy.from_gwei(2)
    policy.update(history([1, 1], [1], [0.5]))

    max_fee, tip = policy.replacement(max_fee=40 * GWEI, priority_fee=2 * GWEI)

    assert max_fee * 8 >= 40 * GWEI * 9
    assert tip * 8 >= 2 * GWEI * 9
