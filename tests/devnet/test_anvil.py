"""Starting, finding and stopping anvil; switching automine for block-level tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.devnet import anvil

pytestmark = pytest.mark.devnet


@pytest.fixture
def node(npm_root: Path, tmp_path: Path) -> Iterator[anvil.AnvilHandle]:
    handle = anvil.start(tmp_path)
    yield handle
    anvil.stop(handle)


def test_started_anvil_answers_with_the_devnet_chain_id(node: anvil.AnvilHandle) -> None:
    assert int(anvil.rpc(node.url, "eth_chainId"), 16) == anvil.CHAIN_ID


def test_anvil_listens_on_the_requested_port(npm_root: Path, tmp_path: Path) -> None:
    port = anvil.free_port()
    handle = anvil.start(tmp_path, port)
    try:
        assert handle.url == f"http://127.0.0.1:{port}"
        assert anvil.rpc(handle.url, "eth_blockNumber") == "0x0"
    finally:
        anvil.stop(handle)


def test_a_handle_read_back_from_the_state_file_stops_anvil(
    node: anvil.AnvilHandle, tmp_path: Path
) -> None:
    anvil.write_handle(tmp_path, node)
    found = anvil.read_handle(tmp_path)
    assert found == node

    assert anvil.stop(found)

    assert not anvil.is_running(node)


def test_stopping_a_stopped_anvil_reports_it_was_not_running(node: anvil.AnvilHandle) -> None:
    anvil.stop(node)

    assert anvil.stop(node) is False


def test_a_recycled_pid_is_not_mistaken_for_anvil(node: anvil.AnvilHandle) -> None:
    impostor = anvil.AnvilHandle(
        pid=node.pid,
        port=node.port,
        create_time=node.create_time - 100,
        binary=node.binary,
        log=node.log,
    )

    assert not anvil.is_running(impostor)
    assert anvil.is_running(node)


def test_without_automine_transactions_wait_for_an_explicit_mine(node: anvil.AnvilHandle) -> None:
    accounts = anvil.rpc(node.url, "eth_accounts")
    anvil.set_automine(node.url, False)
    for _ in range(2):
        anvil.rpc(
            node.url,
            "eth_sendTransaction",
            [{"from": accounts[0], "to": accounts[1], "value": "0x1"}],
        )
    assert anvil.rpc(node.url, "eth_blockNumber") == "0x0"

    anvil.mine(node.url)

    block = anvil.rpc(node.url, "eth_getBlockByNumber", ["0x1", False])
    assert len(block["transactions"]) == 2


def test_a_port_already_in_use_is_refused(node: anvil.AnvilHandle, tmp_path: Path) -> None:
    other = tmp_path / "second"
    other.mkdir()

    with pytest.raises(anvil.AnvilError, match="already in use"):
        anvil.start(other, node.port, timeout=10)
