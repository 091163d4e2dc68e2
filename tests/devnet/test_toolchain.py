"""The npm-installed toolchain: packages, anvil binary, compiler, Uniswap artifacts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from engine.devnet import artifacts, compile, npm

pytestmark = pytest.mark.devnet


def test_installed_packages_match_the_pins(npm_root: Path) -> None:
    assert npm.is_installed(npm_root)


def test_second_install_leaves_the_directory_untouched(npm_root: Path) -> None:
    manifest = npm_root / "package.json"
    before = manifest.stat().st_mtime_ns
    lines: list[str] = []

    npm.ensure_installed(npm_root, progress=lines.append)

    assert lines == []
    assert manifest.stat().st_mtime_ns == before


def test_anvil_binary_comes_from_the_platform_package(npm_root: Path) -> None:
    binary = npm.anvil_binary(npm_root)

    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)

    assert "@foundry-rs/anvil-" in str(binary)
    assert version.stdout.startswith(f"anvil Version: {npm.PACKAGES['@foundry-rs/anvil']}")


def test_missing_node_is_reported_with_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no node, no npm

    with pytest.raises(npm.NpmError, match=r"node and npm not found on PATH.*Node\.js"):
        npm.ensure_installed(tmp_path / "npm", progress=lambda _line: None)


def test_compiler_builds_executor_and_token(npm_root: Path) -> None:
    built = compile.compile_contracts(npm_root)

    functions = {item.get("name") for item in built["ArbExecutor"].abi}
    assert {"execute", "uniswapV2Call", "withdraw", "owner"} <= functions
    assert built["TestToken"].bytecode


def test_compiled_artifacts_are_cached_by_source_hash(npm_root: Path) -> None:
    compile.compile_contracts(npm_root)
    cache = compile._cache_path(npm_root, compile.standard_input())

    cached = json.loads(cache.read_text())

    assert set(cached) == set(compile.SOURCES)


def test_router_init_code_hash_matches_the_pair_bytecode(npm_root: Path) -> None:
    router, verdict = artifacts.router_for_pair_code(npm_root)

    assert verdict == "match"
    assert artifacts.pair_init_code_hash(npm_root) == artifacts.router_init_code_hash(npm_root)
    assert router.bytecode == artifacts.load(artifacts.ROUTER02, npm_root).bytecode


def test_router_is_patched_when_the_pair_bytecode_hashes_differently(
    npm_root: Path, tmp_path: Path
) -> None:
    for relative in (artifacts.PAIR, artifacts.ROUTER02, artifacts.LIBRARY_SOURCE):
        target = npm.package_path(relative, tmp_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(npm.package_path(relative, npm_root).read_bytes())
    pair_file = npm.package_path(artifacts.PAIR, tmp_path)
    pair = json.loads(pair_file.read_text())
    pair["bytecode"] += "00"  # any change to the creation code changes its hash
    pair_file.write_text(json.dumps(pair))

    router, verdict = artifacts.router_for_pair_code(tmp_path)

    new_hash = bytes.fromhex(artifacts.pair_init_code_hash(tmp_path))
    old_hash = bytes.fromhex(artifacts.router_init_code_hash(tmp_path))
    assert verdict == "patched"
    assert new_hash in router.bytecode
    assert old_hash not in router.bytecode
