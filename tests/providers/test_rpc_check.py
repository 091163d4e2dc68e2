"""`arbctl rpc-check`: every configured endpoint measured directly, with no engine running,
against real endpoints (proxies in front of the devnet's anvil) that are up or broken."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.devnet import anvil
from engine.devnet.world import World
from tests.conftest import EngineHandle
from tests.providers.conftest import proxied_toml
from tests.providers.proxy import FaultProxy

pytestmark = pytest.mark.devnet


def check(no_engine: EngineHandle, config: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    done = no_engine.cli("rpc-check", "--config", str(config), "--timeout", "2", "--json", *extra)
    return done.returncode, json.loads(done.stdout)


@pytest.fixture
def config(tmp_path: Path, world: World, proxies: list[FaultProxy]) -> Path:
    path = tmp_path / "engine.toml"
    path.write_text(proxied_toml(world, proxies))
    return path


def test_up_and_broken_endpoints_are_told_apart(
    no_engine: EngineHandle, config: Path, world: World, proxies: list[FaultProxy]
) -> None:
    top = int(anvil.rpc(world.rpc_url, "eth_blockNumber"), 16)
    proxies[1].faults.reset = True
    proxies[2].faults.chain_id = 1
    code, report = check(no_engine, config)

    assert code == 0 and report["usable"] == 1 and report["expected_chain_id"] == world.chain_id
    p0, p1, p2 = report["endpoints"]
    assert (p0["name"], p0["usable"], p0["block"], p0["chain_id"]) == ("p0", True, top, 31337)
    assert p0["latency_ms"] is not None and p0["head_lag"] == 0
    assert not p1["ok"] and p1["error"]
    assert p2["ok"] and not p2["usable"] and "serves chain id 1" in p2["error"]


def test_a_stale_endpoint_is_not_usable(
    no_engine: EngineHandle, config: Path, world: World, proxies: list[FaultProxy]
) -> None:
    top = int(anvil.rpc(world.rpc_url, "eth_blockNumber"), 16)
    proxies[0].faults.stale_block = top - 3
    code, report = check(no_engine, config)
    assert code == 0 and report["usable"] == 2
    assert "3 blocks behind" in report["endpoints"][0]["error"]


def test_none_usable_exits_non_zero(
    no_engine: EngineHandle, config: Path, proxies: list[FaultProxy]
) -> None:
    for proxy in proxies[:2]:
        proxy.faults.reset = True
    proxies[2].faults.stall = True  # answers nothing: the timeout ends it
    code, report = check(no_engine, config)
    assert code == 1 and report["usable"] == 0

    human = no_engine.cli("rpc-check", "--config", str(config), "--timeout", "1")
    assert human.returncode == 1 and "✗ p0" in human.stdout and "0 of 3" in human.stdout


def test_a_url_can_be_checked_without_a_config(no_engine: EngineHandle, world: World) -> None:
    done = no_engine.cli("rpc-check", "--url", world.rpc_url)
    assert done.returncode == 0 and "✓" in done.stdout
    missing = no_engine.cli("rpc-check", "--json")
    assert missing.returncode == 2 and "--config" in missing.stdout
