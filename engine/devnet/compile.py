"""Compile our own contracts with solcjs (the `solc` npm package), offline.

solcjs is the compiler shipped as WebAssembly inside the npm package, so no native solc
download is needed. The input is Solidity standard JSON with pinned settings; the output
is cached under the npm directory keyed by a hash of that input and the compiler version,
so a second run (or another test worker) costs a file read instead of a ~5 s compile.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from engine.devnet.artifacts import Artifact
from engine.devnet.errors import DevnetError
from engine.devnet.npm import PACKAGES, ensure_installed, package_path

CONTRACTS_DIR = Path(__file__).parent / "contracts"
SOURCES = ("ArbExecutor.sol", "TestToken.sol")

# Pinned: changing any of these changes the bytecode (and the gas figures in the docs).
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 10_000},
    "evmVersion": "cancun",  # transient storage (EIP-1153) for the profit hand-off
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
}

# Reads standard JSON on stdin, writes solc's standard JSON on stdout.
_DRIVER = """
const solc = require(process.argv[1]);
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => { process.stdout.write(solc.compile(input)); });
"""


class CompileError(DevnetError):
    """solc rejected the sources; the message carries its formatted diagnostics."""


def standard_input(
    contracts_dir: Path = CONTRACTS_DIR, names: tuple[str, ...] = SOURCES
) -> dict[str, Any]:
    sources = {name: {"content": (contracts_dir / name).read_text()} for name in names}
    return {"language": "Solidity", "sources": sources, "settings": SETTINGS}


def compile_contracts(root: Path | None = None, cache: bool = True) -> dict[str, Artifact]:
    """ABI and creation code of every contract in our sources, by contract name."""
    return compile_files(CONTRACTS_DIR, SOURCES, root, cache)


def compile_files(
    directory: Path, names: tuple[str, ...], root: Path | None = None, cache: bool = True
) -> dict[str, Artifact]:
    """The same compiler and settings on other sources (the tests' attacker contracts)."""
    root = ensure_installed(root)
    request = standard_input(directory, names)
    cache_file = _cache_path(root, request)
    if cache and cache_file.is_file():
        return _artifacts(json.loads(cache_file.read_text()))
    output = _run_solcjs(root, request)
    _raise_on_errors(output)
    if cache:
        _write_atomically(cache_file, json.dumps(output["contracts"]))
    return _artifacts(output["contracts"])


def _cache_path(root: Path, request: dict[str, Any]) -> Path:
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"))
    key = hashlib.sha256(f"solc@{PACKAGES['solc']}\n{canonical}".encode()).hexdigest()
    return root / "build" / f"contracts-{key[:24]}.json"


def _run_solcjs(root: Path, request: dict[str, Any]) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        raise CompileError("node not found on PATH: solcjs needs Node.js 18 or newer")
    solc = package_path("solc", root)
    completed = subprocess.run(
        [node, "-e", _DRIVER, str(solc)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise CompileError(f"solcjs failed (exit {completed.returncode}): {completed.stderr}")
    return json.loads(completed.stdout)


def _raise_on_errors(output: dict[str, Any]) -> None:
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        details = "\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors)
        raise CompileError(f"solc reported {len(errors)} error(s):\n{details}")


def _artifacts(contracts: dict[str, dict[str, Any]]) -> dict[str, Artifact]:
    found: dict[str, Artifact] = {}
    for by_name in contracts.values():
        for name, output in by_name.items():
            code = output["evm"]["bytecode"]["object"]
            if code:  # interfaces have no bytecode
                found[name] = Artifact(name, output["abi"], bytes.fromhex(code))
    return found


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{hashlib.sha256(text.encode()).hexdigest()[:8]}")
    temporary.write_text(text)
    temporary.replace(path)
